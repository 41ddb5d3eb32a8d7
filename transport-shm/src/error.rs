//! Errors of creating and opening shared memory segments, and of the shared
//! state types built on them.

use std::{error::Error, fmt, io};

use transport_core::{CreateError, OpenError};

/// A shared memory segment could not be created or opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum SegmentError {
    /// The operating system refused to create the segment.
    Create {
        /// The segment's name.
        name: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The operating system refused to open the segment.
    Open {
        /// The segment's name.
        name: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The segment no longer exists (every participant left or died).
    Gone {
        /// The segment's name.
        name: String,
    },
    /// The segment exists but is not what was expected (another kind of
    /// object, another layout, a foreign object of the same name).
    Invalid {
        /// The segment's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The segment, or the hand-off being claimed in it, is not for this
    /// process: it belongs to another user, or was handed to another
    /// process.
    Refused {
        /// The segment's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The hand-off being claimed was already used by another process (a
    /// command spawned twice, say).
    AlreadyUsed {
        /// The segment's name.
        name: String,
    },
    /// The segment's table of participants is full.
    TooManyParticipants {
        /// The segment's name.
        name: String,
        /// How many participants a segment holds.
        limit: usize,
    },
    /// The requested size cannot be represented or mapped.
    TooLarge {
        /// The size asked for, in bytes.
        size: usize,
    },
}

impl fmt::Display for SegmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SegmentError::Create { name, .. } => write!(f, "could not create shared memory segment `{name}`"),
            SegmentError::Open { name, .. } => write!(f, "could not open shared memory segment `{name}`"),
            SegmentError::Gone { name } => write!(f, "shared memory segment `{name}` no longer exists"),
            SegmentError::Invalid { name, reason } => {
                write!(f, "shared memory segment `{name}` is not usable: {reason}")
            }
            SegmentError::Refused { name, reason } => {
                write!(f, "shared memory segment `{name}` refused this process: {reason}")
            }
            SegmentError::AlreadyUsed { name } => write!(
                f,
                "the hand-off of shared memory segment `{name}` was already used by another process"
            ),
            SegmentError::TooManyParticipants { name, limit } => write!(
                f,
                "shared memory segment `{name}` already has its maximum of {limit} participants"
            ),
            SegmentError::TooLarge { size } => {
                write!(f, "a shared memory segment of {size} bytes is too large")
            }
        }
    }
}

impl Error for SegmentError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SegmentError::Create { source, .. } | SegmentError::Open { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<SegmentError> for CreateError {
    fn from(e: SegmentError) -> Self {
        match e {
            SegmentError::Create { name, source } | SegmentError::Open { name, source } => {
                CreateError::io(format!("shared memory segment `{name}`"), source)
            }
            SegmentError::TooLarge { size } => CreateError::InvalidConfig {
                reason: format!("a shared memory segment of {size} bytes is too large"),
            },
            other => CreateError::io("a shared memory segment", io::Error::other(other.to_string())),
        }
    }
}

impl From<SegmentError> for OpenError {
    fn from(e: SegmentError) -> Self {
        match e {
            SegmentError::Gone { name } => OpenError::Gone {
                what: format!("shared memory segment `{name}`"),
            },
            SegmentError::Create { name, source } | SegmentError::Open { name, source } => {
                OpenError::io(format!("shared memory segment `{name}`"), source)
            }
            SegmentError::Refused { name, reason } => {
                OpenError::refused(format!("shared memory segment `{name}`"), reason)
            }
            SegmentError::AlreadyUsed { name } => {
                OpenError::already_used(format!("the hand-off of shared memory segment `{name}`"))
            }
            other => OpenError::malformed(other.to_string()),
        }
    }
}
