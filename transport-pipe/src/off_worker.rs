//! [`blocking`]: running a call that may wait for the peer without
//! holding up the other tasks of a tokio worker thread.

/// Runs `f`, which may wait for the peer. On a worker thread of tokio's
/// multi-thread runtime it first hands the worker's other tasks to another
/// thread: otherwise the peer's task, queued behind the one that waits,
/// could wait for this worker while this worker waits for it.
#[cfg(feature = "tokio")]
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Runs `f` (without tokio, nothing else shares the thread).
#[cfg(not(feature = "tokio"))]
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    f()
}
