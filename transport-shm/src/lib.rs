//! The shared-memory backend of the transport workspace: the fastest
//! channel we can build, and shared state that cannot be misused.
//!
//! - [`channel`]: a [`Transport`](transport_core::Transport) over per-producer
//!   rings in one segment. rkyv serializes each message straight into the
//!   ring; the receiver validates it and reads it in place. Single- and
//!   multi-producer, bounded, blocking by default or busy-polling
//!   ([`Shm`], [`ShmMpsc`], [`ShmBusyPoll`], [`ShmUntrusted`]). Async
//!   runtimes wait on the ends through `PollRecv`/`PollSend`, served by one
//!   bridge thread per process. [`ShmMpmc`] is the multi-consumer one:
//!   a ring of slots that several consumer processes take from, each
//!   message to exactly one ([`channel::mpmc`]).
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
//! What an end can be is in its type, never found at run time. A lane
//! channel has one consumer: its receiver has no `try_clone` (it does not
//! compile, with a note pointing to [`ShmMpmc`], the queue and NATS). A
//! single-producer channel's sender ([`channel::channel`], [`Shm`]) has
//! none either (the note points to [`ShmMpsc`]), while the sender of a
//! multi-producer one ([`channel::mpsc`], [`bounded`], [`ShmMpsc`]) clones
//! into another producer lane:
//!
//! ```compile_fail,E0277
//! use transport_shm::{ShmConfig, channel};
//!
//! let (tx, rx) = channel::channel::<u64>(&ShmConfig::bounded(16)).unwrap();
//! let second = rx.try_clone(); // `ShmReceiver` has a single consumer
//! ```
//!
//! ```compile_fail,E0277
//! use transport_shm::{ShmConfig, channel};
//!
//! let (tx, rx) = channel::channel::<u64>(&ShmConfig::bounded(16)).unwrap();
//! let second = tx.try_clone(); // `ShmSender<Single>` has a single producer
//! ```
//!
//! ```
//! use transport_shm::{ShmConfig, channel};
//!
//! let (tx, rx) = channel::mpsc::<u64>(&ShmConfig::bounded(16).max_producers(2)).unwrap();
//! let second = tx.try_clone().expect("a second producer lane");
//! second.send(1).unwrap();
//! assert_eq!(*rx.recv().unwrap(), 1);
//! ```
//!
//! # Lifecycle of segments
//! - A segment is created exclusively (`O_EXCL`), readable and writable by
//!   its user only (mode 0600 on Unix, set on the object itself whatever the
//!   umask), under a fresh name of at most 27 bytes
//!   (`/tshm_<pid>_<counter><random>`, within macOS's 31-byte limit).
//!   Opening a segment that another user owns is refused.
//! - Every process that uses it is a *participant*, recorded in the segment
//!   with its process id and start time (so a recycled pid is not mistaken
//!   for the dead process). An end handed to a child is *pending* until the
//!   child opens it, kept alive by the child (its pid and start time are
//!   recorded before `exec` on Unix; on Windows once
//!   [`spawned`](transport_core::spawned) tells the child, which
//!   `CommandExt::start` does) or, until then, by the process that handed
//!   it over.
//! - The last live participant to leave removes the name. A process killed
//!   with `SIGKILL` leaves a dead entry: the survivors remove the segment when
//!   they drop their handles, and a segment whose participants all died is
//!   *stale*: [`cleanup_stale`] removes this user's stale segments, and a
//!   process's first segment creation, then one every [`SWEEP_PERIOD`] at
//!   most, calls it too. [`list_segments`] shows what exists.
//!
//! Every type moves to child processes with
//! [`CommandExt::endpoint`](transport_core::CommandExt::endpoint) and opens
//! there with [`from_env`](transport_core::from_env); see `examples/`.
//!
//! # Trust model
//! Whatever another process writes into a segment's headers, positions and
//! lengths, this process never reads or writes outside its mappings, panics,
//! loops, waits forever or grows without bound because of it: each such word
//! is read once, checked for range and alignment, and kept; a value that
//! cannot be right is a typed error, and a channel lane whose words cannot be
//! right is closed. This holds for [`Shm`] and [`ShmUntrusted`] alike; they
//! differ only in what they assume of a message's bytes once published.
//!
//! The processes that can write a segment are those of its user (and root):
//! every segment is owner-only. Such a peer *can*:
//! - cost you the channel or the object: impossible words in a lane give
//!   `Malformed` once, then that lane is closed (its producer gets
//!   `Disconnected`, and so does the receiver once no lane is open); any
//!   bytes in a [`SharedValue`] or [`SharedArray`] are a valid value of its
//!   [`Plain`] type; withheld wake-ups delay a waiter by at most
//!   [`LIVENESS_PERIOD`](channel::LIVENESS_PERIOD) per look;
//! - end your process by means outside this crate: signals, `ptrace`, or
//!   truncating the shared memory object (its pages then fault with
//!   `SIGBUS`), which no protocol in shared memory can prevent;
//! - with [`Shm`], rewrite a message while the receiver reads it in place
//!   after validating it: outside the model (those reads would race with the
//!   writes). [`ShmUntrusted`] copies each message out with atomic loads
//!   before validating it, so there a producer can change only what its next
//!   message says;
//! - write a value's or array's data without taking its lock: the lock
//!   orders only the peers that take it (every bit pattern is still valid).
//!
//! Such a peer *cannot*:
//! - open an end or object handed to one of your children with the token
//!   alone (read from `/proc/<pid>/environ`, say): on Unix a hand-off opens
//!   only in the first process its `Command` started (pid and start time,
//!   recorded before `exec`); any other process is refused, a second child
//!   of the same command is told the hand-off was already used, and neither
//!   attempt changes anything, so the real child still opens it. The binding
//!   guards the token, not the memory: a process that maps the segment
//!   itself can rewrite that record as it can anything else there. On
//!   Windows the child is recorded once it has started, when the program
//!   tells it ([`spawned`](transport_core::spawned), which
//!   `CommandExt::start` calls); before that the token (its 32-bit nonce)
//!   is the key;
//! - make a receiver deliver a record twice, or an older record as a new
//!   one (each record carries its position), or read past the tail;
//! - make [`cleanup_stale`] remove another user's segments, even as root.
//!
//! # Features
//! - `serde`: transport-core's `Serde<T>`, re-exported here, so
//!   that any serde type travels as a message (transport-core's `serde`
//!   feature).
//! - `tracing`: events through the `tracing` crate on hand-off and open
//!   (transport-core's `tracing` feature); none per message.
//! - `fuzzing`: entry points for the project's fuzz targets (heap-backed
//!   segments laid out as the real ones); not for applications.
#![deny(missing_docs)]

#[cfg(feature = "serde")]
pub use transport_core::Serde;

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

pub use channel::{
    MpscSender, Multi, Receiver, Sender, Shm, ShmBusyPoll, ShmConfig, ShmMpmc, ShmMpmcReceiver,
    ShmMpmcSender, ShmMpsc, ShmReceiver, ShmSender, ShmTransport, ShmUntrusted, Single, WaitMode, bounded,
    unbounded, variant, with_config,
};
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

/// The README's examples, compiled (and run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
