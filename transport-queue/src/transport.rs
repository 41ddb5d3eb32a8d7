//! The `queue` backend as a [`Transport`]: a public marker type, and the
//! constructors of its one-way ends every backend crate has ([`bounded`],
//! [`unbounded`], [`with_config`]).

use transport_core::{Capabilities, ChannelConfig, CreateError, Message, Readiness, Transport};

use crate::{
    builder::Builder,
    config::MAX_MESSAGE_SIZE,
    end::{QueueReceiver, QueueSender},
    queue::{Receiver, Sender},
};

/// The `queue` backend: `T::channel` creates a queue and returns a
/// send-only and a receive-only end of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueueTransport;

// Threads share every end (`&tx` in scoped threads, `Arc<Sender<T>>`), as
// on every backend: this stops compiling if a change loses that.
const _: () = {
    const fn shared<E: Send + Sync>() {}
    shared::<QueueSender>();
    shared::<QueueReceiver>();
    shared::<transport_core::Sender<u64, QueueSender>>();
    shared::<transport_core::Receiver<u64, QueueReceiver>>();
};

impl Transport for QueueTransport {
    const NAME: &'static str = "queue";
    type Sender = QueueSender;
    type Receiver = QueueReceiver;

    fn capabilities() -> Capabilities {
        let mut caps = Capabilities::default();
        caps.cross_process = true;
        caps.multi_producer = true;
        caps.multi_consumer = true;
        caps.duplex = false;
        caps.zero_copy = false;
        caps.bounded = true;
        caps.counts_messages = true;
        caps.max_message_size = MAX_MESSAGE_SIZE;
        caps.readiness = Readiness::BridgeThread;
        caps
    }

    fn channel(config: &ChannelConfig) -> Result<(QueueSender, QueueReceiver), CreateError> {
        let mut builder = Builder::new().max_message_size(config.max_message_size);
        if let Some(capacity) = config.capacity {
            builder = builder.capacity(capacity);
        }
        builder.build_channel()
    }
}

/// A channel that holds at most `capacity` items: a one-way sender and
/// receiver of a new queue (the ends [`QueueTransport`] makes; both clone,
/// and both can be handed to children). The same constructor as every
/// backend crate's `bounded`.
///
/// ```
/// let (tx, rx) = transport_queue::bounded::<u64>(16)?;
/// tx.send(7)?;
/// assert_eq!(*rx.recv()?, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CreateError::InvalidConfig`] if `capacity` is zero (no rendezvous
/// channel, as on every backend).
pub fn bounded<T: Message>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    with_config(&ChannelConfig::bounded(capacity))
}

/// A channel with no bound on the number of items; see [`bounded`].
///
/// # Errors
/// None with the default configuration; the `Result` is that of every
/// backend's `unbounded`, so that code moves between them unchanged.
pub fn unbounded<T: Message>() -> Result<(Sender<T>, Receiver<T>), CreateError> {
    with_config(&ChannelConfig::unbounded())
}

/// A channel with `config` (its capacity and message size limit); see
/// [`bounded`]. [`Builder`](crate::Builder) sets the queue's other settings.
///
/// # Errors
/// [`CreateError::InvalidConfig`] for a capacity of zero or a message limit
/// past [`MAX_MESSAGE_SIZE`](crate::MAX_MESSAGE_SIZE).
pub fn with_config<T: Message>(config: &ChannelConfig) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    transport_core::channel::<T, QueueTransport>(config)
}
