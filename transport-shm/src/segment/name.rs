//! Segment names: short, unique, and carrying the creator's process id.
//!
//! `/tshm_<pid hex>_<counter hex><random hex>` is at most 27 bytes, within
//! macOS's 31-byte limit (`PSHMNAMLEN`) with room for its terminating NUL.

use std::{
    collections::hash_map::RandomState,
    hash::{BuildHasher, Hasher},
    sync::atomic::{AtomicU32, Ordering},
    time::SystemTime,
};

/// The prefix of every segment name of this crate (without the `/`).
pub(crate) const PREFIX: &str = "tshm_";

/// A fresh name for a segment created by this process.
pub(crate) fn fresh() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xFF_FFFF;
    let mut h = RandomState::new().build_hasher();
    h.write_u32(n);
    if let Ok(t) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    let random = h.finish() & 0xFF_FFFF;
    format!("/{PREFIX}{:x}_{n:x}{random:06x}", std::process::id())
}

/// The creator's process id, read back from a name.
pub(crate) fn creator_pid(name: &str) -> Option<u32> {
    let rest = name.trim_start_matches('/').strip_prefix(PREFIX)?;
    let (pid, _) = rest.split_once('_')?;
    u32::from_str_radix(pid, 16).ok()
}

/// Whether `name` is a plausible segment name of this crate (used to refuse
/// tokens that name something else).
pub(crate) fn is_valid(name: &str) -> bool {
    name.len() <= 30
        && creator_pid(name).is_some()
        && name[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_unique_and_parse() {
        let a = fresh();
        let b = fresh();
        assert_ne!(a, b);
        assert!(a.len() <= 30, "{a} is too long for macOS");
        assert!(is_valid(&a));
        assert_eq!(creator_pid(&a), Some(std::process::id()));
        let longest = format!("/{PREFIX}{:x}_{:x}{:06x}", u32::MAX, 0xFF_FFFF, 0xFF_FFFF);
        assert!(longest.len() <= 30);
        assert!(!is_valid("/etc/passwd"));
    }
}
