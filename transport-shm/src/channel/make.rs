//! The constructors every backend crate has: [`bounded`], [`unbounded`]
//! and [`with_config`], on the multi-producer ring ([`ShmMpsc`]'s).
//!
//! [`ShmMpsc`]: super::ShmMpsc

use transport_core::{ChannelConfig, CreateError, Message};

use super::{
    MpscSender, Receiver,
    config::{DEFAULT_MAX_PRODUCERS, ShmConfig},
    mpsc,
};

/// A channel that holds at most `capacity` messages per producer, with
/// room for [`DEFAULT_MAX_PRODUCERS`] producers (the sender clones; the
/// receiver does not: one consumer) and the default ring of
/// [`DEFAULT_BUFFER_BYTES`](super::DEFAULT_BUFFER_BYTES) per producer.
/// The same constructor as every backend crate's `bounded`;
/// [`mpsc`](super::mpsc()) and [`channel`](super::channel()) (one
/// producer) take a whole [`ShmConfig`].
///
/// ```
/// let (tx, rx) = transport_shm::bounded::<u64>(16)?;
/// let second = tx.try_clone().expect("another producer");
/// second.send(7)?;
/// assert_eq!(*rx.recv()?, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CreateError::InvalidConfig`] if `capacity` is zero (no rendezvous
/// channel, as on every backend); [`CreateError::Io`] when the segment
/// cannot be created.
pub fn bounded<T: Message>(capacity: usize) -> Result<(MpscSender<T>, Receiver<T>), CreateError> {
    with_config(&ChannelConfig::bounded(capacity))
}

/// A channel with no bound on the number of messages: the ring still
/// bounds them in bytes (a sender waits for room when its lane is full).
/// Otherwise as [`bounded`].
///
/// # Errors
/// As [`bounded`].
pub fn unbounded<T: Message>() -> Result<(MpscSender<T>, Receiver<T>), CreateError> {
    with_config(&ChannelConfig::unbounded())
}

/// A channel with `config` (its capacity and message size limit), as
/// [`bounded`] otherwise.
///
/// # Errors
/// As [`bounded`]; [`CreateError::InvalidConfig`] for a size limit past
/// [`MAX_MESSAGE_SIZE`](super::MAX_MESSAGE_SIZE).
pub fn with_config<T: Message>(config: &ChannelConfig) -> Result<(MpscSender<T>, Receiver<T>), CreateError> {
    mpsc(&ShmConfig::from(config).max_producers(DEFAULT_MAX_PRODUCERS))
}
