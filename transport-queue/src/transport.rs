//! The `queue` backend as a [`Transport`]: a public marker type.

use transport_core::{Capabilities, ChannelConfig, CreateError, Readiness, Transport};

use crate::{
    builder::Builder,
    config::MAX_MESSAGE_SIZE,
    end::{QueueReceiver, QueueSender},
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
