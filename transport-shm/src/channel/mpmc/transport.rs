//! [`ShmMpmc`]: the multi-consumer ring as a [`Transport`].

use transport_core::{Capabilities, ChannelConfig, CreateError, Readiness, Transport};

use super::{MPMC_MAX_MESSAGE_SIZE, ShmMpmcReceiver, ShmMpmcSender, raw_mpmc};
use crate::channel::ShmConfig;

/// The multi-producer, multi-consumer shared-memory backend: one ring of
/// fixed slots that several producer and consumer processes share, each
/// message going to exactly one consumer (see the [module
/// documentation](super)). Messages are copied out of the ring (not read
/// in place), and are at most [`MPMC_MAX_MESSAGE_SIZE`] bytes.
///
/// # Portability
/// See the [channel module's documentation](crate::channel#portability).
#[derive(Clone, Copy, Debug, Default)]
pub struct ShmMpmc;

impl Transport for ShmMpmc {
    const NAME: &'static str = "shm-mpmc";
    type Sender = ShmMpmcSender;
    type Receiver = ShmMpmcReceiver;

    fn capabilities() -> Capabilities {
        let mut c = Capabilities::default();
        c.cross_process = true;
        c.multi_producer = true;
        c.multi_consumer = true;
        c.duplex = false;
        c.zero_copy = false;
        c.bounded = true;
        c.counts_messages = true;
        c.max_message_size = MPMC_MAX_MESSAGE_SIZE;
        c.readiness = Readiness::BridgeThread;
        c
    }

    fn channel(config: &ChannelConfig) -> Result<(ShmMpmcSender, ShmMpmcReceiver), CreateError> {
        raw_mpmc(&ShmConfig::from(config))
    }
}
