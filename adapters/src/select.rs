//! The backends by name, one module per backend feature, and the
//! top-level aliases that follow the default backend.
//!
//! The features are additive: each one adds its module (`queue`, `pipe`,
//! `shm`, `nats`) and none removes anything, so any combination builds,
//! as cargo's feature unification requires. The top-level names
//! ([`Backend`](crate::Backend), [`bounded`](crate::bounded), ...) are the
//! first enabled backend in the order `queue`, `pipe`, `shm`, `nats`.

use transport_core::{ChannelConfig, CreateError, Duplex, Message, Transport};

/// A typed sender on backend `B`.
pub type SenderOn<T, B> = transport_core::Sender<T, <B as Transport>::Sender>;
/// A typed receiver on backend `B`.
pub type ReceiverOn<T, B> = transport_core::Receiver<T, <B as Transport>::Receiver>;
/// The two ends of a channel on backend `B`.
pub type ChannelOn<T, B> = (SenderOn<T, B>, ReceiverOn<T, B>);
/// A typed two-way end on two-way backend `D`: sends `Out`, receives `In`.
pub type ConnectionOn<Out, In, D> = transport_core::Connection<Out, In, <D as Duplex>::End>;
/// The two ends of a two-way channel on `D`: the first sends `A` and
/// receives `B`.
pub type DuplexPairOn<A, B, D> = (ConnectionOn<A, B, D>, ConnectionOn<B, A, D>);

/// Creates a typed channel on any backend `B`, named by the application:
/// `channel_on::<transport_adapters::pipe::Backend, Job>(&config)`.
///
/// # Errors
/// [`CreateError::InvalidConfig`] for a configuration the backend does not
/// support (a capacity of zero), [`CreateError::Io`] when the operating
/// system refuses a resource.
pub fn channel_on<B: Transport, T: Message>(config: &ChannelConfig) -> Result<ChannelOn<T, B>, CreateError> {
    transport_core::channel::<T, B>(config)
}

/// Creates a typed two-way channel on any two-way backend `D`.
///
/// # Errors
/// As [`channel_on`].
pub fn duplex_on<D: Duplex, A: Message, B: Message>(
    config: &ChannelConfig,
) -> Result<DuplexPairOn<A, B, D>, CreateError> {
    let (a, b) = D::duplex(config)?;
    Ok((
        transport_core::Connection::from_raw(a),
        transport_core::Connection::from_raw(b),
    ))
}

/// The names every backend module has, for backend `$backend` and two-way
/// backend `$duplex`.
#[allow(unused_macros)] // with no backend feature
macro_rules! backend_api {
    ($backend:ty, $duplex:ty) => {
        use transport_core::{Capabilities, ChannelConfig, CreateError, Duplex, Message, Transport};

        /// The backend.
        pub type Backend = $backend;
        /// The two-way backend.
        pub type DuplexBackend = $duplex;
        /// The raw sending end of the backend.
        pub type BackendSender = <Backend as Transport>::Sender;
        /// The raw receiving end of the backend.
        pub type BackendReceiver = <Backend as Transport>::Receiver;
        /// The raw two-way end of the two-way backend.
        pub type BackendEnd = <DuplexBackend as Duplex>::End;
        /// A typed sender of the backend.
        pub type Sender<T> = transport_core::Sender<T, BackendSender>;
        /// A typed receiver of the backend.
        pub type Receiver<T> = transport_core::Receiver<T, BackendReceiver>;
        /// A typed two-way end: sends `Out`, receives `In`.
        pub type Connection<Out, In> = transport_core::Connection<Out, In, BackendEnd>;
        /// The two ends of a two-way channel: the first sends `A` and
        /// receives `B`.
        pub type DuplexPair<A, B> = (Connection<A, B>, Connection<B, A>);

        /// What the backend can do on this platform.
        pub fn capabilities() -> Capabilities {
            Backend::capabilities()
        }

        /// Creates a channel with `config`.
        ///
        /// # Errors
        /// [`CreateError::InvalidConfig`] for a configuration the backend
        /// does not support (a capacity of zero), [`CreateError::Io`] when
        /// the operating system refuses a resource.
        pub fn channel<T: Message>(config: &ChannelConfig) -> Result<(Sender<T>, Receiver<T>), CreateError> {
            crate::channel_on::<Backend, T>(config)
        }

        /// A channel that holds at most `capacity` messages (the pipe is
        /// bounded in bytes instead: see its documentation).
        ///
        /// # Errors
        /// As [`channel`].
        pub fn bounded<T: Message>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CreateError> {
            channel(&ChannelConfig::bounded(capacity))
        }

        /// A channel with no bound on the number of messages (shared
        /// memory's ring and the pipe's buffers still bound it in bytes).
        ///
        /// # Errors
        /// As [`channel`].
        pub fn unbounded<T: Message>() -> Result<(Sender<T>, Receiver<T>), CreateError> {
            channel(&ChannelConfig::unbounded())
        }

        /// The same as [`channel`], under the name every backend crate
        /// gives it.
        ///
        /// # Errors
        /// As [`channel`].
        pub fn with_config<T: Message>(
            config: &ChannelConfig,
        ) -> Result<(Sender<T>, Receiver<T>), CreateError> {
            channel(config)
        }

        /// A two-way channel (Python's `Pipe()`): the first end sends `A`
        /// and receives `B`, the second the other way round.
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
        pub fn duplex_with<A: Message, B: Message>(
            config: &ChannelConfig,
        ) -> Result<DuplexPair<A, B>, CreateError> {
            crate::duplex_on::<DuplexBackend, A, B>(config)
        }
    };
}

/// `transport-queue` (feature `queue`): Python's `Queue` on ipc-channel;
/// two-way ends are two queues ([`Paired`](crate::Paired)).
#[cfg(feature = "queue")]
pub mod queue {
    backend_api!(
        transport_queue::QueueTransport,
        crate::Paired<transport_queue::QueueTransport>
    );
}

/// `transport-pipe` (feature `pipe`): Python's `Pipe` on socket pairs
/// and named pipes, with its own two-way ends.
#[cfg(feature = "pipe")]
pub mod pipe {
    backend_api!(transport_pipe::Pipe, transport_pipe::Pipe);
}

/// `transport-shm` (feature `shm`): the multi-producer shared-memory
/// channel; two-way ends are two channels ([`Paired`](crate::Paired)).
#[cfg(feature = "shm")]
pub mod shm {
    backend_api!(transport_shm::ShmMpsc, crate::Paired<transport_shm::ShmMpsc>);
}

/// `transport-nats` (feature `nats`): at-least-once channels on NATS
/// JetStream, on the process's default client (`NATS_URL`: see
/// `transport_nats::default_client`), with its own two-way ends.
#[cfg(feature = "nats")]
pub mod nats {
    backend_api!(transport_nats::AtLeastOnce, transport_nats::AtLeastOnce);
}

/// The default backend: the first enabled of `queue`, `pipe`, `shm`,
/// `nats`. With none enabled there is no default, and only
/// [`channel_on`] / [`duplex_on`] with the application's own backend
/// remain (the in-process `transport_core::local::Local`, say).
mod default {
    #[cfg(all(
        feature = "nats",
        not(any(feature = "queue", feature = "pipe", feature = "shm"))
    ))]
    pub use super::nats::*;
    #[cfg(all(feature = "pipe", not(feature = "queue")))]
    pub use super::pipe::*;
    #[cfg(feature = "queue")]
    pub use super::queue::*;
    #[cfg(all(feature = "shm", not(any(feature = "queue", feature = "pipe"))))]
    pub use super::shm::*;
}

#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
pub use default::*;

/// The ends the async wrappers name when no type is given: the default
/// backend's, or the in-process backend's when no backend feature is on.
#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
mod default_ends {
    pub use super::default::{BackendEnd, BackendReceiver, BackendSender};
}
#[cfg(not(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats")))]
mod default_ends {
    pub use transport_core::local::{
        LocalEnd as BackendEnd, LocalReceiver as BackendReceiver, LocalSender as BackendSender,
    };
}

pub(crate) use default_ends::{
    BackendEnd as DefaultEnd, BackendReceiver as DefaultReceiver, BackendSender as DefaultSender,
};
