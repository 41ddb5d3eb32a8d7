//! Python's `multiprocessing.Pipe`, done right: two connected ends that
//! carry typed [rkyv](transport_core::rkyv) messages (or raw bytes) between
//! processes.
//!
//! ```
//! #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, PartialEq)]
//! # #[rkyv(crate = transport_core::rkyv)]
//! struct Job {
//!     id: u64,
//!     name: String,
//! }
//! # use transport_core::rkyv;
//!
//! // A two-way pipe: `parent` sends `Job`s and receives `u64`s.
//! let (parent, child) = transport_pipe::duplex::<Job, u64>().unwrap();
//! parent.send(Job { id: 7, name: "resize".into() }).unwrap();
//!
//! let job = child.recv().unwrap(); // validated, read in place
//! assert_eq!(job.name.as_str(), "resize");
//! child.send(job.id.to_native() * 2).unwrap();
//! assert_eq!(*parent.recv().unwrap(), 14);
//!
//! // Dropping one end: the other receives what was sent, then `Disconnected`.
//! drop(child);
//! assert!(parent.recv().unwrap_err().is_disconnected());
//! ```
//!
//! In real use one end goes to a child process: the parent passes it with
//! [`CommandExt::endpoint`](transport_core::CommandExt::endpoint) and the
//! child opens it with [`from_env`](transport_core::from_env) (see
//! `examples/ping_pong.rs`). [`simplex`] gives a one-way pipe (Python's
//! `Pipe(duplex=False)`); [`Pipe`] is the backend for generic code.
//!
//! # What Python's `Pipe` gets wrong, and what this crate does instead
//! - *Two processes using one end corrupt it*: an end is not `Clone`, and
//!   handing it to a child moves it out of the parent, to that one child:
//!   spawning the same prepared `Command` again does not give the end to a
//!   second child (see [Hand-off](#hand-off)). A pipe has exactly two ends,
//!   so `try_clone`, which the queue's ends have, does not compile here, and
//!   the compiler's note says where several producers or consumers go (the
//!   queue, shared memory's multi-producer channel, NATS):
//!
//!   ```compile_fail,E0277
//!   let (tx, rx) = transport_pipe::simplex::<u64>()?;
//!   let second = rx.try_clone(); // `PipeReceiver` has a single consumer
//!   # Ok::<(), Box<dyn std::error::Error>>(())
//!   ```
//!
//!   ```compile_fail,E0277
//!   let (tx, rx) = transport_pipe::simplex::<u64>()?;
//!   let second = tx.try_clone(); // `PipeSender` has a single producer
//!   # Ok::<(), Box<dyn std::error::Error>>(())
//!   ```
//!
//!   One end used from several threads is shared instead (`&tx` in scoped
//!   threads, an `Arc`), which compiles on every backend:
//!
//!   ```
//!   let (tx, rx) = transport_pipe::simplex::<u64>()?;
//!   std::thread::scope(|s| {
//!       for i in 0..4 {
//!           let tx = &tx;
//!           s.spawn(move || tx.send(i));
//!       }
//!   });
//!   let mut got: Vec<u64> = (0..4).map(|_| rx.recv_owned()).collect::<Result<_, _>>()?;
//!   got.sort();
//!   assert_eq!(got, [0, 1, 2, 3]);
//!   # Ok::<(), Box<dyn std::error::Error>>(())
//!   ```
//! - *`EOFError` when the peer closes*: the other end receives every message
//!   that was sent, then `Disconnected`, on every OS (Windows' broken pipe
//!   is reported the same way). A message the peer died in the middle of
//!   sending is dropped, not delivered cut short; the receiver sees
//!   `Disconnected`.
//! - *Sending to a dead peer*: `Disconnected`, never a `SIGPIPE`.
//! - *Both sides sending big messages at once deadlock*: a writer that
//!   waits for room keeps reading incoming frames into its end's receive
//!   queue, so both make progress, and a peer that never reads cannot make
//!   that queue grow without bound (see [Coalescing](#coalescing)).
//! - *Messages above ~32 MiB fail*: the limit is set per pipe
//!   ([`ChannelConfig::max_message_size`](transport_core::ChannelConfig),
//!   1 GiB by default) and checked on both sides; a receiver checks the
//!   announced length before it allocates and reports `TooLarge`.
//! - *Anyone can connect*: nobody else can. On Unix the pipe is an unnamed
//!   socket pair that the child inherits; on Windows a named pipe with a
//!   random name, an owner-only security descriptor, remote clients
//!   rejected and one instance, connected before it is handed out (see
//!   [`PipeEnd`]'s portability table).
//!
//! # Frames
//! Each message is a 16-byte header (magic, flags, 64-bit length) and the
//! message bytes. The receiver reads the stream in 64 KiB chunks and copies
//! each small message once into a 16-aligned buffer ([`PipeFrame`]); a large
//! message is read straight into its own aligned buffer. The typed receiver
//! then reads the archive in place, with no further copy. A header with
//! the wrong magic, unknown flags or a length no message can have (above
//! `isize::MAX`) gives `Malformed`: the stream cannot be trusted after it,
//! so every later receive says so too, this end reads nothing more from the
//! peer, and (on Unix) the peer's sends fail with `Disconnected`. A length
//! above this end's limit that a sender could have written gives
//! `TooLarge`, and that frame's bytes are skipped as they arrive (each read
//! once, none kept), so the frames after it are delivered.
//!
//! # Coalescing
//! A send serializes its message straight into the end's *backlog*, after
//! the frame header: that is the only copy between the message and the
//! kernel. Then:
//!
//! - **A lone message** (nothing waiting, no write in progress, and no send
//!   on this end in the last [`BURST_GAP`]) is written by the sending
//!   thread at once, with one non-blocking system call: no added latency,
//!   no thread hand-off. Request/response traffic always takes this path.
//! - **A message in a burst** (sent within [`BURST_GAP`] of the previous
//!   send, or while earlier bytes still wait) is only appended. The end's
//!   *flusher thread*, started the first time a burst happens, writes the
//!   whole backlog with one system call; what arrives while that write runs
//!   goes out together in the next. The sender never waits for the
//!   flusher, so the faster it sends, the larger the batches. A parked
//!   flusher is woken only when there is a backlog for it (or the end
//!   closes): a lone message does not wake it.
//! - When the kernel takes only part of a write (its buffer is full), the
//!   rest stays in the backlog for the flusher.
//!
//! A send returns once its frame is in the kernel or in the backlog. The
//! backlog counts every byte of the sends that returned whose frames are
//! not yet wholly written to the kernel, whether they wait or are being
//! written (a frame the kernel took only part of counts whole: a receiver
//! drops a frame cut short, so it is lost whole if the sender dies): when it
//! holds [`BACKLOG`] bytes or more, `send` waits for room, `send_timeout`
//! waits until its deadline and `try_send` reports `Full` (so it holds at
//! most `BACKLOG` bytes plus the frame of the send that filled it). Dropping
//! an end (or handing it to a child) first writes the backlog, waiting up to
//! the end's *linger* ([`DEFAULT_LINGER`], 10 s, or
//! [`PipeEnd::set_linger`]) for a peer that does not read, so a drop always
//! returns; what the linger did not let out is dropped (in a task on
//! tokio's multi-thread runtime, with the `tokio` feature, the worker first
//! hands its other tasks to another thread, so the peer's task keeps
//! running). [`PipeEnd::flush`] and [`PipeEnd::flush_timeout`] wait for the
//! backlog explicitly, and [`PipeEnd::close`] closes with a wait of your
//! choice and says whether everything went out. The one difference from a
//! write per message is *when* a message of a burst reaches the kernel:
//! within one flusher write. A process killed at that moment loses what its
//! backlog held (at most `BACKLOG` bytes plus one frame; on Windows also
//! the one write the pipe has not finished, up to 1 MiB), which its peer
//! sees as `Disconnected`.
//!
//! While a writer (the flusher, or a send that must write) waits for room,
//! it also reads whatever the peer sent into the end's receive queue. Two
//! ends sending to each other at once, with both kernel buffers full, so
//! never wait for each other. The queue is bounded even so: a waiting
//! writer reads only while the queue holds less than [`DRAIN_LIMIT`] bytes
//! (1 MiB) plus what this end wrote since the queue was last empty. Two
//! ends that each send before they receive are never stopped by it, since
//! what each end's queue holds, the other wrote, which that end read while
//! it waited; a peer that sends and never reads costs this end at most
//! `DRAIN_LIMIT` bytes beyond what this end sent it, and then its sends
//! wait (the kernel buffers are full), as they would for any peer that
//! does not read. A writer thread per end was the other option, but it
//! would pay a thread hand-off on every lone message.
//!
//! Large raw sends (`send_bytes` of 64 KiB or more) skip the backlog: the
//! sending thread waits its turn, then writes header and bytes with one
//! vectored call, without copying them.
//!
//! # Hand-off
//! [`CommandExt::endpoint`](transport_core::CommandExt::endpoint) hands an
//! end to the child that a `Command` spawns, and only to it:
//!
//! - On Unix the child inherits the descriptor: close-on-exec is cleared
//!   in the forked child only, so no other child gets it. The first spawn
//!   claims the end; spawning the same `Command` again fails with
//!   `EALREADY` ("operation already in progress") before the second child
//!   runs anything, so two processes never write to one end. The parent's
//!   copy of the descriptor is closed by a short-lived thread as soon as
//!   the child has started (or when the `Command` is dropped unspawned), so
//!   the parent's other end sees `Disconnected` when the child exits or is
//!   killed, whether or not the `Command` is kept. A spawn that claims the
//!   end and then fails (the program cannot be run) uses the end up too.
//! - On Windows the child takes the hand-off's one claim (an owner-only
//!   named semaphore with one unit), then moves the handle out of the
//!   parent, closing the parent's copy; a second child, or any process
//!   that comes after, finds no claim left and is told the end was already
//!   used ([`OpenError::AlreadyUsed`](transport_core::OpenError)). A child
//!   that exits without opening its end leaves the parent's copy open until
//!   the parent exits, unless the parent told the hand-off its child
//!   ([`transport_core::spawned`], or
//!   [`CommandExt::start`](transport_core::CommandExt::start)): then the
//!   parent takes the claim itself once the child has exited and closes its
//!   copy, and the other end sees `Disconnected`.
//! - The child refuses an end whose peer runs as another user
//!   ([`OpenError::Refused`](transport_core::OpenError)).
//!
//! # Trust model
//! The peer is whatever process holds the other end. It can:
//!
//! - send bytes that are not messages: a frame that fails validation is
//!   `Invalid` for that message only; bytes that break the framing are
//!   `Malformed` for the rest of the stream (see [Frames](#frames));
//! - announce a frame above the limit: `TooLarge`, and it pays for the
//!   skip by sending those bytes; nothing of that size is allocated;
//! - announce a frame within the limit and send only part of it: this end
//!   allocates the announced length once (at most the limit) and fills it
//!   as bytes come; the frame is delivered whole or, if the peer stops,
//!   not at all;
//! - stop reading: this end's sends wait (`send_timeout` and `try_send`
//!   give up), its receive queue takes at most [`DRAIN_LIMIT`] bytes beyond
//!   what this end sent, and dropping it returns within its linger;
//! - exit or be killed at any moment: `Disconnected`, in bounded time.
//!
//! # Crashes
//!
//! What a kill costs, counted in messages whose send had returned `Ok`:
//! a killed sender loses what its backlog held (at most [`BACKLOG`] bytes
//! plus the frame of the send that filled it; see [Coalescing](#coalescing));
//! a killed receiver loses what the sender's backlog held (the same bound),
//! what the kernel held in the socket's buffers (the system's socket buffer
//! sizes: the pipe sets none of its own), and what the receiver had read
//! but not returned (at most [`DRAIN_LIMIT`] bytes). Either way the lost
//! messages are the last ones sent, never some in the middle, and the
//! survivor sees `Disconnected`. `cargo xtask chaos` checks both bounds.
//!
//! It cannot make a receive panic, read out of bounds, hang past its
//! deadline, or allocate without bound; it cannot hand a receiver a frame
//! cut short, out of order or twice. Every header is read once, checked,
//! and each received byte costs a bounded amount of work.
//!
//! Who can be the peer: only a process holding a descriptor or handle of
//! the pipe. On Unix the socket pair has no name anywhere; on Windows the
//! pipe's random name admits only its owner's user and one client, which
//! is connected at creation, so no other process can open it. The residual
//! boundary is the user: a process of the same user that may debug yours
//! (`ptrace` where the system allows it; `PROCESS_DUP_HANDLE` or
//! `PROCESS_VM_WRITE` on Windows, which a user has on all its processes)
//! can take a descriptor or a handle out of it, before or after the
//! hand-off. No object of the pipe depends on the umask: the Unix pairs
//! have no file-system name, and the Windows pipe has an owner-only
//! security descriptor.
//!
//! # Async readiness
//! With the `tokio` feature, the ends implement
//! [`PollRecv`](transport_core::backend::PollRecv) and
//! [`PollSend`](transport_core::backend::PollSend), which `transport-adapters` uses
//! for `send().await` / `recv().await`. Receive readiness is the end's
//! receive queue plus the socket's readability: tokio's reactor
//! (`AsyncFd`) on Unix; on Windows, where the handle already does
//! overlapped I/O of its own and cannot be given to tokio's named-pipe
//! types, a zero-byte overlapped read waited on by the system thread pool
//! (no thread per pipe). Because a writer that waits for room reads
//! incoming frames into the queue (see [Coalescing](#coalescing)), every
//! read that makes progress also wakes a waiting task. Send readiness is
//! room in the backlog, made by the flusher thread, which wakes the task.
//!
//! A named connection in Python's framing reads as Python writes, one
//! message at a time, and its receive readiness is the socket's own (on
//! Windows over TCP, through `WSAEventSelect` and a wait of the system
//! thread pool; a Python-framed Windows named pipe, a message-mode pipe,
//! has none and reports `Unsupported`: a zero-byte read there would take a
//! zero-length message). On Unix it keeps a small backlog of its own
//! (256 KiB): a send that finds the socket full leaves its message there,
//! and a flusher thread writes what gathers in 16 KiB writes, which a
//! Python reader takes faster than one write per message; send readiness
//! is room in that backlog. Elsewhere send readiness is the socket's room.
//! A send from a task either sends nothing (the task waits for readiness)
//! or its whole message, so a dropped send future has sent all of its
//! message or none of it; a message larger than the room it found (of
//! 64 KiB or more with nothing waiting before it, on Unix) holds the
//! task's thread (on the multi-thread runtime, after handing the worker's
//! other tasks to another thread) until the peer has read the rest, as
//! Python's `send_bytes` does. So a current-thread runtime must not also
//! run the task that receives those messages at the other end.
//!
//! The ends also implement `AsFd`/`AsRawFd` on Unix and
//! `AsHandle`/`AsRawHandle` on Windows (an overlapped named-pipe handle),
//! for code that waits on the descriptor itself; such code must also call
//! the non-blocking `try_*` methods before each wait, since the receive
//! queue may hold frames the descriptor no longer shows.
//!
//! # Named connections, and Python
//! [`Listener`] and [`Client`] connect processes that are not parent and
//! child (Python's `multiprocessing.connection`): a socket file, a Linux
//! abstract name, a Windows named pipe or TCP, Python's `authkey`
//! handshake, an optional check of the peer's user. With
//! [`Options::python`] they speak Python's wire format (on a Windows named
//! pipe, a message-mode pipe as Python's own), and [`PyConnection`] carries raw bytes and [pickles of plain
//! values](python::pickle). With the `tokio` feature (Unix; on Windows
//! over TCP) such a connection has async readiness too (see [Async
//! readiness](#async-readiness)): `transport-adapters` sends and receives
//! on it from tasks, and `transport_core::wait(&[&a, &b], timeout)` waits
//! on several, as Python's `multiprocessing.connection.wait` does.
//!
//! # Features
//! - `tokio`: async readiness (`PollRecv` / `PollSend` on the ends), for
//!   `transport-adapters`: tokio's reactor (`AsyncFd`) on Unix; on Windows
//!   a zero-byte read (pipes) or `WSAEventSelect` (TCP) and a registered
//!   wait, with no tokio dependency.
//! - `serde`: transport-core's `Serde<T>`, re-exported here, so
//!   that any serde type travels as a message (transport-core's `serde`
//!   feature).
//! - `tracing`: events through the `tracing` crate on hand-off and open
//!   (transport-core's `tracing` feature); none per message.
//! - `fuzzing`: entry points for the project's fuzz targets (the hand-off
//!   payloads' parsers); not for applications.
#![deny(missing_docs)]

#[cfg(feature = "serde")]
pub use transport_core::Serde;

mod drain;
mod end;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod inbound;
mod named;
mod off_worker;
mod outbound;
mod pipe;
pub mod python;
#[cfg(feature = "tokio")]
mod ready;
mod shared;
mod sys;
mod wire;

pub use drain::DRAIN_LIMIT;
pub use end::{PipeEnd, PipeReceiver, PipeSender};
pub use inbound::PipeFrame;
pub use named::{
    Address, AsAddress, AuthError, BindError, Client, ConnectError, DEFAULT_SPIN, Incoming, Listener,
    NamedConnection, NamedEnd, Options, PeerCreds, PeerUser, PyConnection, PyRecvError, PySendError,
};
pub(crate) use outbound::FLUSH_SLICE;
pub use outbound::{BACKLOG, BURST_GAP, DEFAULT_LINGER};
pub use pipe::{
    Connection, DuplexPair, Pipe, Receiver, Sender, bounded, duplex, duplex_with, simplex, simplex_with,
    unbounded, with_config,
};

/// The README's examples, compiled (and run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
