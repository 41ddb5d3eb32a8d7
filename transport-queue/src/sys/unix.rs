//! Unix (Linux, the BSDs, macOS) and every other platform but Windows:
//! the receiver set is an epoll/kqueue descriptor or a Mach port set, and
//! any thread may wait on it.

use crate::hub::HubSet;

/// A free receiver set.
pub(crate) type Lent = HubSet;

/// Offers the set to local gets: always accepted.
pub(crate) fn lend(set: HubSet) -> Result<Lent, HubSet> {
    Ok(set)
}

/// Takes a lent set.
pub(crate) fn back(set: Lent) -> HubSet {
    set
}

/// The set, to wait on while it stays lent.
pub(crate) fn set_of(set: &mut Lent) -> &mut HubSet {
    set
}
