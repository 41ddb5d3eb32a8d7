//! Python's `multiprocessing.Pool`, crash-safe, on the selected backend:
//! worker processes (the current executable started again in one
//! [`Entry`]) that run a function over many arguments.
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
//! and shared-memory receivers have one consumer), and the pool's thread
//! sends each worker up to [`prefetch`](Builder::prefetch) tasks ahead.
//! A worker answers its tasks in order, so the oldest unanswered task is
//! the one it is running. One thread per worker reads its answers (until
//! the channel API can wait on many receivers at once).
//!
//! - A worker that panics in the function answers
//!   [`TaskError::Panicked`] and goes on.
//! - A worker that exits, aborts or is killed fails the task it was
//!   running with [`TaskError::WorkerDied`] (its pid and exit status), or
//!   runs it again elsewhere when [`retries`](Builder::retries) allow; the
//!   tasks it held and had not started go to other workers; it is
//!   replaced. Death is seen by the result channel's `Disconnected` (every
//!   backend reports it in bounded time) or the process's exit, whichever
//!   comes first; answers sent before it died still count.
//! - A task past the [`task_timeout`](Builder::task_timeout) has its worker
//!   killed and replaced, and fails with [`TaskError::Timeout`].
//! - A worker past [`max_tasks_per_child`](Builder::max_tasks_per_child)
//!   answers what it was sent, exits and is replaced: nothing is lost.
//! - [`imap`](Pool::imap) and [`imap_unordered`](Pool::imap_unordered) keep
//!   at most [`window`](Builder::window) tasks in the pool, so an endless
//!   input takes flat memory.
//! - Dropping the pool (or [`terminate`](Pool::terminate)) kills and reaps
//!   every worker; [`join`](Pool::join) lets them finish first.

mod builder;
mod dispatch;
mod error;
mod event;
mod imap;
mod task;
mod worker;

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread::{self, JoinHandle},
};

pub use builder::Builder;
pub use error::TaskError;
pub use imap::{Imap, ImapUnordered};
pub use task::TaskHandle;
use transport_core::Message;

use self::{builder::Config, dispatch::Dispatcher, event::Event, task::Task};
use crate::process::{Entry, SpawnError};

/// A pool of worker processes running one [`Entry`]; see the [module
/// docs](self).
pub struct Pool<A: Message + Send + 'static, R: Message + Send + 'static> {
    inbox: mpsc::Sender<Event<A, R>>,
    dispatcher: Option<JoinHandle<()>>,
    next_id: AtomicU64,
    closed: AtomicBool,
    workers: usize,
    window: usize,
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> Pool<A, R> {
    /// A pool of `workers` processes running `entry`, with the defaults of
    /// [`Builder`].
    ///
    /// # Errors
    /// [`SpawnError`] when a worker cannot be started.
    pub fn new(entry: &'static Entry<A, R>, workers: usize) -> Result<Self, SpawnError> {
        Self::builder(entry).workers(workers).build()
    }

    /// A builder for a pool running `entry`.
    pub fn builder(entry: &'static Entry<A, R>) -> Builder<A, R> {
        Builder::new(entry)
    }

    pub(crate) fn start(config: Config) -> Result<Self, SpawnError> {
        let (inbox, events) = mpsc::channel();
        let (workers, window) = (config.workers, config.window);
        let dispatcher = Dispatcher::new(config, events, inbox.clone())?;
        let dispatcher = thread::Builder::new()
            .name("pool-dispatcher".into())
            .spawn(move || dispatcher.run())
            .map_err(SpawnError::Spawn)?;
        Ok(Pool {
            inbox,
            dispatcher: Some(dispatcher),
            next_id: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            workers,
            window,
        })
    }

    /// How many worker processes the pool keeps.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// How many tasks an `imap` keeps in the pool at most.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Gives the pool a task whose answer goes to `reply` with `seq`.
    pub(crate) fn submit(&self, arg: A, seq: u64, reply: &mpsc::Sender<task::Reply<R>>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let task = Task::new(id, arg, seq, reply.clone());
        if self.closed.load(Ordering::Acquire) {
            task.answer(Err(TaskError::Closed));
        } else {
            // A pool whose thread has stopped drops the task, which
            // answers `Terminated`.
            let _ = self.inbox.send(Event::Submit(task));
        }
    }

    /// Runs the function on `arg` in a worker and waits for its result
    /// (Python's `apply`).
    ///
    /// # Errors
    /// The task's [`TaskError`].
    pub fn apply(&self, arg: A) -> Result<R, TaskError> {
        self.apply_async(arg).wait()
    }

    /// Runs the function on `arg` in a worker; wait for the result on the
    /// handle (Python's `apply_async`).
    pub fn apply_async(&self, arg: A) -> TaskHandle<R> {
        let (tx, rx) = mpsc::channel();
        self.submit(arg, 0, &tx);
        TaskHandle::new(rx)
    }

    /// Runs the function on every argument and returns the results in the
    /// order of the arguments (Python's `map`): a task that failed is an
    /// error in its place, and every other task still gives its result.
    /// All the arguments are given to the pool at once; use
    /// [`imap`](Self::imap) to bound how many are held.
    pub fn map<I: IntoIterator<Item = A>>(&self, args: I) -> Vec<Result<R, TaskError>> {
        let (tx, rx) = mpsc::channel();
        let mut n = 0;
        for arg in args {
            self.submit(arg, n, &tx);
            n += 1;
        }
        drop(tx);
        let mut results: Vec<Option<Result<R, TaskError>>> = (0..n).map(|_| None).collect();
        // Every task answers once, even when the pool stops.
        for (seq, result) in rx.iter().take(n as usize) {
            if let Some(place) = results.get_mut(seq as usize) {
                *place = Some(result);
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(TaskError::Terminated)))
            .collect()
    }

    /// The results of the function on every argument, in the order of the
    /// arguments, as an iterator that keeps at most
    /// [`window`](Builder::window) tasks in the pool (Python's `imap`).
    pub fn imap<I: IntoIterator<Item = A>>(&self, args: I) -> Imap<'_, A, R, I::IntoIter> {
        Imap::new(self, args.into_iter())
    }

    /// The results as they come, each with the position of its argument,
    /// keeping at most [`window`](Builder::window) tasks in the pool
    /// (Python's `imap_unordered`).
    pub fn imap_unordered<I: IntoIterator<Item = A>>(&self, args: I) -> ImapUnordered<'_, A, R, I::IntoIter> {
        ImapUnordered::new(self, args.into_iter())
    }

    /// Takes no more tasks: later ones fail with [`TaskError::Closed`];
    /// those given still run (Python's `close`).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.inbox.send(Event::Close);
    }

    /// Closes the pool, waits for every task given to finish, and for the
    /// workers to exit (Python's `close` then `join`).
    pub fn join(&mut self) {
        self.close();
        if let Some(dispatcher) = self.dispatcher.take() {
            let _ = dispatcher.join();
        }
    }

    /// Kills and reaps every worker now; the tasks not finished fail with
    /// [`TaskError::Terminated`] (Python's `terminate`).
    pub fn terminate(&mut self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.inbox.send(Event::Terminate);
        if let Some(dispatcher) = self.dispatcher.take() {
            let _ = dispatcher.join();
        }
    }
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> std::fmt::Debug for Pool<A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.workers)
            .field("window", &self.window)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Dropping the pool terminates it: no worker outlives it.
impl<A: Message + Send + 'static, R: Message + Send + 'static> Drop for Pool<A, R> {
    fn drop(&mut self) {
        self.terminate();
    }
}
