//! `Pool`: the handle the program holds, and the operations that wait for
//! answers.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread::{self, JoinHandle},
};

use transport_core::Message;

use super::{
    config::Config,
    dispatch::Dispatcher,
    error::TaskError,
    event::Event,
    task::{ReplyTo, Task, TaskHandle},
};
use crate::process::SpawnError;

/// A pool of worker processes running one [`Entry`](crate::process::Entry); see the [module
/// docs](super).
pub struct Pool<A: Message + Send + 'static, R: Message + Send + 'static> {
    inbox: mpsc::Sender<Event<A, R>>,
    dispatcher: Option<JoinHandle<()>>,
    next_id: AtomicU64,
    closed: AtomicBool,
    workers: usize,
    window: usize,
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> Pool<A, R> {
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
    pub(crate) fn submit(&self, arg: A, seq: u64, reply: ReplyTo<R>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let task = Task::new(id, arg, seq, reply);
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
        self.submit(arg, 0, ReplyTo::Blocking(tx));
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
            self.submit(arg, n, ReplyTo::Blocking(tx.clone()));
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
