//! The constructors every backend crate has: [`bounded`], [`unbounded`]
//! and [`with_config`], at least once on the default client.

use transport_core::{ChannelConfig, CreateError, Message};

use crate::{
    queue::{Receiver, Sender},
    transport::AtLeastOnce,
};

/// A channel that holds at most `capacity` messages: an anonymous at
/// least once channel (a JetStream work queue: nothing whose send returned
/// is lost, even to a receiver that dies) on the
/// [default client](crate::default_client), removed when its last end
/// goes. Both ends clone and can be handed to children. The same
/// constructor as every backend crate's `bounded`; for at most once, or a
/// named channel other processes join, see
/// [`AtMostOnce`](crate::AtMostOnce) and [`Client::channel`](crate::Client::channel).
///
/// ```no_run
/// let (tx, rx) = transport_nats::bounded::<u64>(16)?;
/// tx.send(7)?;
/// assert_eq!(*rx.recv()?, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CreateError::InvalidConfig`] if `capacity` is zero (no rendezvous
/// channel, as on every backend); [`CreateError::Io`] when the server
/// cannot be reached or refuses the stream.
pub fn bounded<T: Message>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    with_config(&ChannelConfig::bounded(capacity))
}

/// A channel with no bound on the number of messages (the server's limits
/// still apply); otherwise as [`bounded`].
///
/// # Errors
/// As [`bounded`].
pub fn unbounded<T: Message>() -> Result<(Sender<T>, Receiver<T>), CreateError> {
    with_config(&ChannelConfig::unbounded())
}

/// A channel with `config` (its capacity and message size limit), as
/// [`bounded`] otherwise.
///
/// # Errors
/// As [`bounded`]; [`CreateError::InvalidConfig`] for a size limit past
/// [`MAX_MESSAGE_SIZE`](crate::MAX_MESSAGE_SIZE).
pub fn with_config<T: Message>(config: &ChannelConfig) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    transport_core::channel::<T, AtLeastOnce>(config)
}
