//! `Builder`: how many workers, and how they are treated.

use std::{ffi::OsStr, marker::PhantomData, num::NonZeroUsize, thread, time::Duration};

use transport_core::Message;

use super::{config::Config, handle::Pool};
use crate::process::{Entry, InitCall, Initializer, SpawnError, Spawner};

/// Builds a [`Pool`]: `Pool::builder(&ENTRY).workers(4).build()?`.
#[derive(Debug)]
pub struct Builder<A, R> {
    config: Config,
    types: PhantomData<fn(A) -> R>,
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> Builder<A, R> {
    pub(crate) fn new(entry: &'static Entry<A, R>) -> Self {
        let workers = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Builder {
            types: PhantomData,
            config: Config {
                entry: entry.name(),
                workers,
                prefetch: 8,
                window: 0,
                chunksize: 1,
                auto_chunksize: false,
                max_tasks_per_child: None,
                task_timeout: None,
                retries: 0,
                spawner: Spawner::new(),
                init: None,
            },
        }
    }

    /// How many worker processes (default: the available cores; at least
    /// one).
    pub fn workers(mut self, n: usize) -> Self {
        self.config.workers = n.max(1);
        self
    }

    /// How many tasks each worker is sent ahead of its answers (default 8;
    /// at least one). More keeps a worker busy between a result and the
    /// next task; one is fairest for long tasks, since a task waits behind
    /// those its worker holds.
    pub fn prefetch(mut self, n: usize) -> Self {
        self.config.prefetch = n.max(1);
        self
    }

    /// How many tasks `map`, `imap`, `imap_unordered` and their async
    /// forms put in one message to a worker (default 1; at least one;
    /// Python's `chunksize`). A worker runs a chunk's tasks one after
    /// another and sends their results back together in one message, so
    /// a large chunk makes tiny tasks cheap. A chunk is also the unit of
    /// loss: a worker that dies while it runs a chunk fails every task of
    /// that chunk (none was answered yet) with
    /// [`TaskErrorKind::WorkerDied`](super::TaskErrorKind::WorkerDied), or runs
    /// the whole chunk again when [`retries`](Self::retries) allow; the
    /// [`task_timeout`](Self::task_timeout) bounds the whole chunk. The
    /// `_chunked` operations ([`Pool::map_chunked`] and the others) take
    /// a chunk size for one call. `apply` is always one task.
    pub fn chunksize(mut self, n: usize) -> Self {
        self.config.chunksize = n.max(1);
        self.config.auto_chunksize = false;
        self
    }

    /// Lets [`Pool::map`] and [`Pool::map_async`] pick the chunk size of
    /// each call as Python's `map` does: the number of arguments over four
    /// times the workers, rounded up (so each worker gets about four
    /// chunks). The many tiny tasks of one `map` then cost a few messages
    /// instead of two each, at the price [`chunksize`](Self::chunksize)
    /// describes: a worker that dies takes its whole chunk with it. The
    /// arguments of such a `map` are collected first, to be counted.
    /// `imap`, `imap_unordered` and their stream, whose input may not end,
    /// keep the pool's `chunksize`; the `_chunked` operations keep theirs.
    pub fn auto_chunksize(mut self) -> Self {
        self.config.auto_chunksize = true;
        self
    }

    /// How many tasks an `imap` or `imap_unordered` keeps in the pool,
    /// answers not yet taken included (default: 64 per worker, and never
    /// fewer than the workers' prefetch): memory stays flat over an
    /// endless input.
    pub fn window(mut self, n: usize) -> Self {
        self.config.window = n.max(1);
        self
    }

    /// Replaces a worker after it has run `n` tasks (Python's
    /// `maxtasksperchild`); no task is lost: the worker is sent at most
    /// `n`, answers them, and exits. A chunk is never split, so with
    /// chunks a worker is sent chunks while it has been sent fewer than
    /// `n` tasks: it may run up to a chunk less one more.
    pub fn max_tasks_per_child(mut self, n: usize) -> Self {
        self.config.max_tasks_per_child = Some(n.max(1));
        self
    }

    /// Kills a worker whose task runs longer than `timeout` (counted from
    /// when the worker starts on it), replaces it, and fails that task with
    /// [`TaskErrorKind::Timeout`](super::TaskErrorKind::Timeout). With
    /// [`chunksize`](Self::chunksize) above one the timeout is per chunk:
    /// it bounds the whole chunk, and every task of a chunk past it fails.
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.config.task_timeout = Some(timeout);
        self
    }

    /// Runs a task again, on another worker, up to `n` times when its
    /// worker dies while running it (default 0: the task fails with
    /// [`TaskErrorKind::WorkerDied`](super::TaskErrorKind::WorkerDied)). A task
    /// that crashes every worker it meets costs `n + 1` workers.
    pub fn retries(mut self, n: u32) -> Self {
        self.config.retries = n;
        self
    }

    /// Runs `initializer` with `arg` in every worker process once, before
    /// its first task (Python's `initializer` and `initargs`), in the
    /// workers that replace others too (after a crash, a timeout or
    /// [`max_tasks_per_child`](Self::max_tasks_per_child)). Each worker is
    /// sent `arg` as a message; the task function sees what the
    /// initializer left (a process-global `OnceLock`, say). Register the
    /// initializer with [`process::init`](crate::process::init()) beside
    /// the entry.
    ///
    /// Where Python's pool starts workers forever and its `map` hangs, an
    /// initializer that panics, or a worker that ends before its
    /// initializer returned, is loud: after
    /// [`INIT_FAILURES`](super::INIT_FAILURES) such workers in a row (with
    /// no worker's initializer returning in between) the pool starts no
    /// more workers, kills those it has, and every task it holds or is
    /// given fails with
    /// [`TaskErrorKind::InitPanicked`](super::TaskErrorKind::InitPanicked) (the
    /// initializer's name and the panic's message) or
    /// [`TaskErrorKind::InitDied`](super::TaskErrorKind::InitDied).
    ///
    /// The [`task_timeout`](Self::task_timeout), when set, bounds the
    /// initializer too (separately: its time does not count against the
    /// worker's first task): a worker whose initializer runs past it is
    /// killed, and counts as a failure
    /// ([`TaskErrorKind::InitTimeout`](super::TaskErrorKind::InitTimeout)).
    /// Without a timeout, an initializer that never returns holds the
    /// tasks as a task that never returns would.
    pub fn initializer<I: Message + Send + Sync + 'static>(
        mut self,
        initializer: &'static Initializer<I>,
        arg: I,
    ) -> Self {
        self.config.init = Some(InitCall::shared(initializer, arg));
        self
    }

    /// Adds a command-line argument to every worker (a test binary, run
    /// again as a worker, needs `--exact <test> --nocapture`).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.config.spawner.arg(arg);
        self
    }

    /// Adds command-line arguments to every worker.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.config.spawner.args(args);
        self
    }

    /// Sets an environment variable of every worker.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.config.spawner.env(key, value);
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    /// [`SpawnError`] when no worker can be started. A worker that cannot
    /// be started while others can leaves its place empty, tried again
    /// (like the place of a worker that died) while there is work.
    pub fn build(mut self) -> Result<Pool<A, R>, SpawnError> {
        if self.config.window == 0 {
            self.config.window = self.config.workers * 64;
        }
        self.config.window = self.config.window.max(self.config.workers * self.config.prefetch);
        Pool::start(self.config)
    }
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> Pool<A, R> {
    /// A pool of `workers` processes running `entry`, with the defaults of
    /// [`Builder`].
    ///
    /// # Errors
    /// [`SpawnError`] when no worker can be started (see
    /// [`Builder::build`]).
    pub fn new(entry: &'static Entry<A, R>, workers: usize) -> Result<Self, SpawnError> {
        Self::builder(entry).workers(workers).build()
    }

    /// A builder for a pool running `entry`.
    pub fn builder(entry: &'static Entry<A, R>) -> Builder<A, R> {
        Builder::new(entry)
    }
}
