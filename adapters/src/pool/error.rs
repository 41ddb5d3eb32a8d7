//! Why a task of a pool gave no result.

use std::{fmt, process::ExitStatus, sync::Arc, time::Duration};

use crate::process::SpawnError;

/// Why a task gave no result. Every other task of the pool goes on.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TaskError {
    /// The function panicked in the worker (the worker lives on).
    Panicked {
        /// The worker's process id.
        pid: u32,
        /// The panic's message.
        message: String,
    },
    /// The worker exited or was killed while it ran this task (after the
    /// retries the pool was built with). It was replaced. `status` is
    /// `None` only when the worker could not be waited for.
    WorkerDied {
        /// The worker's process id.
        pid: u32,
        /// How it ended.
        status: Option<ExitStatus>,
    },
    /// The task ran past the pool's task timeout; its worker was killed
    /// and replaced.
    Timeout {
        /// The worker's process id.
        pid: u32,
        /// The pool's task timeout.
        after: Duration,
    },
    /// The worker sent something that is not this task's answer; it was
    /// killed and replaced.
    Protocol {
        /// The worker's process id.
        pid: u32,
        /// What was wrong.
        reason: String,
    },
    /// The pool's initializer panicked in a worker, as it did in
    /// [`INIT_FAILURES`](super::INIT_FAILURES) workers in a row: the pool
    /// starts no more workers, and every task it holds or is given fails
    /// with this.
    InitPanicked {
        /// The initializer's name.
        initializer: &'static str,
        /// The process id of the last worker it failed in.
        pid: u32,
        /// The panic's message.
        message: String,
    },
    /// A worker exited or was killed before its initializer returned, in
    /// the last of [`INIT_FAILURES`](super::INIT_FAILURES) workers in a
    /// row whose initializer failed: the pool starts no more workers, and
    /// every task it holds or is given fails with this.
    InitDied {
        /// The initializer's name.
        initializer: &'static str,
        /// The worker's process id.
        pid: u32,
        /// How it ended.
        status: Option<ExitStatus>,
    },
    /// The pool's initializer ran past the task timeout in a worker, the
    /// last of [`INIT_FAILURES`](super::INIT_FAILURES) workers in a row
    /// whose initializer failed (that worker was killed): the pool starts
    /// no more workers, and every task it holds or is given fails with
    /// this.
    InitTimeout {
        /// The initializer's name.
        initializer: &'static str,
        /// The worker's process id.
        pid: u32,
        /// The pool's task timeout.
        after: Duration,
    },
    /// No worker could be started to run it.
    Spawn(Arc<SpawnError>),
    /// The pool was closed before the task was given to it.
    Closed,
    /// The pool was terminated (or dropped) before the task finished.
    Terminated,
}

impl TaskError {
    /// Whether the task's worker died (was killed, exited, or ran past
    /// the timeout).
    pub fn is_worker_died(&self) -> bool {
        matches!(self, TaskError::WorkerDied { .. })
    }

    /// Whether the task ran past the pool's task timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, TaskError::Timeout { .. })
    }

    /// Whether the pool's initializer failed (panicked, ran past the
    /// task timeout, or its worker ended before it returned), so the pool
    /// runs no task.
    pub fn is_init_failed(&self) -> bool {
        matches!(
            self,
            TaskError::InitPanicked { .. } | TaskError::InitDied { .. } | TaskError::InitTimeout { .. }
        )
    }

    /// Whether the function panicked.
    pub fn is_panicked(&self) -> bool {
        matches!(self, TaskError::Panicked { .. })
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked { pid, message } => write!(f, "the task panicked in worker {pid}: {message}"),
            TaskError::WorkerDied {
                pid,
                status: Some(status),
            } => {
                write!(f, "worker {pid} ended while it ran the task ({status})")
            }
            TaskError::WorkerDied { pid, status: None } => {
                write!(f, "worker {pid} ended while it ran the task (status unknown)")
            }
            TaskError::Timeout { pid, after } => {
                write!(
                    f,
                    "the task ran past its timeout of {after:?}; worker {pid} was killed"
                )
            }
            TaskError::Protocol { pid, reason } => {
                write!(
                    f,
                    "worker {pid} sent something that is not the task's answer: {reason}"
                )
            }
            TaskError::InitPanicked {
                initializer,
                pid,
                message,
            } => write!(
                f,
                "the pool's initializer `{initializer}` panicked in worker {pid}: {message}"
            ),
            TaskError::InitDied {
                initializer,
                pid,
                status: Some(status),
            } => write!(
                f,
                "worker {pid} ended before the pool's initializer `{initializer}` returned ({status})"
            ),
            TaskError::InitDied {
                initializer,
                pid,
                status: None,
            } => write!(
                f,
                "worker {pid} ended before the pool's initializer `{initializer}` returned (status unknown)"
            ),
            TaskError::InitTimeout {
                initializer,
                pid,
                after,
            } => write!(
                f,
                "the pool's initializer `{initializer}` ran past the task timeout of {after:?}; worker {pid} was killed"
            ),
            TaskError::Spawn(_) => f.write_str("no worker could be started for the task"),
            TaskError::Closed => f.write_str("the pool is closed"),
            TaskError::Terminated => f.write_str("the pool was terminated before the task finished"),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TaskError::Spawn(e) => Some(&**e),
            _ => None,
        }
    }
}
