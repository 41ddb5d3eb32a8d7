//! The errors of the queue operations that transport-core does not cover:
//! `len`, `close`, `task_done` and `join`.

use std::{error::Error, fmt, io};

/// Why a queue operation other than put or get failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum QueueError {
    /// The process that created the queue is gone, so the queue is too.
    Disconnected,
    /// `task_done` was called more times than items were put.
    TooManyTaskDone,
    /// The wait ran out.
    Timeout,
    /// The operating system refused to carry a request to the queue.
    Io(io::Error),
}

impl QueueError {
    /// Whether the queue is gone.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, QueueError::Disconnected)
    }

    /// Whether the wait ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, QueueError::Timeout)
    }
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::Disconnected => f.write_str("queue is gone: the process that created it has exited"),
            QueueError::TooManyTaskDone => f.write_str("task_done called more times than items were put"),
            QueueError::Timeout => f.write_str("timed out waiting for the queue"),
            QueueError::Io(_) => f.write_str("operating system error while talking to the queue"),
        }
    }
}

impl Error for QueueError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            QueueError::Io(e) => Some(e),
            _ => None,
        }
    }
}
