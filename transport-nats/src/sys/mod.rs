//! Operating-system code: what starting a local server needs, and the
//! runtime thread's scheduling policy.
//!
//! Every platform provides `tie_to_parent(&mut Command)`: the started
//! process dies with the thread that started it where the system can
//! arrange that (Linux), and is left to its owner's `Drop` elsewhere;
//! `terminate(&Child)`: ask it to exit (Unix `SIGTERM`; elsewhere nothing,
//! and the caller kills it); and `batch_current_thread()`: the calling
//! thread's wake-ups stop preempting other threads (Linux `SCHED_BATCH`;
//! elsewhere nothing).

#[cfg(target_os = "linux")]
mod linux;
#[cfg(all(test, target_os = "linux"))]
pub(crate) use linux::{HAS_BATCH_POLICY, current_thread_is_batch};
#[cfg(target_os = "linux")]
pub(crate) use linux::{batch_current_thread, terminate, tie_to_parent};

#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(all(test, not(target_os = "linux")))]
pub(crate) use other::{HAS_BATCH_POLICY, current_thread_is_batch};
#[cfg(not(target_os = "linux"))]
pub(crate) use other::{batch_current_thread, terminate, tie_to_parent};
