//! The errors of binding, accepting, connecting and authenticating.

use std::{error::Error, fmt, io};

/// Why the handshake of Python's `authkey` failed. The messages are
/// Python's `AuthenticationError` texts where Python has one.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthError {
    /// The peer's answer to our challenge was wrong: it has another key
    /// (Python: `digest received was wrong`).
    WrongDigest,
    /// The peer refused our answer to its challenge: it has another key
    /// (Python: `digest sent was rejected`).
    Rejected,
    /// The peer does not speak the handshake (no challenge, an unknown
    /// digest, a digest of the wrong length).
    Protocol {
        /// What was wrong.
        reason: String,
    },
    /// A handshake message longer than the 256 bytes Python allows.
    TooLarge {
        /// Its announced length.
        len: u64,
    },
    /// The peer closed the connection during the handshake.
    Disconnected,
    /// The handshake took longer than the options allow.
    Timeout,
    /// No random bytes for a challenge.
    Random(String),
    /// The operating system failed during the handshake.
    Io(io::Error),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::WrongDigest => f.write_str("digest received was wrong"),
            AuthError::Rejected => f.write_str("digest sent was rejected"),
            AuthError::Protocol { reason } => write!(f, "protocol error in the handshake: {reason}"),
            AuthError::TooLarge { len } => {
                write!(f, "a handshake message of {len} bytes (at most 256 are read)")
            }
            AuthError::Disconnected => f.write_str("the peer closed the connection during the handshake"),
            AuthError::Timeout => f.write_str("the handshake did not finish in time"),
            AuthError::Random(why) => write!(f, "no random bytes for a challenge: {why}"),
            AuthError::Io(_) => f.write_str("the handshake failed to read or write"),
        }
    }
}

impl Error for AuthError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            AuthError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Listener::bind`](crate::Listener::bind) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BindError {
    /// A listener is alive at the address.
    InUse {
        /// The address.
        address: String,
    },
    /// Something at the address is not a stale socket of this user, so it
    /// is left alone.
    NotOurs {
        /// The address.
        address: String,
        /// What is there.
        reason: String,
    },
    /// This kind of address or these options do not work on this system.
    Unsupported {
        /// What is not supported.
        what: String,
    },
    /// The operating system refused.
    Io {
        /// The address.
        address: String,
        /// The operating system's error.
        source: io::Error,
    },
}

impl BindError {
    pub(crate) fn io(address: String, source: io::Error) -> Self {
        BindError::Io { address, source }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::InUse { address } => write!(f, "a listener is already alive at `{address}`"),
            BindError::NotOurs { address, reason } => {
                write!(f, "cannot listen at `{address}`: {reason}")
            }
            BindError::Unsupported { what } => write!(f, "{what} is not supported on this system"),
            BindError::Io { address, .. } => write!(f, "cannot listen at `{address}`"),
        }
    }
}

impl Error for BindError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            BindError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why a connection was not made (by `accept` or `connect`).
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// No peer came before the deadline (`accept_timeout`).
    Timeout,
    /// The peer runs as a user the options do not accept (or its user is
    /// unknown, as on TCP).
    PeerRefused {
        /// The peer's user id, where the system says.
        uid: Option<u32>,
        /// The user required.
        expected: u32,
    },
    /// The authentication handshake failed.
    Auth(AuthError),
    /// This kind of address or these options do not work on this system.
    Unsupported {
        /// What is not supported.
        what: String,
    },
    /// The operating system refused.
    Io {
        /// The address.
        address: String,
        /// The operating system's error.
        source: io::Error,
    },
}

impl ConnectError {
    /// Whether the handshake refused the peer's key or the peer refused ours.
    pub fn is_auth(&self) -> bool {
        matches!(self, ConnectError::Auth(_))
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Timeout => f.write_str("no connection came before the deadline"),
            ConnectError::PeerRefused {
                uid: Some(uid),
                expected,
            } => {
                write!(f, "the peer runs as user {uid}, not as user {expected}")
            }
            ConnectError::PeerRefused { uid: None, expected } => write!(
                f,
                "the peer's user is unknown (a TCP peer?), and user {expected} is required"
            ),
            ConnectError::Auth(e) => write!(f, "authentication failed: {e}"),
            ConnectError::Unsupported { what } => write!(f, "{what} is not supported on this system"),
            ConnectError::Io { address, .. } => write!(f, "cannot connect at `{address}`"),
        }
    }
}

impl Error for ConnectError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ConnectError::Auth(e) => Some(e),
            ConnectError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<AuthError> for ConnectError {
    fn from(e: AuthError) -> Self {
        ConnectError::Auth(e)
    }
}
