//! Process-shared synchronisation: a robust lock, a condition variable, an
//! event, a semaphore and a barrier, each in its own small segment and
//! handed to children like any endpoint.

mod barrier;
mod condvar;
mod event;
pub(crate) mod lock;
mod mutex;
mod semaphore;

pub use barrier::{BarrierError, BarrierWaitResult, SharedBarrier};
pub use condvar::SharedCondvar;
pub use event::SharedEvent;
pub use lock::{LockTimeoutError, OwnerDied};
pub use mutex::{MutexGuard, SharedMutex};
pub use semaphore::SharedSemaphore;
