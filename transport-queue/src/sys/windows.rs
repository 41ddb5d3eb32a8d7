//! Windows: ipc-channel's receiver set holds overlapped reads bound to the
//! completion port of the thread that made it, and may not move between
//! threads (it is not `Send`). It stays on the hub thread, which wakes a
//! waiting get as before; no set is ever lent.

use std::convert::Infallible;

use crate::hub::HubSet;

/// A free receiver set: there never is one.
pub(crate) type Lent = Infallible;

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
