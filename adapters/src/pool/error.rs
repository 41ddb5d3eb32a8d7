//! Why a task of a pool gave no result: `TaskError`, one pointer wide,
//! and `TaskErrorKind`, what it holds.

use std::{fmt, process::ExitStatus, sync::Arc, time::Duration};

use crate::process::SpawnError;

/// Why a task gave no result. Every other task of the pool goes on.
///
/// What failed and why is its [`kind`](TaskError::kind), kept in a box so
/// that a `Result<R, TaskError>` is no larger than `R` and a pointer: a
/// `map` of many small results copies and holds a third of what it would
/// with the kind inline (which is up to 40 bytes).
///
/// ```
/// use transport_adapters::pool::{TaskError, TaskErrorKind};
///
/// fn explain(error: &TaskError) -> String {
///     match error.kind() {
///         TaskErrorKind::WorkerDied { pid, .. } => format!("worker {pid} died"),
///         TaskErrorKind::Timeout { after, .. } => format!("too slow ({after:?})"),
///         _ => error.to_string(),
///     }
/// }
/// let error = TaskError::from(TaskErrorKind::Closed);
/// assert_eq!(explain(&error), "the pool is closed");
/// assert_eq!(std::mem::size_of::<Result<u64, TaskError>>(), 16);
/// ```
#[derive(Clone)]
pub struct TaskError(Box<TaskErrorKind>);

/// What made a task fail: the kind of a [`TaskError`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TaskErrorKind {
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
    /// What failed and why.
    pub fn kind(&self) -> &TaskErrorKind {
        &self.0
    }

    /// What failed and why, taken out of the box.
    pub fn into_kind(self) -> TaskErrorKind {
        *self.0
    }

    /// The process id of the worker the task failed in, where one did.
    pub fn pid(&self) -> Option<u32> {
        match *self.0 {
            TaskErrorKind::Panicked { pid, .. }
            | TaskErrorKind::WorkerDied { pid, .. }
            | TaskErrorKind::Timeout { pid, .. }
            | TaskErrorKind::Protocol { pid, .. }
            | TaskErrorKind::InitPanicked { pid, .. }
            | TaskErrorKind::InitDied { pid, .. }
            | TaskErrorKind::InitTimeout { pid, .. } => Some(pid),
            TaskErrorKind::Spawn(_) | TaskErrorKind::Closed | TaskErrorKind::Terminated => None,
        }
    }

    /// Whether the task's worker died (was killed, or exited).
    pub fn is_worker_died(&self) -> bool {
        matches!(*self.0, TaskErrorKind::WorkerDied { .. })
    }

    /// Whether the task ran past the pool's task timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(*self.0, TaskErrorKind::Timeout { .. })
    }

    /// Whether the pool's initializer failed (panicked, ran past the
    /// task timeout, or its worker ended before it returned), so the pool
    /// runs no task.
    pub fn is_init_failed(&self) -> bool {
        matches!(
            *self.0,
            TaskErrorKind::InitPanicked { .. }
                | TaskErrorKind::InitDied { .. }
                | TaskErrorKind::InitTimeout { .. }
        )
    }

    /// Whether the function panicked.
    pub fn is_panicked(&self) -> bool {
        matches!(*self.0, TaskErrorKind::Panicked { .. })
    }
}

impl From<TaskErrorKind> for TaskError {
    fn from(kind: TaskErrorKind) -> Self {
        TaskError(Box::new(kind))
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Display for TaskErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskErrorKind::Panicked { pid, message } => {
                write!(f, "the task panicked in worker {pid}: {message}")
            }
            TaskErrorKind::WorkerDied {
                pid,
                status: Some(status),
            } => {
                write!(f, "worker {pid} ended while it ran the task ({status})")
            }
            TaskErrorKind::WorkerDied { pid, status: None } => {
                write!(f, "worker {pid} ended while it ran the task (status unknown)")
            }
            TaskErrorKind::Timeout { pid, after } => {
                write!(
                    f,
                    "the task ran past its timeout of {after:?}; worker {pid} was killed"
                )
            }
            TaskErrorKind::Protocol { pid, reason } => {
                write!(
                    f,
                    "worker {pid} sent something that is not the task's answer: {reason}"
                )
            }
            TaskErrorKind::InitPanicked {
                initializer,
                pid,
                message,
            } => write!(
                f,
                "the pool's initializer `{initializer}` panicked in worker {pid}: {message}"
            ),
            TaskErrorKind::InitDied {
                initializer,
                pid,
                status: Some(status),
            } => write!(
                f,
                "worker {pid} ended before the pool's initializer `{initializer}` returned ({status})"
            ),
            TaskErrorKind::InitDied {
                initializer,
                pid,
                status: None,
            } => write!(
                f,
                "worker {pid} ended before the pool's initializer `{initializer}` returned (status unknown)"
            ),
            TaskErrorKind::InitTimeout {
                initializer,
                pid,
                after,
            } => write!(
                f,
                "the pool's initializer `{initializer}` ran past the task timeout of {after:?}; worker {pid} was killed"
            ),
            TaskErrorKind::Spawn(_) => f.write_str("no worker could be started for the task"),
            TaskErrorKind::Closed => f.write_str("the pool is closed"),
            TaskErrorKind::Terminated => f.write_str("the pool was terminated before the task finished"),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            TaskErrorKind::Spawn(e) => Some(&**e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_names_its_kind_and_worker() {
        let died = TaskError::from(TaskErrorKind::WorkerDied { pid: 7, status: None });
        assert!(died.is_worker_died() && !died.is_timeout() && !died.is_panicked());
        assert_eq!(died.pid(), Some(7));
        assert_eq!(
            died.to_string(),
            "worker 7 ended while it ran the task (status unknown)"
        );
        let init = TaskError::from(TaskErrorKind::InitTimeout {
            initializer: "setup",
            pid: 9,
            after: Duration::from_secs(1),
        });
        assert!(init.is_init_failed());
        assert_eq!(init.pid(), Some(9));
        let closed = TaskError::from(TaskErrorKind::Closed);
        assert_eq!(closed.pid(), None);
        assert!(matches!(closed.clone().into_kind(), TaskErrorKind::Closed));
        assert_eq!(format!("{closed:?}"), "Closed");
        // A result of a small value stays small: the kind is boxed.
        assert!(std::mem::size_of::<Result<u64, TaskError>>() <= 16);
    }
}
