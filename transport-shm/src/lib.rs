//! The shared-memory backend of the transport workspace: the fastest
//! channel we can build, and shared state that cannot be misused.
//!
//! - [`channel`]: a [`Transport`](transport_core::Transport) over per-producer
//!   rings in one segment. rkyv serializes each message straight into the
//!   ring; the receiver validates it and reads it in place. Single- and
//!   multi-producer, bounded, blocking by default or busy-polling
//!   ([`Shm`], [`ShmMpsc`], [`ShmBusyPoll`], [`ShmUntrusted`]). Async
//!   runtimes wait on the ends through `PollRecv`/`PollSend`, served by one
//!   bridge thread per process.
//! - Shared state (Python's `Value`, `Array`, `Lock`, `Event`, `Semaphore`,
//!   `Barrier`, `Condition`): [`SharedValue`] and [`SharedArray`] hold
//!   [`Plain`] data reachable only through a robust lock guard;
//!   [`SharedAtomic`] holds lock-free counters; [`FixedBytes`] is a byte
//!   string that never truncates.
//! - Segments are exclusive, owner-only and short-named; the last live
//!   participant removes them, and [`cleanup_stale`] removes those whose
//!   participants all died.
//!
//! ```
//! use transport_shm::{ShmConfig, channel};
//!
//! let (tx, rx) = channel::channel::<String>(&ShmConfig::bounded(16)).unwrap();
//! tx.send("hello".to_string()).unwrap();
//! let msg = rx.recv().unwrap(); // validated, read in place
//! assert_eq!(msg.as_str(), "hello");
//! ```
//!
//! # Lifecycle of segments
//! - A segment is created exclusively (`O_EXCL`), readable and writable by
//!   its user only (mode 0600 on Unix), under a fresh name of at most 27
//!   bytes (`/tshm_<pid>_<counter><random>`, within macOS's 31-byte limit).
//! - Every process that uses it is a *participant*, recorded in the segment
//!   with its process id and start time (so a recycled pid is not mistaken
//!   for the dead process). An end handed to a child is *pending* until the
//!   child opens it, kept alive by the child (its pid is recorded before
//!   `exec` on Unix) or, on Windows, by the process that handed it over.
//! - The last live participant to leave removes the name. A process killed
//!   with `SIGKILL` leaves a dead entry: the survivors remove the segment when
//!   they drop their handles, and a segment whose participants all died is
//!   *stale*: [`cleanup_stale`] removes it, and every segment creation calls
//!   it first. [`list_segments`] shows what exists.
//!
//! Every type moves to child processes with
//! [`CommandExt::endpoint`](transport_core::CommandExt::endpoint) and opens
//! there with [`from_env`](transport_core::from_env); see `examples/`.
#![deny(missing_docs)]

pub mod channel;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod liveness;
mod segment;
mod shared;
mod sync;
mod sys;

pub use channel::{Shm, ShmBusyPoll, ShmConfig, ShmMpsc, ShmReceiver, ShmSender, ShmUntrusted, WaitMode};
pub use error::SegmentError;
pub use segment::{SWEEP_PERIOD, cleanup_stale, list_segments};
pub use shared::{
    ArrayGuard, AtomicPlain, CapacityError, FixedBytes, GuardOf, Plain, SharedArray, SharedAtomic,
    SharedValue, ValueGuard,
};
pub use sync::{
    BarrierError, BarrierWaitResult, LockTimeoutError, MutexGuard, OwnerDied, SharedBarrier, SharedCondvar,
    SharedEvent, SharedMutex, SharedSemaphore,
};
