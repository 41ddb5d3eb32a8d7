//! The backend this build uses, chosen by exactly one feature, and the
//! names and constructors that follow from it.

use transport_core::{Capabilities, ChannelConfig, CreateError, Duplex, Message, Transport};

#[cfg(not(any(feature = "queue", feature = "pipe", feature = "shm")))]
compile_error!(
    "transport-adapters needs one backend feature, and none of `queue`, `pipe`, `shm` is enabled: \
     keep the default (`queue`) or choose one, e.g. `--no-default-features --features pipe`"
);

#[cfg(all(feature = "queue", feature = "pipe", feature = "shm"))]
compile_error!(
    "transport-adapters takes exactly one backend feature, and `queue`, `pipe` and `shm` are all \
     enabled: choose one (`queue` is the default, so `pipe` or `shm` needs `--no-default-features`, \
     or `default-features = false` in Cargo.toml)"
);

#[cfg(all(feature = "queue", feature = "pipe", not(feature = "shm")))]
compile_error!(
    "transport-adapters takes exactly one backend feature, and both `queue` and `pipe` are enabled: \
     `queue` is the default, so choose `pipe` with `--no-default-features --features pipe` (or \
     `default-features = false` in Cargo.toml)"
);

#[cfg(all(feature = "queue", feature = "shm", not(feature = "pipe")))]
compile_error!(
    "transport-adapters takes exactly one backend feature, and both `queue` and `shm` are enabled: \
     `queue` is the default, so choose `shm` with `--no-default-features --features shm` (or \
     `default-features = false` in Cargo.toml)"
);

#[cfg(all(feature = "pipe", feature = "shm", not(feature = "queue")))]
compile_error!(
    "transport-adapters takes exactly one backend feature, and both `pipe` and `shm` are enabled: \
     choose one"
);

#[cfg(feature = "queue")]
mod chosen {
    /// The backend: `transport-queue` (feature `queue`).
    pub type Backend = transport_queue::QueueTransport;
    /// The two-way backend: two queues per connection.
    pub type DuplexBackend = crate::Paired<Backend>;
}

#[cfg(all(feature = "pipe", not(feature = "queue")))]
mod chosen {
    /// The backend: `transport-pipe` (feature `pipe`).
    pub type Backend = transport_pipe::Pipe;
    /// The two-way backend: the pipe's own two-way ends.
    pub type DuplexBackend = transport_pipe::Pipe;
}

#[cfg(all(feature = "shm", not(any(feature = "queue", feature = "pipe"))))]
mod chosen {
    /// The backend: `transport-shm`'s multi-producer channel (feature
    /// `shm`).
    pub type Backend = transport_shm::ShmMpsc;
    /// The two-way backend: two shared-memory channels per connection.
    pub type DuplexBackend = crate::Paired<Backend>;
}

// With no backend feature the `compile_error!` above is the error to read;
// this keeps the rest of the crate from adding more.
#[cfg(not(any(feature = "queue", feature = "pipe", feature = "shm")))]
mod chosen {
    /// No backend was chosen.
    pub type Backend = transport_core::local::Local;
    /// No backend was chosen.
    pub type DuplexBackend = transport_core::local::Local;
}

pub use chosen::{Backend, DuplexBackend};

/// The raw sending end of the chosen backend.
pub type BackendSender = <Backend as Transport>::Sender;
/// The raw receiving end of the chosen backend.
pub type BackendReceiver = <Backend as Transport>::Receiver;
/// The raw two-way end of the chosen backend.
pub type BackendEnd = <DuplexBackend as Duplex>::End;

/// A typed sender of the chosen backend.
pub type Sender<T> = transport_core::Sender<T, BackendSender>;
/// A typed receiver of the chosen backend.
pub type Receiver<T> = transport_core::Receiver<T, BackendReceiver>;
/// A typed two-way end of the chosen backend: sends `Out`, receives `In`.
pub type Connection<Out, In> = transport_core::Connection<Out, In, BackendEnd>;

/// What the chosen backend can do on this platform.
pub fn capabilities() -> Capabilities {
    Backend::capabilities()
}

/// Creates a channel of the chosen backend with `config`.
///
/// # Errors
/// [`CreateError::InvalidConfig`] for a configuration the backend does not
/// support (a capacity of zero), [`CreateError::Io`] when the operating
/// system refuses a resource.
pub fn channel<T: Message>(config: &ChannelConfig) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    let (tx, rx) = Backend::channel(config)?;
    Ok((
        transport_core::Sender::from_raw(tx),
        transport_core::Receiver::from_raw(rx),
    ))
}

/// A channel that holds at most `capacity` messages (the pipe is bounded in
/// bytes instead: see its documentation).
///
/// # Errors
/// As [`channel`].
pub fn bounded<T: Message>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    channel(&ChannelConfig::bounded(capacity))
}

/// A channel with no bound on the number of messages (shared memory's ring
/// and the pipe's buffers still bound it in bytes).
///
/// # Errors
/// As [`channel`].
pub fn unbounded<T: Message>() -> Result<(Sender<T>, Receiver<T>), CreateError> {
    channel(&ChannelConfig::unbounded())
}

/// The two ends of a two-way channel: the first sends `A` and receives `B`.
pub type DuplexPair<A, B> = (Connection<A, B>, Connection<B, A>);

/// A two-way channel (Python's `Pipe()`): the first end sends `A` and
/// receives `B`, the second the other way round.
///
/// # Errors
/// As [`channel`].
pub fn duplex<A: Message, B: Message>() -> Result<DuplexPair<A, B>, CreateError> {
    duplex_with(&ChannelConfig::default())
}

/// As [`duplex`], with a configuration for both directions.
///
/// # Errors
/// As [`channel`].
pub fn duplex_with<A: Message, B: Message>(config: &ChannelConfig) -> Result<DuplexPair<A, B>, CreateError> {
    let (a, b) = DuplexBackend::duplex(config)?;
    Ok((
        transport_core::Connection::from_raw(a),
        transport_core::Connection::from_raw(b),
    ))
}
