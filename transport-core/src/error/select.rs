//! Errors of waiting on many receivers ([`Select`](crate::Select),
//! [`wait`](crate::wait)).

use std::{error::Error, fmt, io};

/// The error of a blocking [`Select::ready`](crate::Select::ready) and of
/// [`wait`](crate::wait).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadyError {
    /// The backend of receiver `index` cannot track its readiness (its
    /// reactor refused the end, say); nothing was received.
    Untracked {
        /// The receiver's index in the order it was added.
        index: usize,
        /// What the backend said.
        source: io::Error,
    },
}

/// The error of [`Select::try_ready`](crate::Select::try_ready).
#[derive(Debug)]
#[non_exhaustive]
pub enum TryReadyError {
    /// No receiver is ready right now.
    NotReady,
    /// As [`ReadyError::Untracked`].
    Untracked {
        /// The receiver's index in the order it was added.
        index: usize,
        /// What the backend said.
        source: io::Error,
    },
}

/// The error of [`Select::ready_timeout`](crate::Select::ready_timeout) and
/// [`Select::ready_deadline`](crate::Select::ready_deadline).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadyTimeoutError {
    /// No receiver became ready before the deadline.
    Timeout,
    /// As [`ReadyError::Untracked`].
    Untracked {
        /// The receiver's index in the order it was added.
        index: usize,
        /// What the backend said.
        source: io::Error,
    },
}

fn untracked(index: usize, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "the readiness of receiver {index} cannot be tracked")
}

impl fmt::Display for ReadyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadyError::Untracked { index, .. } => untracked(*index, f),
        }
    }
}

impl fmt::Display for TryReadyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryReadyError::NotReady => f.write_str("no receiver is ready"),
            TryReadyError::Untracked { index, .. } => untracked(*index, f),
        }
    }
}

impl fmt::Display for ReadyTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadyTimeoutError::Timeout => f.write_str("timed out waiting for a receiver to be ready"),
            ReadyTimeoutError::Untracked { index, .. } => untracked(*index, f),
        }
    }
}

impl Error for ReadyError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ReadyError::Untracked { source, .. } => Some(source),
        }
    }
}

impl Error for TryReadyError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            TryReadyError::NotReady => None,
            TryReadyError::Untracked { source, .. } => Some(source),
        }
    }
}

impl Error for ReadyTimeoutError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ReadyTimeoutError::Timeout => None,
            ReadyTimeoutError::Untracked { source, .. } => Some(source),
        }
    }
}

impl From<ReadyError> for ReadyTimeoutError {
    fn from(e: ReadyError) -> Self {
        match e {
            ReadyError::Untracked { index, source } => ReadyTimeoutError::Untracked { index, source },
        }
    }
}

impl From<ReadyError> for TryReadyError {
    fn from(e: ReadyError) -> Self {
        match e {
            ReadyError::Untracked { index, source } => TryReadyError::Untracked { index, source },
        }
    }
}
