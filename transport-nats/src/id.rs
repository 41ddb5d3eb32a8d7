//! Random identifiers for ends and hand-offs.
//!
//! std's `RandomState` is keyed from the operating system's random source
//! once per thread; hashing a process-wide counter with fresh states gives
//! values no other process can predict. This avoids a second `rand` in the
//! dependency tree for 24 characters per end.

use std::{
    hash::{BuildHasher, RandomState},
    sync::atomic::{AtomicU64, Ordering},
};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn word() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    RandomState::new().hash_one((n, std::process::id()))
}

/// 128 random bits as 22 characters of `[0-9A-Za-z]` (a valid subject
/// token, a valid JetStream name).
pub(crate) fn random() -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut value = (u128::from(word()) << 64) | u128::from(word());
    (0..22)
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
}
