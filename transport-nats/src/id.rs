//! Random identifiers for ends and hand-offs.
//!
//! std's `RandomState` is keyed from the operating system's random source
//! once per thread; hashing a process-wide counter with fresh states gives
//! values no other process can predict. This avoids a second `rand` in the
//! dependency tree for 22 (or 11) characters per end.

use std::{
    hash::{BuildHasher, RandomState},
    sync::atomic::{AtomicU64, Ordering},
};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn word() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    RandomState::new().hash_one((n, std::process::id()))
}

/// The characters of an id: each a valid subject token and JetStream name
/// character.
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// 128 random bits as 22 characters of `[0-9A-Za-z]` (a valid subject
/// token, a valid JetStream name).
pub(crate) fn random() -> String {
    let value = (u128::from(word()) << 64) | u128::from(word());
    digits(value, 22)
}

/// 64 random bits as 11 characters of `[0-9A-Za-z]`: for the names that
/// every message of an at-most-once channel carries in its subject, once
/// on its way to the server and once on its way out (a channel made
/// without a name, a sender's data subject). Ids there of 22 characters
/// made a 64-byte message's publish and delivery a third longer; measured
/// with `cargo xtask bench --subjects nats,async-nats` (64 B msgs/s, seven
/// interleaved pairs): 0.72–0.81× raw `async-nats` with 22, 0.82–0.88×
/// with 11. Sixty-four bits still make a collision between two channels or
/// two senders of a channel, or a guessed name, out of reach.
pub(crate) fn short() -> String {
    digits(u128::from(word()), 11)
}

/// `value`'s lowest `len` base-62 digits.
fn digits(mut value: u128, len: usize) -> String {
    (0..len)
        .map(|_| {
            let digit = DIGITS[(value % 62) as usize];
            value /= 62;
            char::from(digit)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_are_subject_tokens() {
        let a = random();
        let b = random();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn short_ids_differ_and_are_subject_tokens() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| short()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 11 && id.bytes().all(|c| c.is_ascii_alphanumeric()))
        );
    }
}
