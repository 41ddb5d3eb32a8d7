//! The `queue` backend: Python's `multiprocessing.Queue` (and
//! `JoinableQueue`) across processes, built on [ipc-channel].
//!
//! A queue is created in one process and handed to any number of children;
//! every holder can put and get. Each item goes to exactly one get, items
//! from one producer come out in the order they were put, and a get reads
//! the item in place (rkyv, validated, 16-aligned):
//!
//! ```no_run
//! use std::process::Command;
//! use transport_core::CommandExt;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let jobs = transport_queue::Queue::<String>::bounded(100)?;
//! let mut child = Command::new("worker").endpoint("jobs", jobs.clone())?.spawn()?;
//! jobs.put("resize a.png".to_string())?;
//! jobs.close()?; // the worker drains, then its get says `Closed`
//! child.wait()?;
//! // In the worker:
//! // let jobs: transport_queue::Queue<String> = transport_core::from_env("jobs")?;
//! // while let Ok(job) = jobs.get() { run(job.as_str()); jobs.task_done()?; }
//! # Ok(()) }
//! ```
//!
//! [`Queue`] is the Python-like handle (put, get, `len`, `close`,
//! `task_done`, `join`). [`QueueTransport`] is the same queue as a
//! [`transport_core::Transport`]: its [`QueueSender`] may only put and its
//! [`QueueReceiver`] may only get, which is what the conformance suite's
//! disconnection rules need (a `Queue` counts as both a sender and a
//! receiver, so a queue whose holders are all `Queue`s only disconnects
//! when it is closed or its creator exits).
//!
//! # Design
//! ipc-channel gives every platform the same primitive: a channel whose
//! sender can be cloned and moved to other processes, and whose receiver
//! is owned by exactly one process. A receiver cannot be shared, so several
//! processes cannot read one channel; and a channel's buffer dies with the
//! process that reads it. The queue therefore lives in the process that
//! created it, the *hub*:
//!
//! - Handles in the creating process work on the hub's state directly
//!   (a mutex and condition variables): no message, no copy.
//! - A handle in another process is a *member* with two private channels:
//!   `up` (its requests and items, read by the hub) and `down` (items and
//!   answers, written by the hub). On Linux this crate reads and writes
//!   both ends itself (in ipc-channel's framing); elsewhere ipc-channel
//!   does. The `up` channels are waited on all at once (a receiver set);
//!   whoever holds the set applies requests in arrival order: the hub thread, or (Linux, macOS) a
//!   get in the creating process that has to wait anyway, so that a
//!   member's put wakes the very thread that takes the item, with no hop
//!   through the hub thread. The set stays free for the next get for
//!   100 µs after one returns when nothing else in the creating process
//!   waits, up to 800 µs while gets keep coming back (the hub thread looks
//!   less often the longer they do), and up to 2 ms while a get the hub
//!   thread just served has not run yet; a member's request arriving then
//!   waits that long at most. The hub thread stops looking 10 ms after the
//!   last get returned, and sleeps until woken.
//! - A message to a member leaves from the thread that produced it (a
//!   put, or whoever applied the member's request) when it is small, not
//!   part of a burst, and cannot fill the member's kernel buffer: every
//!   request carries how many messages the member has read, and the hub
//!   keeps what it sent since under a budget below every platform's
//!   buffer. Everything else goes to a writer thread per member, which
//!   merges bursts into few large messages, so a member that is slow to
//!   read never stalls anyone.
//! - Consumers ask for items (`Want n`); the hub hands each item to exactly
//!   one asker. A [`Queue`] handle asks for one item per waiting get
//!   ([`DEFAULT_QUEUE_PREFETCH`]), so items only go to processes that wait
//!   for them, as in Python. A [`QueueReceiver`] keeps up to
//!   [`DEFAULT_RECEIVER_PREFETCH`] items asked for ahead (on a bounded
//!   queue, at most its capacity), asking for more every 64 items it takes
//!   (or half its prefetch), and the writer merges queued items into
//!   messages of up to 96 KiB: many items per system call.
//! - A bounded queue of capacity `n` holds at most `n` items in flight:
//!   in the queue, on their way to a prefetching receiver, or held there
//!   ahead of its gets. A receiver tells the hub how many items its gets
//!   took with every request it sends, so the room its gets free shows up
//!   when it next asks for items (after at most 64 gets, or half its
//!   prefetch). An item handed to a handle that takes one item per get goes
//!   to a get that waits for it, and has left the queue.
//! - A put from another process is acknowledged by the hub before it
//!   returns: when `put` returns, the item is in the queue.
//! - Items past 32 KiB (on Linux) do not pass through the hub: the
//!   producer serializes the item straight into one of its *slabs* (a
//!   memfd it mapped for writing, then sealed so that its size never
//!   changes and nobody else can write to it), only the slab's descriptor
//!   crosses the hub, and the consumer copies the item out of a read-only
//!   mapping of the slab (kept for the next items that come in it) and
//!   validates its copy. It then gives a ticket back (a consumer in
//!   another process gives them back four at a time, or with its next
//!   request: one message and one wake-up of the hub per batch), and the
//!   hub tells the producer its slab is free for the next item; a producer
//!   with no free slab sends inline. Two copies in user
//!   space and none in the kernel, where small items take two of each (a
//!   large item that follows a run of small ones from the same producer
//!   takes one more, into the slab); a slab's pages are faulted in once. (A sealed memfd per item, read in
//!   place, would cost fresh pages for every item: about 1 ms a MiB in
//!   page faults on the virtual machines this crate is measured on.)
//!   Elsewhere large items travel inline.
//! - Handing a handle to a child uses a hand-off server (this crate's own
//!   on Linux, ipc-channel's one-shot server elsewhere): the child sends
//!   its two channels' far ends through it and the parent's hand-off
//!   thread adds it as a member (from a member, through the member's own
//!   `up` channel, so grandchildren work too). See "Trust" below.
//! - A member's death closes its `up` channel, the hub's death closes
//!   every `down` channel: both are seen at once, on every platform, with
//!   no polling and no timeouts.
//!
//! Trade-offs (rough runs of `examples/rough_bench.rs` on a shared 2-core
//! machine, 64 B, against raw ipc-channel `IpcBytesSender`: one-way
//! messages per second 2.6x; round trip 1.0x while the machine was idle
//! (45 µs both, mostly processor wake-up), 2.3x while it was busy (17 µs
//! against 7.4 µs), where the same three messages in raw ipc-channel take
//! 1.3x and 2.0x when read through a receiver set, as a hub must;
//! `cargo xtask bench` is the real measurement):
//! - Items between two non-creator processes take two hops (producer → hub
//!   → consumer). Items put in the creator take one; so does a get in the
//!   creator.
//! - A put from another process waits for the hub's acknowledgement (one
//!   round trip), which bounds a remote producer to one put per round trip;
//!   the alternative (fire and forget) would lose the items of a producer
//!   killed right after `put` returned and make `close` racy.
//! - Every received item is copied once into a 16-aligned buffer of its
//!   own: out of the receive buffer, or (large items on Linux) out of the
//!   producer's slab; a batch of small items is one kernel transfer.
//! - A process that puts large items keeps up to 16 slabs per queue, each
//!   as large as the queue's message limit in address space (its pages
//!   are taken only as items are written, and kept for the next ones);
//!   past 16 items on their way at once, more go inline.
//! - The hub thread and one writer thread per member run in the creating
//!   process; a hand-off costs two short-lived threads there.
//!
//! # Async readiness
//! Every raw end implements transport-core's [`PollRecv`] ([`QueueReceiver`],
//! [`QueueEnd`]) or [`PollSend`] ([`QueueSender`], [`QueueEnd`]) with std's
//! `Context` only: no runtime, no thread per channel or per message.
//!
//! - In the creating process a task's waker is kept beside the condition
//!   variables the queue already signals and woken by the same changes,
//!   once the lock is released. A task waiting for an item counts as a
//!   waiting get: the next item is kept for it rather than handed to
//!   another process.
//! - In another process nobody reads a member's `down` channel unless a
//!   thread waits in a get. The first time a task waits on a member, its
//!   channel moves to the process's *bridge* thread (one per process,
//!   started by the first such wait, gone when the last of its channels
//!   closes), which reads the channels of all such members at once (an
//!   ipc-channel receiver set), files what it reads as a waiting get would,
//!   and wakes threads and tasks. Threads of such a member then wait for the
//!   bridge instead of reading themselves (one more thread hop for them);
//!   members never used from async code keep their direct reads. On
//!   Windows the bridge reads every member's channel from the moment it
//!   opens: there a channel that was read directly cannot move into a
//!   receiver set (a read may still be pending on it, or bytes buffered).
//! - Waiting for an item asks the hub for items as a get does. On a
//!   [`Queue`] handle (prefetch 1) the request stays when a non-blocking get
//!   finds nothing, because the task polls again: an item that comes after
//!   the task gave up waits in that process for its next get, and goes back
//!   to the queue when the handle is dropped. Waiting for room on a bounded
//!   queue asks the hub to say when there is room (an unbounded queue is
//!   always ready).
//!
//! # Crashes
//! Killing a process (`SIGKILL`, `TerminateProcess`) never corrupts the
//! queue or blocks the others. Exactly what is lost (each line has a test
//! in `tests/faults.rs`):
//!
//! | who dies | what is lost | what the others see |
//! |---|---|---|
//! | a producer | nothing whose `put` returned; a `put` in progress lands whole or not at all | its items, then (if it was the last sender) `Disconnected` after the rest |
//! | a consumer between gets | nothing | nothing |
//! | a consumer blocked in a get ([`Queue`], prefetch 1) | at most the one item the hub handed it | nothing |
//! | a consumer that waited for an item from async code ([`Queue`], prefetch 1) | at most the one item it asked for | nothing |
//! | a [`QueueReceiver`] (prefetch n) | at most the n items it held (on a bounded queue of capacity c: at most min(n, c)) | nothing |
//! | any holder of unfinished items | nothing more; they count as done, so `join` does not hang | `join` returns |
//! | a consumer that received large items and had not copied them out yet | what it lost above; their slabs are free again for their producers | nothing |
//! | a producer while it writes a large item | that item (it never reached the queue); its slabs go with it once no item in them is left | nothing |
//! | the creating process | the queue: every item still in it | every other handle: `Disconnected` at once |
//!
//! A receiver that is dropped (not killed) gives its prefetched items back.
//! Nothing is left behind after a crash, with one exception: on Linux and
//! the BSDs a hand-off that the child has not opened yet has a socket file
//! in a fresh private directory, which stays if the parent is killed
//! before the child connects. A hand-off is withdrawn after
//! [`HANDOFF_TIMEOUT`] if the child never opens it, and on Linux at once
//! if the child dies first.
//!
//! # Trust
//! Every process that holds a handle is a process of the same user, and
//! any of them may be buggy or hostile. What one can do:
//!
//! - **To the creating process (the hub), through its channels: nothing
//!   but lose its own membership** (on Linux). The hub reads members'
//!   sockets with this crate's own code, never ipc-channel's: every
//!   datagram is checked (its sizes against what came and against the
//!   message size limit, before any body is read; its descriptors: two
//!   channels where an adoption carries them, one slab where a shared put
//!   does, which must be shared memory sealed as this crate seals its
//!   slabs, within the limit, and no shorter than its item, and nothing
//!   elsewhere), a message in fragments is put together without waiting,
//!   and every request is checked against what the member may do. A member that breaks a rule is dropped, as if
//!   it had died. What a member can make the hub hold is bounded: one
//!   message being received, at most 32 requests waiting (puts parked on a
//!   full queue, with their items, and joins), one watch for room, its
//!   prefetch, 65,536 unread messages, 16 of its slabs (a descriptor
//!   each), and tickets only for what it was given; a queue has at most
//!   [`Builder::max_members`] members. Handing a handle on grows the queue
//!   only through the same limit.
//! - **Elsewhere (macOS, Windows, the BSDs) ipc-channel reads members'
//!   bytes.** Its platform code believes a message's framing: a member
//!   that writes raw bytes to its channel can stall the hub's reading or
//!   make it allocate what a header claims; a panic in ipc-channel (a
//!   channel index past those that came, for one) is caught, and drops
//!   that member (or, inside the receiver set, every member: the queue is
//!   then gone for the others, never a panic in the creating process's own
//!   calls).
//! - **To other members: nothing through the queue.** Items pass through
//!   the hub as bytes, or as slabs only their producer can write to, and
//!   are validated where they are read (a slab's item after it was copied
//!   out, so a producer that writes to its slab while an item is out only
//!   spoils its own item); a member can put items others will reject as
//!   invalid, take items (as any consumer can), close the queue, or mark
//!   tasks done it did not take.
//! - **To a hand-off:** on Linux the server is this crate's own, in a
//!   directory only this user may enter (0700, its socket 0600, whatever
//!   the umask); it checks each connection's peer (`SO_PEERCRED`): another
//!   user's is closed, and of this user's only the child the command
//!   spawned is heard (its pid is reported before it runs), anyone else is
//!   refused with a reason. A connection that says nothing, or nothing this
//!   crate writes, never uses the hand-off up. Elsewhere the rendezvous is
//!   ipc-channel's one-shot server: the first to connect takes it.
//! - **What is out of reach of any library:** a process of the same user
//!   may read and write another's memory (`ptrace`, `/proc/PID/mem`), read
//!   tokens from its environment, or kill it. The queue's rules hold
//!   against processes that only use its sockets.
//!
//! # Limits
//! Messages up to [`Builder::max_message_size`] (1 GiB by default, at most
//! [`MAX_MESSAGE_SIZE`]). A member's request that the hub does not answer
//! within 60 seconds (a stopped creator, for example) fails as if the queue
//! were gone; a put or join with a timeout waits at most one second past
//! it for the hub to answer its withdrawal. At most
//! [`DEFAULT_MAX_MEMBERS`] handles in other processes by default.
//!
//! # Features
//! - `serde`: transport-core's `Serde<T>`, re-exported here, so
//!   that any serde type travels as a message (transport-core's `serde`
//!   feature).
//! - `tracing`: events through the `tracing` crate on hand-off and open
//!   (transport-core's `tracing` feature), and from the hub when a member
//!   joins, leaves or dies, is turned away at the member limit, or is
//!   dropped for breaking the protocol; none per message.
//! - `fuzzing`: entry points for the project's fuzz targets; not for
//!   applications.
//!
//! [ipc-channel]: ipc_channel
//! [`PollRecv`]: transport_core::PollRecv
//! [`PollSend`]: transport_core::PollSend
#![deny(missing_docs)]

#[cfg(feature = "serde")]
pub use transport_core::Serde;

// The public handles, the same in every process.
mod builder;
mod config;
mod end;
mod error;
mod handle;
mod handoff;
mod outcome;
mod queue;
mod transport;

// Each side's room: the creating process (the hub) and the others.
mod hub;
mod member;

// What both sides share: the messages between them, and the platforms.
mod sys;
mod wire;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use builder::Builder;
pub use config::{DEFAULT_MAX_MEMBERS, DEFAULT_QUEUE_PREFETCH, DEFAULT_RECEIVER_PREFETCH, MAX_MESSAGE_SIZE};
pub use end::{QueueEnd, QueueReceiver, QueueSender};
pub use error::QueueError;
pub use handoff::HANDOFF_TIMEOUT;
pub use queue::{Queue, Receiver, Sender};
pub use transport::{QueueTransport, bounded, unbounded, with_config};
pub use wire::QueueFrame;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
