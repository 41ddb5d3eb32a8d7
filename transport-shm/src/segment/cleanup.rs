//! Removing stale segments: those whose participants are all dead.

use std::{io, sync::atomic::Ordering};

use super::{
    Segment,
    backing::{self, Backing, BackingError},
    header::{MAGIC, PAYLOAD_OFFSET},
    name,
};
use crate::{liveness::Identity, sys};

/// The names of the shared memory segments of this crate that exist now
/// (of any process of this user), for diagnostics and leak checks.
///
/// # Errors
/// When they cannot be listed (see [`cleanup_stale`]).
pub fn list_segments() -> io::Result<Vec<String>> {
    let mut names = sys::list_segments(name::PREFIX)?;
    names.sort();
    Ok(names)
}

/// Removes the segments of this crate (of any process of this user) whose
/// participants are all dead, and returns how many it removed.
///
/// Segment creation calls it first, so a segment left by a killed process
/// disappears the next time any process creates one. A segment that is
/// still being created (no header yet) is only removed once the process
/// named in its name is gone.
///
/// # Errors
/// When the segments cannot be listed (on macOS, the registry directory in
/// the temporary directory cannot be read or created).
pub fn cleanup_stale() -> io::Result<usize> {
    sys::sweep_unlinked(name::PREFIX);
    let mut removed = 0;
    for name in sys::list_segments(name::PREFIX)? {
        if is_stale(&name) {
            removed += 1;
        }
    }
    Ok(removed)
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
        Err(BackingError::NotFound) => {
            // A registry entry without a segment.
            sys::unregister(name);
            return false;
        }
        Err(_) => {
            // Cannot be mapped (an empty object whose creator died before
            // sizing it, say).
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
    let segment = Segment::from_backing(backing);
    let h = segment.header();
    let stale = if h.magic.load(Ordering::Acquire) == MAGIC {
        !h.any_alive()
    } else {
        creator_gone(name)
    };
    if stale {
        segment.backing.unlink_on_drop();
        sys::unregister(name);
    }
    stale
}
