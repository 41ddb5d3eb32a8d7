//! Python's `multiprocessing.Pool`, crash-safe, on the selected backend:
//! worker processes (the current executable started again in one
//! [`Entry`](crate::process::Entry)) that run a function over many arguments.
//!
//! ```no_run
//! use transport_adapters::{pool::Pool, process::{self, Entry}};
//!
//! fn square(n: u64) -> u64 {
//!     n * n
//! }
//! static SQUARE: Entry<u64, u64> = Entry::new("square", square);
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     process::init(&[&SQUARE]);
//!     let pool = Pool::new(&SQUARE, 4)?;
//!     let squares: Vec<u64> = pool.map(0..1000).into_iter().collect::<Result<_, _>>()?;
//!     assert_eq!(squares[999], 998_001);
//!     Ok(())
//! }
//! ```
//!
//! # How it works, and what survives what
//! Every worker has a task channel and a result channel of its own (pipe
//! and shared-memory receivers have one consumer), and each worker is sent
//! up to [`prefetch`](Builder::prefetch) tasks ahead: by the caller's own
//! thread as it gives the pool tasks, where a worker has room (unless the
//! pool's thread is busy with the pool's state: a caller never waits for
//! it), and by the pool's thread as answers make room.
//! A worker answers its tasks in order, so the oldest unanswered task is
//! the one it is running. One thread per worker reads and checks its
//! answers and hands each to its caller, so that the answers of several
//! workers are taken in at once, and the pool's thread is woken for an
//! answer only when it has something to do about it (tasks wait for room,
//! the pool closes, the worker retires).
//!
//! - A worker that panics in the function answers
//!   [`TaskErrorKind::Panicked`] and goes on.
//! - A worker that exits, aborts or is killed fails the task it was
//!   running with [`TaskErrorKind::WorkerDied`] (its pid and exit status), or
//!   runs it again elsewhere when [`retries`](Builder::retries) allow; the
//!   tasks it held and had not started go to other workers; it is
//!   replaced. Death is seen by the result channel's `Disconnected` (every
//!   backend reports it in bounded time) or the process's exit, whichever
//!   comes first; answers sent before it died still count.
//! - A task past the [`task_timeout`](Builder::task_timeout) has its worker
//!   killed and replaced, and fails with [`TaskErrorKind::Timeout`].
//! - A worker past [`max_tasks_per_child`](Builder::max_tasks_per_child)
//!   answers what it was sent, exits and is replaced: nothing is lost.
//! - [`imap`](Pool::imap) and [`imap_unordered`](Pool::imap_unordered) keep
//!   at most [`window`](Builder::window) tasks in the pool, so an endless
//!   input takes flat memory.
//! - Dropping the pool (or [`terminate`](Pool::terminate)) kills and reaps
//!   every worker; [`join`](Pool::join) lets them finish first.
//! - An [`initializer`](Builder::initializer) runs once in every worker,
//!   replacements included, before its first task, with an argument the
//!   parent sends it as a message; the worker answers nothing before it
//!   returns. One that panics, runs past the task timeout, or a worker
//!   that ends in it, does not make the pool start workers forever
//!   (Python's does, and its `map` hangs): after [`INIT_FAILURES`] such
//!   workers in a row the pool kills its workers, starts no more, and
//!   every task fails with [`TaskErrorKind::InitPanicked`] (the initializer's
//!   name and the panic's message), [`TaskErrorKind::InitTimeout`] or
//!   [`TaskErrorKind::InitDied`].
//!
//! # Chunks
//! By default every task is one message to its worker and one back, so a
//! very small task costs its two messages (tens of thousands of tasks a
//! second). A [`chunksize`](Builder::chunksize) (or the `_chunked`
//! operations, such as [`map_chunked`](Pool::map_chunked)) puts that many
//! tasks in one message, and their results in one message back, as
//! Python's `chunksize` does. Everything above holds with "chunk" for
//! "task" where a worker ends: a worker that dies while it runs a chunk
//! fails every task of that chunk (it had answered none of them) with
//! [`TaskErrorKind::WorkerDied`], or runs the whole chunk again when
//! `retries` allow; the chunks it held and had not started go to other
//! workers; the task timeout bounds a whole chunk; the prefetch counts
//! chunks; `max_tasks_per_child` counts tasks and never splits a chunk.
//! The default stays one, unlike Python's `map`, which picks
//! `len / (4 × workers)`: a larger chunk loses more tasks to one crash.
//! [`auto_chunksize`](Builder::auto_chunksize) asks for Python's choice in
//! `map`.
//!
//! A chunk's answer travels as the values of its tasks in one array, with
//! the position and message of any task that panicked beside it, and
//! reaches the caller whole: `map` copies each value once, from the
//! worker's message into its result.
//!
//! # Async
//! [`apply_future`](Pool::apply_future), [`map_async`](Pool::map_async)
//! and [`imap_stream`](Pool::imap_stream) (a `Stream`) are the same
//! operations for async code: the pool's threads wait, the futures only
//! take the answers, and give tasks without waiting for room (a task no
//! worker has room for stays queued in the pool), so they do not block an
//! executor.

mod answers;
mod book;
mod builder;
mod collect;
mod config;
mod dispatch;
mod error;
mod event;
mod handle;
mod imap;
mod reader;
mod stream;
mod task;
mod worker;

pub use builder::Builder;
pub use dispatch::INIT_FAILURES;
pub use error::{TaskError, TaskErrorKind};
pub use handle::Pool;
pub use imap::{Imap, ImapUnordered};
pub use stream::{ResultStream, TaskFuture};
pub use task::TaskHandle;
