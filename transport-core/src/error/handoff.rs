//! Errors of handing an endpoint to a child process and opening it there.

use std::{error::Error, fmt, io};

/// An endpoint could not be prepared for a child process.
#[derive(Debug)]
#[non_exhaustive]
pub enum HandoffError {
    /// The endpoint name is empty or has characters other than ASCII
    /// letters, digits and `_`.
    InvalidName {
        /// The name given.
        name: String,
    },
    /// This kind of endpoint cannot cross processes.
    Unsupported {
        /// What cannot be handed off, and why.
        what: &'static str,
    },
    /// The operating system refused to share a resource with the child.
    Io {
        /// What was being shared.
        what: String,
        /// The operating system's error.
        source: io::Error,
    },
}

impl fmt::Display for HandoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandoffError::InvalidName { name } => write!(
                f,
                "endpoint name `{name}` is invalid: use ASCII letters, digits and `_`"
            ),
            HandoffError::Unsupported { what } => write!(f, "{what} cannot be handed to another process"),
            HandoffError::Io { what, .. } => write!(f, "could not share {what} with the child process"),
        }
    }
}

impl Error for HandoffError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            HandoffError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A hand-off token could not be turned back into an endpoint.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// The token text does not have the form this endpoint writes.
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The token was already opened once in this process; an endpoint
    /// cannot be opened twice from the same hand-off.
    AlreadyOpened,
    /// The resource the token names no longer exists (its creator is gone).
    Gone {
        /// What is gone.
        what: String,
    },
    /// The hand-off was already used: another process opened the endpoint
    /// first, or the same prepared command was spawned twice.
    AlreadyUsed {
        /// What was already opened.
        what: String,
    },
    /// The other side refused this process: it is not the child the
    /// hand-off was made for (another process, another user), or the
    /// connection was turned away.
    Refused {
        /// What refused.
        what: String,
        /// Why, as the refusing side gave it or as this side saw it.
        reason: String,
    },
    /// The operating system refused to open the resource.
    Io {
        /// What was being opened.
        what: String,
        /// The operating system's error.
        source: io::Error,
    },
}

impl OpenError {
    /// A malformed-token error.
    pub fn malformed(reason: impl Into<String>) -> Self {
        OpenError::Malformed {
            reason: reason.into(),
        }
    }

    /// An already-used error for `what`.
    pub fn already_used(what: impl Into<String>) -> Self {
        OpenError::AlreadyUsed { what: what.into() }
    }

    /// A refusal of this process by `what`, for `reason`.
    pub fn refused(what: impl Into<String>, reason: impl Into<String>) -> Self {
        OpenError::Refused {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// An operating-system error while opening `what`.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        OpenError::Io {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Malformed { reason } => write!(f, "hand-off token is malformed: {reason}"),
            OpenError::AlreadyOpened => f.write_str("hand-off token was already opened in this process"),
            OpenError::Gone { what } => write!(f, "{what} no longer exists"),
            OpenError::AlreadyUsed { what } => write!(f, "{what} was already used by another process"),
            OpenError::Refused { what, reason } => write!(f, "{what} refused this process: {reason}"),
            OpenError::Io { what, .. } => write!(f, "could not open {what}"),
        }
    }
}

impl Error for OpenError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            OpenError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// [`from_env`](crate::from_env) could not open the named endpoint.
#[derive(Debug)]
#[non_exhaustive]
pub enum FromEnvError {
    /// This process was not given the endpoint.
    Missing {
        /// The endpoint name.
        name: String,
        /// The environment variable that should have carried it.
        var: String,
    },
    /// The environment variable is not valid Unicode.
    NotUnicode {
        /// The environment variable.
        var: String,
    },
    /// The parent handed over a different kind of endpoint.
    WrongKind {
        /// The endpoint name.
        name: String,
        /// The kind this process asked for.
        expected: &'static str,
        /// The kind the parent handed over.
        found: String,
    },
    /// The parent wrote messages in another archive format (rkyv's byte
    /// order, alignment or pointer width differ between the two builds).
    WrongFormat {
        /// The endpoint name.
        name: String,
        /// The format this process reads.
        expected: &'static str,
        /// The format the parent's token names.
        found: String,
    },
    /// The parent's endpoint carries a different message type, or the
    /// same type with another layout or schema version: the two builds
    /// disagree on what a message is.
    WrongType {
        /// The endpoint name.
        name: String,
        /// The fingerprint of the message type this process asked for
        /// (name, archived size and alignment, schema version).
        expected: String,
        /// The fingerprint of the parent's endpoint's message type.
        found: String,
    },
    /// The parent's token names no message type (it was written for an
    /// untyped raw end), but a typed endpoint was asked for: nothing says
    /// the messages are of the type asked for.
    Untyped {
        /// The endpoint name.
        name: String,
        /// The message type this process asked for.
        expected: String,
    },
    /// The token was right but the endpoint could not be opened.
    Open {
        /// The endpoint name.
        name: String,
        /// Why it could not be opened.
        source: OpenError,
    },
}

impl fmt::Display for FromEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FromEnvError::Missing { name, var } => write!(
                f,
                "this process was not given endpoint `{name}` (environment variable {var} is not set)"
            ),
            FromEnvError::NotUnicode { var } => write!(f, "environment variable {var} is not valid unicode"),
            FromEnvError::WrongKind {
                name,
                expected,
                found,
            } => write!(
                f,
                "endpoint `{name}` is a `{found}` endpoint, but a `{expected}` endpoint was asked for"
            ),
            FromEnvError::WrongFormat {
                name,
                expected,
                found,
            } => write!(
                f,
                "endpoint `{name}` was written in archive format `{found}`, but this process reads `{expected}`"
            ),
            FromEnvError::WrongType {
                name,
                expected,
                found,
            } => write!(
                f,
                "endpoint `{name}` carries {found}, but this process asked for {expected}"
            ),
            FromEnvError::Untyped { name, expected } => write!(
                f,
                "endpoint `{name}` was handed over without a message type, but {expected} was asked for"
            ),
            FromEnvError::Open { name, .. } => write!(f, "endpoint `{name}` could not be opened"),
        }
    }
}

impl Error for FromEnvError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            FromEnvError::Open { source, .. } => Some(source),
            _ => None,
        }
    }
}
