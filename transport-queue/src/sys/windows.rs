//! Windows: ipc-channel reads a named pipe with overlapped reads into a
//! buffer of the receiver's own.
//!
//! - A receiver set owns the reads in flight of its receivers (the
//!   `OVERLAPPED` structures the kernel writes to), so ipc-channel does not
//!   let it move between threads (it is not `Send`). The hub's set stays on
//!   the hub thread, which wakes a waiting get as before; no set is ever
//!   lent.
//! - A receiver read directly keeps state between reads: a non-blocking
//!   read that found nothing leaves its overlapped read pending (the kernel
//!   may fill it at any moment), and one read may bring more than one
//!   message into the receiver's buffer. Such a receiver cannot go into a
//!   set later: sending it to another thread asserts that no read is
//!   pending (and would drop the buffer), and adding it to a set directly
//!   would drop the pending read's bytes or leave buffered messages unread
//!   until more arrive. A member's `down` channel is therefore never read
//!   directly: the bridge reads it from the moment the member opens (the
//!   welcome included), and the member's threads wait for the bridge.

#[cfg(not(target_os = "linux"))]
use super::ipc::HubSet;
#[cfg(target_os = "linux")]
use super::linux::HubSet;

/// A receiver set that may wait on another thread: there never is one.
pub(crate) enum MovableSet {}

impl MovableSet {
    /// The set (unreachable: none is ever movable).
    pub(crate) fn get_mut(&mut self) -> &mut HubSet {
        match *self {}
    }

    /// The set (unreachable).
    pub(crate) fn into_set(self) -> HubSet {
        match self {}
    }
}

/// The bridge reads every member's channel, from the start.
pub(crate) const DIRECT_READS: bool = false;

/// Offers the set to local gets: always refused.
#[allow(
    clippy::result_large_err,
    reason = "the set comes back to its caller as it went, as on Unix"
)]
pub(crate) fn movable(set: HubSet) -> Result<MovableSet, HubSet> {
    Err(set)
}
