//! Who a process is, in a way that survives process id reuse.

use std::sync::OnceLock;

use crate::sys;

/// A process id plus its start time: a later process that gets the same id
/// has another start time, so it is not mistaken for the dead one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) pid: u32,
    pub(crate) start: u64,
}

impl Identity {
    /// This process.
    pub(crate) fn current() -> Identity {
        static ME: OnceLock<Identity> = OnceLock::new();
        *ME.get_or_init(|| Identity {
            pid: std::process::id(),
            start: sys::current_start().unwrap_or(0),
        })
    }

    /// Whether this process is still running (a zombie is not).
    pub(crate) fn is_alive(&self) -> bool {
        if self.pid == 0 {
            return false;
        }
        if *self == Identity::current() {
            return true;
        }
        sys::process_start(self.pid) == Some(self.start)
    }
}
