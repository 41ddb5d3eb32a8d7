//! `Pool`: the handle the program holds, and the operations that wait for
//! answers.

use std::{
    sync::{
        Arc, Mutex, TryLockError,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread::{self, JoinHandle},
};

use transport_core::Message;

use super::{
    collect::Collector,
    config::Config,
    dispatch::Dispatcher,
    error::{TaskError, TaskErrorKind},
    event::Event,
    task::{ReplyTo, Task, TaskHandle},
};
use crate::process::SpawnError;

/// The most chunks of one `map` given to the pool at once.
const MAX_BATCH: usize = 64;

/// A pool of worker processes running one [`Entry`](crate::process::Entry); see the [module
/// docs](super).
pub struct Pool<A: Message + Send + 'static, R: Message + Send + 'static> {
    inbox: mpsc::Sender<Event<A, R>>,
    /// The pool's state, which a caller locks to give it tasks.
    state: Arc<Mutex<Dispatcher<A, R>>>,
    dispatcher: Option<JoinHandle<()>>,
    next_id: AtomicU64,
    closed: AtomicBool,
    workers: usize,
    window: usize,
    prefetch: usize,
    chunksize: usize,
    auto_chunksize: bool,
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> Pool<A, R> {
    pub(crate) fn start(config: Config) -> Result<Self, SpawnError> {
        let (inbox, events) = mpsc::channel();
        let (workers, window, prefetch, chunksize, auto_chunksize) = (
            config.workers,
            config.window,
            config.prefetch,
            config.chunksize,
            config.auto_chunksize,
        );
        let state = Arc::new(Mutex::new(Dispatcher::new(config, inbox.clone())?));
        let shared = Arc::clone(&state);
        let dispatcher = thread::Builder::new()
            .name("pool-dispatcher".into())
            .spawn(move || Dispatcher::run(&shared, &events))
            .map_err(SpawnError::Spawn)?;
        Ok(Pool {
            inbox,
            state,
            dispatcher: Some(dispatcher),
            next_id: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            workers,
            window,
            prefetch,
            chunksize,
            auto_chunksize,
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

    /// How many tasks `map` and `imap` put in one message, unless told
    /// otherwise for a call.
    pub fn chunksize(&self) -> usize {
        self.chunksize
    }

    /// How many tasks an `imap` of chunks of `chunksize` keeps in the
    /// pool: the window, and never fewer than a full prefetch of chunks
    /// for every worker.
    pub(crate) fn window_for(&self, chunksize: usize) -> usize {
        self.window.max(
            chunksize
                .saturating_mul(self.workers)
                .saturating_mul(self.prefetch),
        )
    }

    /// Gives the pool the chunk `args` (at least one), whose answers go
    /// to `reply` numbered from `seq`.
    pub(crate) fn submit(&self, args: Vec<A>, seq: u64, reply: ReplyTo<R>) {
        self.submit_batch(vec![self.task(args, seq, reply)]);
    }

    /// The chunk `args`, with its pool-wide id.
    fn task(&self, args: Vec<A>, seq: u64, reply: ReplyTo<R>) -> Task<A, R> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        Task::new(id, args, seq, reply)
    }

    /// Gives the pool the chunks `tasks`, in order: offered from this
    /// thread, or handed to the pool's thread when it holds the state.
    fn submit_batch(&self, tasks: Vec<Task<A, R>>) {
        if tasks.is_empty() {
            return;
        }
        if self.closed.load(Ordering::Acquire) {
            for task in tasks {
                task.fail(TaskErrorKind::Closed.into());
            }
        } else {
            // The pool's thread holds the state only for short steps, but
            // one may start a worker or wait out a terminate: a caller
            // (maybe an async task) does not wait for it, and hands the
            // tasks to the thread instead. A pool whose thread has stopped
            // drops them, and they answer `Terminated`.
            let state = match self.state.try_lock() {
                Ok(state) => Some(state),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            let event = match state {
                Some(mut state) => state.submit(tasks).then_some(Event::Offered),
                None => Some(Event::Submit(tasks)),
            };
            if let Some(event) = event {
                // `Offered`: the pool's thread reckons its next wake-up
                // (a task timeout) again.
                let _ = self.inbox.send(event);
            }
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
        self.submit(vec![arg], 0, ReplyTo::Blocking(tx));
        TaskHandle::new(rx)
    }

    /// Runs the function on every argument and returns the results in the
    /// order of the arguments (Python's `map`): a task that failed is an
    /// error in its place, and every other task still gives its result.
    /// All the arguments are given to the pool at once; use
    /// [`imap`](Self::imap) to bound how many are held.
    /// Tasks go in chunks of the pool's [`chunksize`](super::Builder::chunksize).
    /// With [`auto_chunksize`](super::Builder::auto_chunksize), the chunk
    /// size is picked from the number of arguments, as Python's is.
    pub fn map<I: IntoIterator<Item = A>>(&self, args: I) -> Vec<Result<R, TaskError>> {
        if self.auto_chunksize {
            let args: Vec<A> = args.into_iter().collect();
            let chunksize = self.auto_chunksize_for(args.len());
            return self.map_chunked(args, chunksize);
        }
        self.map_chunked(args, self.chunksize)
    }

    /// The chunk size Python's `map` picks for `len` arguments: about four
    /// chunks for each worker.
    pub(crate) fn auto_chunksize_for(&self, len: usize) -> usize {
        len.div_ceil(self.workers.saturating_mul(4)).max(1)
    }

    /// Whether `map` picks its chunk size from its arguments.
    pub(crate) fn picks_chunksize(&self) -> bool {
        self.auto_chunksize
    }

    /// [`map`](Self::map) with `chunksize` tasks in a message (at least
    /// one) for this call (Python's `map(f, xs, chunksize)`).
    pub fn map_chunked<I: IntoIterator<Item = A>>(
        &self,
        args: I,
        chunksize: usize,
    ) -> Vec<Result<R, TaskError>> {
        let collector = Collector::new();
        let n = self.submit_all(args, chunksize, &ReplyTo::Collect(collector.sender()));
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        // Every task answers once, even when the pool stops; this thread
        // copies each chunk's answers once, into the result, as they come.
        collector.wait(n)
    }

    /// Gives the pool every argument, in chunks of `chunksize`, answers
    /// numbered from 0 going to `reply`; how many tasks that was.
    pub(crate) fn submit_all<I: IntoIterator<Item = A>>(
        &self,
        args: I,
        chunksize: usize,
        reply: &ReplyTo<R>,
    ) -> u64 {
        let chunksize = chunksize.max(1);
        let mut args = args.into_iter();
        let mut n = 0;
        // The first chunk goes alone, so the workers start at once; then
        // batches of 2, 4, ... up to `MAX_BATCH` chunks, one event each.
        let mut batch = Vec::new();
        let mut limit = 1;
        loop {
            let chunk: Vec<A> = args.by_ref().take(chunksize).collect();
            if chunk.is_empty() {
                self.submit_batch(batch);
                return n;
            }
            let len = chunk.len() as u64;
            batch.push(self.task(chunk, n, reply.clone()));
            n += len;
            if batch.len() >= limit {
                self.submit_batch(std::mem::take(&mut batch));
                limit = (limit * 2).min(MAX_BATCH);
            }
        }
    }

    /// Takes no more tasks: later ones fail with [`TaskErrorKind::Closed`];
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
    /// [`TaskErrorKind::Terminated`] (Python's `terminate`).
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
            .field("chunksize", &self.chunksize)
            .field("auto_chunksize", &self.auto_chunksize)
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
