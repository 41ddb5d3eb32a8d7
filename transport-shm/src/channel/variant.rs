//! The shared-memory backends as one generic [`Transport`],
//! [`ShmTransport<V>`]: a variant `V` names the backend and turns a
//! [`ChannelConfig`] into the ring's [`ShmConfig`]. The crate's four
//! backends ([`Shm`](super::Shm), [`ShmMpsc`](super::ShmMpsc),
//! [`ShmBusyPoll`](super::ShmBusyPoll), [`ShmUntrusted`](super::ShmUntrusted))
//! are variants; an application that wants another (a bigger ring, say)
//! writes its own:
//!
//! ```
//! use transport_core::{ChannelConfig, Receiver, Sender, Transport};
//! use transport_shm::{ShmConfig, ShmTransport, variant::Variant};
//!
//! struct BigRing;
//!
//! impl Variant for BigRing {
//!     const NAME: &'static str = "shm-big";
//!     const MULTI_PRODUCER: bool = false;
//!     fn config(config: &ChannelConfig) -> ShmConfig {
//!         ShmConfig::from(config).buffer_bytes(16 << 20)
//!     }
//! }
//!
//! type BigShm = ShmTransport<BigRing>;
//! let (tx, rx) = BigShm::channel(&ChannelConfig::default())?;
//! let (tx, rx) = (Sender::<u64, _>::from_raw(tx), Receiver::<u64, _>::from_raw(rx));
//! tx.send(7)?;
//! assert_eq!(*rx.recv()?, 7);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::{fmt, marker::PhantomData};

use transport_core::{Capabilities, ChannelConfig, CreateError, Readiness, Transport};

use super::{
    MAX_MESSAGE_SIZE, ShmReceiver, ShmSender,
    config::{DEFAULT_MAX_PRODUCERS, ShmConfig, WaitMode},
    raw_channel,
};

/// What sets one shared-memory backend apart: its name, whether it takes
/// several producers, whether receivers read in place, and the ring's
/// configuration for a channel.
pub trait Variant: 'static {
    /// The backend's name ([`Transport::NAME`]).
    const NAME: &'static str;
    /// Whether senders clone ([`Capabilities::multi_producer`]); the
    /// configuration must then allow more than one producer.
    const MULTI_PRODUCER: bool;
    /// Whether receivers read messages in place
    /// ([`Capabilities::zero_copy`]); false for untrusted rings.
    const ZERO_COPY: bool = true;

    /// The ring's configuration for a channel created with `config`.
    fn config(config: &ChannelConfig) -> ShmConfig;
}

/// The shared-memory backend of variant `V`.
///
/// # Portability
/// See the [module documentation](super#portability).
pub struct ShmTransport<V>(PhantomData<V>);

impl<V> Clone for ShmTransport<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for ShmTransport<V> {}

impl<V> Default for ShmTransport<V> {
    fn default() -> Self {
        ShmTransport(PhantomData)
    }
}

impl<V: Variant> fmt::Debug for ShmTransport<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShmTransport({})", V::NAME)
    }
}

impl<V: Variant> Transport for ShmTransport<V> {
    const NAME: &'static str = V::NAME;
    type Sender = ShmSender;
    type Receiver = ShmReceiver;

    fn capabilities() -> Capabilities {
        let mut c = Capabilities::default();
        c.cross_process = true;
        c.multi_producer = V::MULTI_PRODUCER;
        c.multi_consumer = false;
        c.duplex = false;
        c.zero_copy = V::ZERO_COPY;
        c.bounded = true;
        c.max_message_size = MAX_MESSAGE_SIZE;
        c.readiness = Readiness::BridgeThread;
        c
    }

    fn channel(config: &ChannelConfig) -> Result<(ShmSender, ShmReceiver), CreateError> {
        raw_channel(&V::config(config))
    }
}

/// One producer, blocking waits: [`Shm`](super::Shm).
#[derive(Debug)]
pub enum Blocking {}

impl Variant for Blocking {
    const NAME: &'static str = "shm";
    const MULTI_PRODUCER: bool = false;

    fn config(config: &ChannelConfig) -> ShmConfig {
        ShmConfig::from(config)
    }
}

/// Up to [`DEFAULT_MAX_PRODUCERS`] producers: [`ShmMpsc`](super::ShmMpsc).
#[derive(Debug)]
pub enum Mpsc {}

impl Variant for Mpsc {
    const NAME: &'static str = "shm-mpsc";
    const MULTI_PRODUCER: bool = true;

    fn config(config: &ChannelConfig) -> ShmConfig {
        ShmConfig::from(config).max_producers(DEFAULT_MAX_PRODUCERS)
    }
}

/// One producer, ends that spin instead of sleeping:
/// [`ShmBusyPoll`](super::ShmBusyPoll).
#[derive(Debug)]
pub enum BusyPoll {}

impl Variant for BusyPoll {
    const NAME: &'static str = "shm-busy";
    const MULTI_PRODUCER: bool = false;

    fn config(config: &ChannelConfig) -> ShmConfig {
        ShmConfig::from(config).wait_mode(WaitMode::BusyPoll)
    }
}

/// One producer, messages copied out before validation:
/// [`ShmUntrusted`](super::ShmUntrusted).
#[derive(Debug)]
pub enum Untrusted {}

impl Variant for Untrusted {
    const NAME: &'static str = "shm-untrusted";
    const MULTI_PRODUCER: bool = false;
    const ZERO_COPY: bool = false;

    fn config(config: &ChannelConfig) -> ShmConfig {
        ShmConfig::from(config).untrusted(true)
    }
}
