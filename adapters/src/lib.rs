//! One API over the transport backends, chosen by additive feature flags, and the
//! same channels in async code (tokio), with [`Stream`](futures::Stream)
//! and [`Sink`](futures::Sink).
//!
//! # Choosing the backend
//! Each backend is a feature, and the features are additive: any
//! combination builds (two libraries in one program may each ask for
//! their own), and each enabled backend has its module of the same name
//! with the same names in it (`queue`, `pipe`, `shm`, `nats`; with docs.rs' settings,
//! all four are documented):
//!
//! ```ignore
//! let (tx, rx) = transport_adapters::pipe::bounded::<Job>(16)?;
//! let (a, b) = transport_adapters::shm::duplex::<Request, Reply>()?;
//! ```
//!
//! The top-level names ([`Backend`], [`bounded`], [`Sender`], ...) follow
//! the *default backend*: the first enabled feature in the order `queue`
//! (the crate's default feature), `pipe`, `shm`, `nats`. A program written
//! against them compiles and runs unchanged on each:
//!
//! ```text
//! cargo run -p transport-adapters --example worker_pool                                        # queue
//! cargo run -p transport-adapters --example worker_pool --no-default-features --features pipe
//! cargo run -p transport-adapters --example worker_pool --no-default-features --features shm
//! ```
//!
//! An application (or a library that must not depend on the default)
//! names its backend itself, through a module or any [`Transport`]
//! (`transport_core::Transport`) with [`channel_on`] and [`duplex_on`];
//! with no backend feature at all, these are what remains.
//!
//! | feature | backend | two-way backend | many producers | many consumers | async readiness |
//! |---|---|---|---|---|---|
//! | `queue` | `transport_queue::QueueTransport` | [`Paired`] (two queues) | yes | yes | wakers beside the queue's condition variables in the creating process, one bridge thread per process elsewhere |
//! | `pipe` | `transport_pipe::Pipe` | the pipe itself | no | no | tokio's reactor (`AsyncFd`) on Unix, a registered wait on Windows |
//! | `shm` | `transport_shm::ShmMpsc` | [`Paired`] (two channels) | yes (8) | no (`transport_shm::ShmMpmc`, a ring that copies each message out, has many: name it with [`channel_on`]) | one bridge thread per process |
//! | `nats` | `transport_nats::AtLeastOnce` (a NATS server, `NATS_URL`) | its own two-way ends | yes | yes | the client's runtime thread |
//!
//! [`Transport`]: transport_core::Transport
//!
//! The differences are in the types, not found at run time: `try_clone`
//! exists only on ends that can be shared
//! ([`MultiProducer`](transport_core::MultiProducer),
//! [`MultiConsumer`](transport_core::MultiConsumer)), so a program that
//! clones a receiver does not compile on `pipe` or `shm`'s default ring, with a compiler
//! note that names the backends that can (`tests/shapes.rs` builds every
//! shape on each backend). Every end is `Sync`, so one end shared by
//! threads (`&tx`, an `Arc`) works everywhere; portable code gives each
//! peer a channel of its own (as [`pool::Pool`] does).
//!
//! ```
//! #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
//! # #[rkyv(crate = transport_core::rkyv)]
//! struct Job {
//!     id: u64,
//!     name: String,
//! }
//! # use transport_core::rkyv;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (tx, rx) = transport_adapters::bounded::<Job>(16)?;
//! tx.send(Job { id: 7, name: "resize".into() }).map_err(|e| e.to_string())?;
//! let job = rx.recv()?; // validated, read in place
//! assert_eq!(job.name.as_str(), "resize");
//! # Ok(()) }
//! ```
//!
//! Ends move to child processes as with any backend:
//! [`CommandExt::endpoint`](transport_core::CommandExt::endpoint) in the
//! parent, [`from_env`](transport_core::from_env) in the child (the async
//! types hand off too). The examples run as real processes on every
//! backend: `worker_pool`, `pool_tour`, `request_response`, `shared_counter` and
//! `async_worker_pool`.
//!
//! # Processes and pools
//! [`process`] runs a function in a child process (the current executable
//! started again in an entry point the program registered with
//! [`process::init`]), and [`pool::Pool`] is Python's `Pool` on the
//! selected backend: `map`, `imap`, `imap_unordered`, `apply_async`, with
//! a worker that panics, exits or is killed failing only the task it was
//! running, and being replaced (`examples/worker_pool.rs`,
//! `examples/pool_tour.rs`). An [`Initializer`](process::Initializer),
//! given with [`Builder::initializer`](pool::Builder::initializer), runs
//! once in every worker before its first task, with an argument sent from
//! the parent (Python's `initializer` and `initargs`); one that panics
//! fails the tasks with [`TaskErrorKind::InitPanicked`](pool::TaskErrorKind::InitPanicked)
//! in bounded time, where Python's pool starts workers forever.
//!
//! # Async
//! [`AsyncSender`], [`AsyncReceiver`] and [`AsyncConnection`] wrap the
//! blocking types. `send().await` waits for room in a full bounded channel
//! instead of failing, `recv().await` waits for a message, and neither
//! blocks the thread: each drives the backend's non-blocking call and, when
//! the channel is not ready, waits for the end's readiness
//! ([`PollSend`](transport_core::backend::PollSend) /
//! [`PollRecv`](transport_core::backend::PollRecv)) with no thread per channel and
//! none per message. The futures honour tokio's cooperative budget.
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use transport_adapters::{AsyncReceiver, AsyncSender};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (tx, rx) = transport_adapters::bounded::<u64>(4)?;
//! let (tx, mut rx) = (AsyncSender::from(tx), AsyncReceiver::from(rx));
//! let producer = tokio::spawn(async move {
//!     for n in 0..100u64 {
//!         tx.send(n).await.expect("sending"); // waits while the channel is full
//!     }
//! });
//! let mut sum = 0;
//! for _ in 0..100 {
//!     sum += rx.next().await.expect("a message")?.to_native();
//! }
//! producer.await?;
//! assert_eq!(sum, 4950);
//! # Ok(()) }
//! ```
//!
//! [`AsyncSender`] takes `&self`, like tokio's `mpsc::Sender`: one sender
//! behind an `Arc` (or `&tx` in several futures) serves many tasks, each
//! woken when there may be room. [`AsyncReceiver`] takes `&mut self`, like
//! tokio's `mpsc::Receiver`: one task waits on it at a time. Their futures
//! are `Send` (every backend's ends are `Send` and `Sync`).
//! [`AsyncConnection`] takes `&self`, so one task can send while another
//! receives. [`AsyncSend`] and [`AsyncRecv`] are the same operations as
//! object-safe traits (`Box<dyn AsyncSend<T>>`).
//!
//! Where a `&mut AsyncSender` meets `futures::SinkExt` in scope,
//! `tx.send(m)` is the `Sink`'s (its error carries no message): write
//! `AsyncSender::send(tx, m)` for this type's own.
//!
//! The blocking ends' vocabulary has its async form: deadlines on tokio's
//! clock (`send_timeout` / `send_deadline`, `recv_timeout` /
//! `recv_deadline`), owned values (`recv_owned`, and
//! [`stream_owned`](AsyncReceiver::stream_owned) /
//! [`into_stream_owned`](AsyncReceiver::into_stream_owned), a `Stream` of
//! `T` as `iter_owned` is an iterator of `T`).
//! The runtime needs its I/O driver for the pipe on Unix (`enable_io`, or
//! `enable_all`), and its time driver for the `*_timeout` and
//! `*_deadline` methods. Where the backend counts messages (`local`, the
//! queue), the async ends say how full the channel is as the blocking ones
//! do (`len`, `capacity`, `is_empty`, `is_full`, `occupancy`); elsewhere
//! these are `None`.
//!
//! # Waiting on many receivers
//! [`Select`] (crossbeam's) and [`wait`] (Python's
//! `multiprocessing.connection.wait`), re-exported from transport-core,
//! wait on receivers of any backends in one blocking call, with no thread
//! per receiver: a pool with a channel per worker waits on all of them
//! from one thread. They are built on the same readiness as the async
//! types; the pipe, outside a tokio runtime, registers its socket with one
//! reactor thread per process. In async code the receive futures
//! themselves wait on many: `tokio::select!` or
//! `futures::future::select_all` over the `recv()` of receivers of any
//! backends, in one task; the futures that lose are dropped and, being
//! cancel-safe, take nothing (`tests/select_async.rs`).
//!
//! ```
//! use std::time::Duration;
//! use transport_adapters::Select;
//! use transport_core::local;
//!
//! let (tx_a, rx_a) = local::bounded::<u64>(4)?;
//! let (tx_b, rx_b) = local::bounded::<u64>(4)?;
//! let mut sel = Select::new();
//! sel.recv(&rx_a);
//! sel.recv(&rx_b);
//! tx_b.send(2)?;
//! let index = sel.ready_timeout(Duration::from_secs(5))?;
//! assert_eq!(index, 1);
//! assert_eq!(rx_b.try_recv()?.to_native(), 2);
//! # drop(tx_a);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Cancel safety
//! Every `send` and `recv` future is cancel-safe, so they can be raced in
//! `tokio::select!` and wrapped in `tokio::time::timeout`:
//!
//! - a message moves between the task and the channel only inside the
//!   backend's non-blocking call, which is atomic (a frame is sent whole or
//!   not at all; a frame taken from the channel is returned by that same
//!   call);
//! - that call, and the future returning `Ready` with its result, happen
//!   within one `poll`; between polls a future only waits for readiness,
//!   holding nothing of the channel's;
//! - so a dropped receive future took nothing (the message it would have
//!   got goes to the next receive), and a dropped send future put nothing
//!   in the channel (its message, which it owned, is dropped with it: pass
//!   `&msg` to keep it).
//!
//! The conformance suite checks both in `tests/async_conformance/`, across
//! processes, on every backend.
//!
//! # Features
//! - `queue` (default), `pipe`, `shm`, `nats`: the backends, additive (see
//!   [Choosing the backend](#choosing-the-backend)).
//! - `serde`: transport-core's `Serde<T>`, re-exported here, so
//!   that any serde type travels as a message (transport-core's `serde`
//!   feature).
//! - `tracing`: events through the `tracing` crate on hand-off and open
//!   (transport-core's `tracing` feature); none per message.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "serde")]
pub use transport_core::Serde;

mod connection;
mod drive;
mod errors;
mod fanout;
mod occupancy;
mod parked;
#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
pub mod pool;
#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
pub mod process;
mod receiver;
mod select;
mod sender;
mod traits;

pub use connection::AsyncConnection;
pub use receiver::AsyncReceiver;
#[cfg(feature = "nats")]
pub use select::nats;
#[cfg(feature = "pipe")]
pub use select::pipe;
#[cfg(feature = "queue")]
pub use select::queue;
#[cfg(feature = "shm")]
pub use select::shm;
#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
pub use select::{
    Backend, BackendEnd, BackendReceiver, BackendSender, Connection, DuplexBackend, DuplexPair, Receiver,
    Sender, bounded, capabilities, channel, duplex, duplex_with, unbounded, with_config,
};
pub use select::{ChannelOn, ConnectionOn, DuplexPairOn, ReceiverOn, SenderOn, channel_on, duplex_on};
pub use sender::AsyncSender;
pub use traits::{AsyncRecv, AsyncSend};
pub use transport_core::{Paired, PairedEnd, Select, Selectable, wait};

/// The README's examples, compiled (and run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
