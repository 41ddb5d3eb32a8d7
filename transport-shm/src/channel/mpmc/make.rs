//! The constructors every backend crate has, [`bounded`], [`unbounded`] and
//! [`with_config`], on the multi-consumer ring.

use transport_core::{ChannelConfig, CreateError, Message};

use super::{MpmcReceiver, MpmcSender, mpmc};
use crate::channel::ShmConfig;

/// A multi-consumer channel that holds at most `capacity` messages (its
/// slots); both ends clone. The same constructor as every backend crate's
/// `bounded`; [`mpmc`](super::mpmc()) takes a whole [`ShmConfig`].
///
/// ```
/// let (tx, rx) = transport_shm::channel::mpmc::bounded::<u64>(16)?;
/// let other = rx.try_clone().expect("a second consumer");
/// tx.send(7)?;
/// assert_eq!(*other.recv()?, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CreateError::InvalidConfig`] if `capacity` is zero (no rendezvous
/// channel, as on every backend) or past 2^24; [`CreateError::Io`] when
/// the segment cannot be created.
pub fn bounded<T: Message>(capacity: usize) -> Result<(MpmcSender<T>, MpmcReceiver<T>), CreateError> {
    with_config(&ChannelConfig::bounded(capacity))
}

/// A multi-consumer channel with no capacity of its own: the ring still
/// has a number of slots (16 to 4096, from the default buffer size), and a
/// sender waits for one when all are taken. Otherwise as [`bounded`].
///
/// # Errors
/// As [`bounded`].
pub fn unbounded<T: Message>() -> Result<(MpmcSender<T>, MpmcReceiver<T>), CreateError> {
    with_config(&ChannelConfig::unbounded())
}

/// A multi-consumer channel with `config` (its capacity, and its message
/// size limit, capped at [`MPMC_MAX_MESSAGE_SIZE`](super::MPMC_MAX_MESSAGE_SIZE)),
/// as [`bounded`] otherwise.
///
/// # Errors
/// As [`bounded`].
pub fn with_config<T: Message>(
    config: &ChannelConfig,
) -> Result<(MpmcSender<T>, MpmcReceiver<T>), CreateError> {
    mpmc(&ShmConfig::from(config))
}
