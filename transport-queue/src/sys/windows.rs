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

use std::convert::Infallible;

use crate::sys::HubSet;

/// A free receiver set: there never is one.
pub(crate) type Lent = Infallible;

/// The bridge reads every member's channel, from the start.
pub(crate) const DIRECT_READS: bool = false;

/// Offers the set to local gets: always refused.
pub(crate) fn lend(set: HubSet) -> Result<Lent, HubSet> {
    Err(set)
}

/// Takes a lent set (unreachable: none is ever lent).
pub(crate) fn back(set: Lent) -> HubSet {
    match set {}
}

/// The set, to wait on while it stays lent (unreachable).
pub(crate) fn set_of(set: &mut Lent) -> &mut HubSet {
    match *set {}
}
