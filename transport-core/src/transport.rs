//! The [`Transport`] trait: what a backend is.
//!
//! # Contract
//! Every bullet has a case in the conformance suite
//! ([`conformance`](crate::conformance), behind the `conformance` feature).
//! - **Order and integrity**: frames from one sender arrive in the order
//!   they were sent, each exactly once, byte for byte (case `fifo_100k`,
//!   `payload_sizes`, `raw_bytes_roundtrip`).
//! - **No blocking where none was asked**: `try_recv` on an empty channel
//!   returns `Empty` at once; `try_send` on a full bounded channel returns
//!   `Full` at once (`try_recv_empty`, `try_send_full`).
//! - **Timeouts**: `recv_timeout` and `send_timeout` return `Timeout` no
//!   earlier than asked and no later than scheduling allows (`timeouts`).
//! - **Orderly close**: when every sender is dropped, the receiver gets the
//!   messages already sent, then `Disconnected`; when every receiver is
//!   dropped, a send returns `Disconnected` and never kills the process
//!   (`sender_drop_drains_then_disconnects`, `receiver_drop_disconnects_sender`).
//! - **Peer death**: a peer killed with `SIGKILL` / `TerminateProcess` is
//!   seen as `Disconnected` in bounded time, never a hang (`peer_killed_*`).
//! - **Limits**: a message past the size limit gives `TooLarge` with its
//!   length and the limit, and the channel stays usable (`too_large`).
//! - **Bad bytes**: random or truncated bytes given as a frame give
//!   `Invalid`, never a panic, and the channel stays usable (`garbage_frames`).
//! - **Many peers**: multi-producer backends deliver every message of every
//!   producer once, in order per producer; multi-consumer backends deliver
//!   each message to exactly one consumer (`many_producers`, `many_consumers`).
//! - **Hand-off**: ends move to spawned children with
//!   [`CommandExt::endpoint`](crate::CommandExt::endpoint) and are opened there
//!   with [`from_env`](crate::from_env) (every cross-process case).

use crate::{
    error::CreateError,
    handoff::Handoff,
    raw::{RawReceiver, RawSender},
};

/// The default limit on one message: 1 GiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 30;

/// How a backend can tell an async runtime that a channel is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Readiness {
    /// A descriptor or handle the runtime's reactor can wait on.
    Descriptor,
    /// A helper thread per process that turns waits into wake-ups.
    BridgeThread,
    /// The ends wake a waiting task themselves (an in-process channel: a
    /// send wakes the receiver's task directly), with no descriptor and no
    /// helper thread.
    InProcess,
    /// Nothing: async use has to poll.
    None,
}

/// What a backend can do, on the platform it was built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Ends can be handed to other processes.
    pub cross_process: bool,
    /// Many senders can feed one channel. In the types: the sender is
    /// [`MultiProducer`](crate::MultiProducer), so `try_clone` compiles.
    pub multi_producer: bool,
    /// Many receivers can share one channel, each message going to one. In
    /// the types: the receiver is [`MultiConsumer`](crate::MultiConsumer).
    pub multi_consumer: bool,
    /// The backend has two-way ends ([`Duplex`]).
    pub duplex: bool,
    /// The receiver reads the message where the sender wrote it, with no
    /// copy in between.
    pub zero_copy: bool,
    /// Channels can be bounded, so `try_send` can see `Full`.
    pub bounded: bool,
    /// A bounded channel's bound is bytes (its buffers), not the capacity
    /// in messages it was made with: `try_send` sees `Full` when the bytes
    /// waiting reach it, however many messages that is.
    pub bounded_in_bytes: bool,
    /// The ends count the messages waiting: `len`, `capacity`, `is_empty`
    /// and `is_full` give `Some` (approximate where the backend says so);
    /// otherwise they give `None`.
    pub counts_messages: bool,
    /// The largest message the backend can carry at all, in bytes.
    pub max_message_size: usize,
    /// How async runtimes learn of readiness.
    pub readiness: Readiness,
}

impl Default for Capabilities {
    /// Nothing at all: an in-process, single-producer, single-consumer,
    /// one-way, copying, unbounded channel with the default size limit and
    /// no async readiness. Backends outside this crate start from it and set
    /// the fields that apply (the struct is `#[non_exhaustive]`, so it has
    /// no literal there).
    fn default() -> Self {
        Capabilities {
            cross_process: false,
            multi_producer: false,
            multi_consumer: false,
            duplex: false,
            zero_copy: false,
            bounded: false,
            bounded_in_bytes: false,
            counts_messages: false,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            readiness: Readiness::None,
        }
    }
}

impl Capabilities {
    /// The one line `cargo xtask caps` reads from each backend's
    /// `examples/capabilities.rs`:
    /// `capabilities: backend=NAME cross_process=true ... readiness=Descriptor`.
    pub fn report_line(&self, backend: &str) -> String {
        format!(
            "capabilities: backend={backend} cross_process={} multi_producer={} multi_consumer={} \
             duplex={} zero_copy={} bounded={} bounded_in_bytes={} counts_messages={} \
             max_message_size={} readiness={:?}",
            self.cross_process,
            self.multi_producer,
            self.multi_consumer,
            self.duplex,
            self.zero_copy,
            self.bounded,
            self.bounded_in_bytes,
            self.counts_messages,
            self.max_message_size,
            self.readiness,
        )
    }
}

/// The settings every backend understands when creating a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChannelConfig {
    /// How many messages may wait in the channel; `None` for as many as
    /// memory (or the backend's own buffer) allows.
    pub capacity: Option<usize>,
    /// The largest serialized message accepted, in bytes.
    pub max_message_size: usize,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            capacity: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

impl ChannelConfig {
    /// A bounded channel holding at most `capacity` messages.
    pub fn bounded(capacity: usize) -> Self {
        ChannelConfig {
            capacity: Some(capacity),
            ..Self::default()
        }
    }

    /// An unbounded channel.
    pub fn unbounded() -> Self {
        Self::default()
    }

    /// The same configuration with another message size limit.
    pub fn max_message_size(mut self, limit: usize) -> Self {
        self.max_message_size = limit;
        self
    }
}

/// A backend: the types of its two ends and how to create a channel.
///
/// Opening an end from a hand-off is [`Handoff::open`], which both ends
/// implement.
pub trait Transport: 'static {
    /// A short lower-case name (`local`, `pipe`, `queue`, `shm`).
    const NAME: &'static str;
    /// The sending end. `Sync` on every backend: threads share one
    /// (`&tx` in scoped threads, `Arc<Sender<T, _>>`).
    type Sender: RawSender + Handoff + Sync + 'static;
    /// The receiving end, `Sync` on every backend as well.
    type Receiver: RawReceiver + Handoff + Sync + 'static;

    /// What this backend can do on this platform.
    fn capabilities() -> Capabilities;

    /// Creates a channel.
    ///
    /// # Errors
    /// [`CreateError`] when the configuration is not supported or the
    /// operating system refuses a resource.
    fn channel(config: &ChannelConfig) -> Result<(Self::Sender, Self::Receiver), CreateError>;
}

/// A backend with two-way ends (Python's `Pipe(duplex=True)`).
pub trait Duplex: Transport {
    /// An end that both sends and receives.
    type End: RawSender + RawReceiver + Handoff + Sync + 'static;

    /// Creates a connected pair of ends.
    ///
    /// # Errors
    /// As [`Transport::channel`].
    fn duplex(config: &ChannelConfig) -> Result<(Self::End, Self::End), CreateError>;
}
