//! The errors of this crate's own operations (connecting, queue-wide
//! operations); sends and receives use transport-core's errors.

use std::{error::Error as StdError, fmt, io};

/// A connection to a NATS server could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server list is empty or a server address does not parse.
    InvalidServers {
        /// The list as given (credentials removed).
        servers: String,
    },
    /// A credentials, key or certificate file named in the environment
    /// could not be read.
    Credentials {
        /// The environment variable that named it.
        var: &'static str,
        /// The file's error.
        source: io::Error,
    },
    /// The client could not reach or log in to the server.
    Connect {
        /// The servers tried (credentials removed).
        servers: String,
        /// The client's error.
        source: async_nats::ConnectError,
    },
    /// No server answered in time.
    TimedOut {
        /// The servers tried (credentials removed).
        servers: String,
    },
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::InvalidServers { servers } => {
                write!(f, "no valid nats server address in `{servers}`")
            }
            ConnectError::Credentials { var, .. } => write!(f, "could not read the file named by {var}"),
            ConnectError::Connect { servers, .. } => {
                write!(f, "could not connect to nats server `{servers}`")
            }
            ConnectError::TimedOut { servers } => write!(f, "nats server `{servers}` did not answer in time"),
        }
    }
}

impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ConnectError::Credentials { source, .. } => Some(source),
            ConnectError::Connect { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl ConnectError {
    /// As an `io::Error`, for transport-core's creation and open errors.
    pub(crate) fn into_io(self) -> io::Error {
        let kind = match &self {
            ConnectError::InvalidServers { .. } => io::ErrorKind::InvalidInput,
            ConnectError::TimedOut { .. } => io::ErrorKind::TimedOut,
            _ => io::ErrorKind::ConnectionRefused,
        };
        io::Error::new(kind, self)
    }
}

/// A queue-wide operation failed ([`Queue::len`](crate::Queue::len),
/// [`join`](crate::Queue::join), [`task_done`](crate::Queue::task_done)).
#[derive(Debug)]
#[non_exhaustive]
pub enum QueueError {
    /// The operation needs JetStream: the queue delivers at most once, and
    /// core NATS keeps no count of messages.
    NeedsAtLeastOnce {
        /// The operation.
        what: &'static str,
    },
    /// `task_done` was called more times than items were taken.
    TooManyTaskDone,
    /// The wait ran out.
    Timeout,
    /// The server was unreachable for longer than the outage limit, or the
    /// queue's stream is gone.
    Disconnected,
    /// The server refused the request.
    Server {
        /// What was asked.
        what: &'static str,
        /// The server's or the client's error.
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::NeedsAtLeastOnce { what } => {
                write!(
                    f,
                    "{what} needs an at-least-once queue: core nats keeps no count of messages"
                )
            }
            QueueError::TooManyTaskDone => f.write_str("task_done called more times than items were taken"),
            QueueError::Timeout => f.write_str("timed out waiting for the queue"),
            QueueError::Disconnected => f.write_str("the queue's server or stream is gone"),
            QueueError::Server { what, .. } => write!(f, "the nats server refused {what}"),
        }
    }
}

impl StdError for QueueError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            QueueError::Server { source, .. } => Some(&**source),
            _ => None,
        }
    }
}
