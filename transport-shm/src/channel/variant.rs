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
//! use transport_shm::{ShmConfig, ShmTransport, variant::{Single, Variant}};
//!
//! struct BigRing;
//!
//! impl Variant for BigRing {
//!     const NAME: &'static str = "shm-big";
//!     type Producers = Single;
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
//!
//! Whether a variant's senders clone is in its types: [`Single`] or
//! [`Multi`] producers, the parameter of its [`ShmSender`]. Only
//! `ShmSender<Multi>` is [`MultiProducer`](transport_core::MultiProducer),
//! so cloning a single-producer sender does not compile (with a note that
//! points to [`ShmMpsc`](super::ShmMpsc)) rather than giving `None`:
//!
//! ```compile_fail,E0277
//! use transport_core::{ChannelConfig, Sender, Transport};
//!
//! let (tx, _rx) = transport_shm::Shm::channel(&ChannelConfig::default())?;
//! let tx = Sender::<u64, _>::from_raw(tx);
//! let second = tx.try_clone(); // `ShmSender<Single>` has a single producer
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ```
//! use transport_core::{ChannelConfig, Sender, Transport};
//!
//! let (tx, _rx) = transport_shm::ShmMpsc::channel(&ChannelConfig::default())?;
//! let tx = Sender::<u64, _>::from_raw(tx);
//! let second = tx.try_clone().expect("a second producer lane");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::{fmt, marker::PhantomData};

use transport_core::{Capabilities, ChannelConfig, CreateError, Readiness, Transport};

use super::{
    MAX_MESSAGE_SIZE, ShmReceiver, ShmSender,
    config::{DEFAULT_MAX_PRODUCERS, ShmConfig, WaitMode},
    raw_channel_of,
};

/// How many producers a lane channel's senders allow, in their type:
/// [`Single`] or [`Multi`], the parameter of [`ShmSender`].
///
/// Sealed: the two are the only ones.
pub trait Producers: sealed::Sealed + Send + Sync + 'static {
    /// Whether senders clone into further producer lanes.
    const MULTI: bool;
    /// The hand-off kind of the sender ([`Handoff::KIND`](transport_core::Handoff::KIND)).
    #[doc(hidden)]
    const SENDER_KIND: &'static str;
}

/// One producer: the sender does not clone (`try_clone` does not
/// compile). The configuration has one producer lane.
#[derive(Debug)]
pub enum Single {}

/// Several producers: the sender clones into another producer lane, as
/// long as one of the channel's
/// [`max_producers`](ShmConfig::max_producers) lanes is free.
#[derive(Debug)]
pub enum Multi {}

impl Producers for Single {
    const MULTI: bool = false;
    const SENDER_KIND: &'static str = "shm.sender";
}

impl Producers for Multi {
    const MULTI: bool = true;
    const SENDER_KIND: &'static str = "shm.mpsc.sender";
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Single {}
    impl Sealed for super::Multi {}
}

/// What sets one shared-memory backend apart: its name, whether it takes
/// several producers, whether receivers read in place, and the ring's
/// configuration for a channel.
pub trait Variant: 'static {
    /// The backend's name ([`Transport::NAME`]).
    const NAME: &'static str;
    /// Whether senders clone ([`Capabilities::multi_producer`]): [`Single`]
    /// or [`Multi`]. With [`Single`] the configuration must have one
    /// producer; with [`Multi`] it may allow more.
    type Producers: Producers;
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
    type Sender = ShmSender<V::Producers>;
    type Receiver = ShmReceiver;

    fn capabilities() -> Capabilities {
        let mut c = Capabilities::default();
        c.cross_process = true;
        c.multi_producer = V::Producers::MULTI;
        c.multi_consumer = false;
        c.duplex = false;
        c.zero_copy = V::ZERO_COPY;
        c.bounded = true;
        c.counts_messages = true;
        c.max_message_size = MAX_MESSAGE_SIZE;
        c.readiness = Readiness::BridgeThread;
        c
    }

    fn channel(config: &ChannelConfig) -> Result<(ShmSender<V::Producers>, ShmReceiver), CreateError> {
        raw_channel_of(&V::config(config))
    }
}

/// One producer, blocking waits: [`Shm`](super::Shm).
#[derive(Debug)]
pub enum Blocking {}

impl Variant for Blocking {
    const NAME: &'static str = "shm";
    type Producers = Single;

    fn config(config: &ChannelConfig) -> ShmConfig {
        ShmConfig::from(config)
    }
}

/// Up to [`DEFAULT_MAX_PRODUCERS`] producers: [`ShmMpsc`](super::ShmMpsc).
#[derive(Debug)]
pub enum Mpsc {}

impl Variant for Mpsc {
    const NAME: &'static str = "shm-mpsc";
    type Producers = Multi;

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
    type Producers = Single;

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
    type Producers = Single;
    const ZERO_COPY: bool = false;

    fn config(config: &ChannelConfig) -> ShmConfig {
        ShmConfig::from(config).untrusted(true)
    }
}
