//! `Builder`: how many workers, and how they are treated.

use std::{ffi::OsStr, marker::PhantomData, num::NonZeroUsize, thread, time::Duration};

use transport_core::Message;

use super::{config::Config, handle::Pool};
use crate::process::{Entry, SpawnError, Spawner};

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
                max_tasks_per_child: None,
                task_timeout: None,
                retries: 0,
                spawner: Spawner::new(),
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
    /// `n`, answers them, and exits.
    pub fn max_tasks_per_child(mut self, n: usize) -> Self {
        self.config.max_tasks_per_child = Some(n.max(1));
        self
    }

    /// Kills a worker whose task runs longer than `timeout` (counted from
    /// when the worker starts on it), replaces it, and fails that task with
    /// [`TaskError::Timeout`](super::TaskError::Timeout).
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.config.task_timeout = Some(timeout);
        self
    }

    /// Runs a task again, on another worker, up to `n` times when its
    /// worker dies while running it (default 0: the task fails with
    /// [`TaskError::WorkerDied`](super::TaskError::WorkerDied)). A task
    /// that crashes every worker it meets costs `n + 1` workers.
    pub fn retries(mut self, n: u32) -> Self {
        self.config.retries = n;
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
    /// [`SpawnError`] when a worker cannot be started; those already
    /// started are killed and reaped.
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
    /// [`SpawnError`] when a worker cannot be started.
    pub fn new(entry: &'static Entry<A, R>, workers: usize) -> Result<Self, SpawnError> {
        Self::builder(entry).workers(workers).build()
    }

    /// A builder for a pool running `entry`.
    pub fn builder(entry: &'static Entry<A, R>) -> Builder<A, R> {
        Builder::new(entry)
    }
}
