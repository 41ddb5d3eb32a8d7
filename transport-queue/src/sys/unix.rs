//! Unix (Linux, the BSDs, macOS) and every other platform but Windows:
//! the receiver set is an epoll/kqueue descriptor or a Mach port set, and
//! any thread may wait on it. A receiver keeps nothing in user space
//! between reads (one read is one whole message), so one that was read
//! directly may move into a set at any time.

#[cfg(not(target_os = "linux"))]
use super::ipc::HubSet;
#[cfg(target_os = "linux")]
use super::linux::HubSet;

/// A receiver set that may wait on any thread: any set, here.
pub(crate) struct MovableSet(HubSet);

impl MovableSet {
    /// The set, to wait on while it stays movable.
    pub(crate) fn get_mut(&mut self) -> &mut HubSet {
        &mut self.0
    }

    /// The set, for the hub thread to keep.
    pub(crate) fn into_set(self) -> HubSet {
        self.0
    }
}

/// A member's threads read its channel themselves until an async task
/// waits on it.
pub(crate) const DIRECT_READS: bool = true;

/// Offers the set to local gets: always accepted.
pub(crate) fn movable(set: HubSet) -> Result<MovableSet, HubSet> {
    Ok(MovableSet(set))
}
