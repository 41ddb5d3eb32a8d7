//! Unix (Linux, the BSDs, macOS) and every other platform but Windows:
//! the receiver set is an epoll/kqueue descriptor or a Mach port set, and
//! any thread may wait on it. A receiver keeps nothing in user space
//! between reads (one read is one whole message), so one that was read
//! directly may move into a set at any time.

use crate::sys::HubSet;

/// A free receiver set.
pub(crate) type Lent = HubSet;

/// A member's threads read its channel themselves until an async task
/// waits on it.
pub(crate) const DIRECT_READS: bool = true;

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
