//! Errors of creating a channel.

use std::{error::Error, fmt, io};

/// A channel could not be created.
#[derive(Debug)]
#[non_exhaustive]
pub enum CreateError {
    /// The configuration asks for something the backend cannot do.
    InvalidConfig {
        /// What is wrong with it.
        reason: String,
    },
    /// The backend does not support this on this platform.
    Unsupported {
        /// What is not supported.
        what: &'static str,
    },
    /// The operating system refused to create a resource.
    Io {
        /// The resource being created ("socket pair", "shared memory segment `x`").
        what: String,
        /// The operating system's error.
        source: io::Error,
    },
}

impl CreateError {
    /// An operating-system error while creating `what`.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        CreateError::Io {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for CreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateError::InvalidConfig { reason } => write!(f, "invalid channel configuration: {reason}"),
            CreateError::Unsupported { what } => write!(f, "{what} is not supported on this platform"),
            CreateError::Io { what, .. } => write!(f, "could not create {what}"),
        }
    }
}

impl Error for CreateError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            CreateError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
