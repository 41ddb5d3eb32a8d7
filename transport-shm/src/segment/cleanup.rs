//! Removing stale segments: this user's segments whose participants are
//! all dead.
//!
//! The sweep lists the segments of this crate (by name prefix) that this
//! user owns, and maps each to read its participant table, so it costs
//! about 10 µs per segment of this user that exists. Segment creation does
//! not pay that every time: a process sweeps at its first creation and then
//! at most once per [`SWEEP_PERIOD`]; [`cleanup_stale`] sweeps on demand.

use std::{
    io,
    sync::{Mutex, atomic::Ordering},
    time::{Duration, Instant},
};
use transport_core::sync::LockExt;

use super::{
    Segment,
    backing::{self, Backing},
    header::{self, MAGIC, PAYLOAD_OFFSET, VERSION},
    name,
};
use crate::{liveness::Identity, sys, sys::MapError};

/// How often segment creation sweeps stale segments at most (the first
/// creation in a process always does).
pub const SWEEP_PERIOD: Duration = Duration::from_secs(10);

/// The names of the shared memory segments of this crate that exist now
/// and belong to this user (of any of its processes), for diagnostics and
/// leak checks.
///
/// # Errors
/// When they cannot be listed (see [`cleanup_stale`]).
pub fn list_segments() -> io::Result<Vec<String>> {
    let mut names = sys::list_segments(name::PREFIX)?;
    names.sort();
    Ok(names)
}

/// Removes the segments of this crate that belong to this user (of any of
/// its processes) and whose participants are all dead, and returns how many
/// it removed. Other users' segments are never opened, even by root.
///
/// Segment creation calls it too, at a process's first creation and then
/// at most once per [`SWEEP_PERIOD`], so a segment left by a killed process
/// disappears without anyone asking, while creating many segments does not
/// scan all of them each time. A segment that is still being created (no
/// header yet) is only removed once the process named in its name is gone.
///
/// # Errors
/// When the segments cannot be listed (on macOS, the registry directory in
/// the temporary directory cannot be read or created).
pub fn cleanup_stale() -> io::Result<usize> {
    sys::sweep_unlinked(name::PREFIX);
    let mut removed = 0;
    for name in sys::list_segments(name::PREFIX)? {
        if is_stale(&name) {
            transport_core::event!(INFO, segment = %name, "stale shared-memory segment removed");
            removed += 1;
        }
    }
    Ok(removed)
}

/// Sweeps unless this process did in the last [`SWEEP_PERIOD`].
pub(super) fn sweep_if_due() {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let now = Instant::now();
    {
        let mut last = LAST.lock_unpoisoned();
        if last.is_some_and(|t| now.duration_since(t) < SWEEP_PERIOD) {
            return;
        }
        *last = Some(now);
    }
    let _ = cleanup_stale();
}

/// Whether the creator named in `name` is gone (for segments with no usable
/// header).
fn creator_gone(name: &str) -> bool {
    match name::creator_pid(name) {
        Some(pid) => pid != Identity::current().pid && sys::process_start(pid).is_none(),
        None => false,
    }
}

/// Checks segment `name`, removes it if it is stale, and says whether it did.
fn is_stale(name: &str) -> bool {
    let backing = match Backing::open(name) {
        Ok(b) => b,
        Err(MapError::NotFound | MapError::Exists) => {
            // A registry entry without a segment.
            sys::unregister(name);
            return false;
        }
        // Another user's: not ours to judge, whatever its header says.
        Err(MapError::NotOwned { .. }) => return false,
        Err(MapError::Io(_)) => {
            // Ours, but it cannot be mapped (an empty object whose creator
            // died before sizing it, say).
            if creator_gone(name) {
                backing::remove_name(name);
                sys::unregister(name);
                return true;
            }
            return false;
        }
    };
    if backing.len() < PAYLOAD_OFFSET {
        if creator_gone(name) {
            backing.unlink_on_drop();
            sys::unregister(name);
            return true;
        }
        return false;
    }
    // Only the header is read here.
    let segment = Segment::from_backing(backing, PAYLOAD_OFFSET);
    let h = segment.header();
    let magic = h.magic.load(Ordering::Acquire);
    let stale = if magic == MAGIC && h.version.load(Ordering::Relaxed) == VERSION {
        !h.any_alive()
    } else if header::is_magic_of_any_layout(magic) {
        // Another layout (another build of this crate): its participant
        // table means something else here. Its own code sweeps it.
        false
    } else {
        creator_gone(name)
    };
    if stale {
        segment.backing.unlink_on_drop();
        sys::unregister(name);
    }
    stale
}

#[cfg(all(test, not(miri)))]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::segment::{Kind, header::State};

    #[test]
    fn a_segment_of_another_layout_is_neither_swept_nor_opened() {
        let att = Segment::create(Kind::State, 4096, 3).unwrap();
        let seg = att.segment();
        let name = seg.name().to_owned();
        // As another build of this crate would have written it, and with a
        // table that reads, in this layout, as if everyone had left.
        let h = seg.header();
        h.magic.store(u64::from_le_bytes(*b"tshmSEG9"), Ordering::SeqCst);
        for p in &h.participants {
            p.free_if(p.state());
        }
        assert_eq!(p_state(seg), State::Free);
        cleanup_stale().unwrap();
        assert!(
            list_segments().unwrap().contains(&name),
            "swept by another layout's rules"
        );
        let err = Segment::open(&name, Kind::State).unwrap_err();
        assert!(err.to_string().contains("another layout version"), "{err}");
        // Its own leave removes it.
        h.magic.store(MAGIC, Ordering::SeqCst);
        drop(att);
        assert!(!list_segments().unwrap().contains(&name));
    }

    fn p_state(seg: &Segment) -> State {
        seg.header().participants[0].state().0
    }
}
