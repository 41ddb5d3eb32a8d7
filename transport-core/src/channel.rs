//! The typed channel of any backend, for generic code.

use crate::{
    error::CreateError, message::Message, receiver::Receiver, sender::Sender, transport::ChannelConfig,
    transport::Transport,
};

/// The two typed ends of a channel of `T` on backend `B`.
pub type Channel<T, B> = (
    Sender<T, <B as Transport>::Sender>,
    Receiver<T, <B as Transport>::Receiver>,
);

/// Creates a typed channel of `T` on backend `B`, for code generic over
/// the backend: `transport_core::channel::<Job, Shm>(&config)`.
///
/// Every backend crate also offers the same three constructors with its
/// own types: `bounded(n)`, `unbounded()` and `with_config(config)`, all
/// returning a `Result`, and all refusing a capacity of 0 (there is no
/// rendezvous channel) with [`CreateError::InvalidConfig`].
///
/// ```
/// use transport_core::{ChannelConfig, Transport, local::Local};
///
/// fn roundtrip<B: Transport>() -> Result<u64, Box<dyn std::error::Error>> {
///     let (tx, rx) = transport_core::channel::<u64, B>(&ChannelConfig::bounded(4))?;
///     tx.send(7)?;
///     Ok(rx.recv()?.to_native())
/// }
/// assert_eq!(roundtrip::<Local>()?, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CreateError::InvalidConfig`] for a configuration the backend does not
/// support (a capacity of 0, a size limit past its maximum),
/// [`CreateError::Io`] when the operating system or server refuses a
/// resource.
pub fn channel<T: Message, B: Transport>(config: &ChannelConfig) -> Result<Channel<T, B>, CreateError> {
    let (tx, rx) = B::channel(config)?;
    Ok((Sender::from_raw(tx), Receiver::from_raw(rx)))
}
