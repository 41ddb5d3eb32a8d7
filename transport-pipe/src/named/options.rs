//! [`Options`]: how a listener or client talks: its framing, its key, the
//! peer it accepts, the size of messages.

use std::{fmt, time::Duration};

use transport_core::DEFAULT_MAX_MESSAGE_SIZE;

use crate::python::frame::Framing;

/// How long a blocking receive looks for a message before it sleeps, by
/// default (see [`Options::spin`]).
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// Which user a peer must run as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PeerUser {
    /// Anyone who can reach the address (Python's behaviour; a socket file
    /// is still owner-only).
    #[default]
    Any,
    /// The user this process runs as (effective uid).
    Same,
    /// This user id.
    Uid(u32),
}

/// How a [`Listener`](crate::Listener) or [`Client`](crate::Client)
/// talks. Both sides must agree on the framing and the key.
///
/// ```
/// use transport_pipe::Options;
///
/// let rust_to_rust = Options::new().authkey(b"secret").require_same_user();
/// let with_python = Options::python().authkey(b"secret");
/// ```
#[derive(Clone)]
pub struct Options {
    pub(crate) framing: Framing,
    pub(crate) authkey: Option<Vec<u8>>,
    pub(crate) peer_user: PeerUser,
    pub(crate) max_message_size: usize,
    pub(crate) handshake_timeout: Duration,
    pub(crate) spin: Duration,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("Options")
            .field("framing", &self.framing)
            .field("authkey", &self.authkey.as_ref().map(|_| "<set>"))
            .field("peer_user", &self.peer_user)
            .field("max_message_size", &self.max_message_size)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("spin", &self.spin)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

impl Options {
    /// Rust to Rust: this crate's framing (typed messages, read in place),
    /// no key, any user, 1 GiB messages, 10 s for the handshake, and
    /// [`DEFAULT_SPIN`] of looking before a receive sleeps.
    pub fn new() -> Options {
        Options {
            framing: Framing::Native,
            authkey: None,
            peer_user: PeerUser::Any,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            handshake_timeout: Duration::from_secs(10),
            spin: DEFAULT_SPIN,
        }
    }

    /// To or from Python's `multiprocessing.connection`: Python's framing,
    /// otherwise as [`Options::new`].
    pub fn python() -> Options {
        Options {
            framing: Framing::Python,
            ..Options::new()
        }
    }

    /// Requires Python's challenge and response with `key`, both ways
    /// (Python's `authkey`; an empty key means none, as in Python).
    pub fn authkey(mut self, key: impl AsRef<[u8]>) -> Options {
        let key = key.as_ref();
        self.authkey = (!key.is_empty()).then(|| key.to_vec());
        self
    }

    /// Accepts only a peer that runs as this process's user (on a local
    /// socket; a TCP peer's user is unknown, so it is refused).
    pub fn require_same_user(self) -> Options {
        self.require(PeerUser::Same)
    }

    /// Which user the peer must run as.
    pub fn require(mut self, user: PeerUser) -> Options {
        self.peer_user = user;
        self
    }

    /// The largest message either way, in bytes.
    pub fn max_message_size(mut self, bytes: usize) -> Options {
        self.max_message_size = bytes;
        self
    }

    /// How long the authentication handshake may take before the
    /// connection is dropped (a peer that says nothing cannot hold up
    /// `accept` for longer).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Options {
        self.handshake_timeout = timeout;
        self
    }

    /// How long a blocking receive keeps looking for a message (without
    /// sleeping) before it asks the operating system to wake it: a reply
    /// that comes within it costs no wake-up, which on a busy or virtual
    /// machine is most of a round trip. `Duration::ZERO` sleeps at once.
    /// The price is up to this much CPU time per receive that has to wait.
    pub fn spin(mut self, spin: Duration) -> Options {
        self.spin = spin;
        self
    }

    /// The framing.
    pub fn framing(&self) -> Framing {
        self.framing
    }
}
