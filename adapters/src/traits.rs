//! [`AsyncSend`] and [`AsyncRecv`]: object-safe async traits, for code that
//! holds senders or receivers of different backends (or of no fixed one)
//! behind `Box<dyn AsyncSend<T>>`.

use async_trait::async_trait;
use transport_core::{
    Message, Received, RecvError, SendError, TryRecvError, TrySendError,
    backend::{Frame, PollRecv, PollSend},
};

use crate::{AsyncConnection, AsyncReceiver, AsyncSender};

/// Something that sends `T` asynchronously: an [`AsyncSender`] or an
/// [`AsyncConnection`] of any backend.
///
/// ```
/// use transport_adapters::{AsyncSend, AsyncSender};
/// use transport_core::local;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (tx, rx) = local::bounded::<u64>(4)?;
/// let mut outs: Vec<Box<dyn AsyncSend<u64>>> = vec![Box::new(AsyncSender::new(tx))];
/// for out in &mut outs {
///     out.send(7).await?;
/// }
/// assert_eq!(*rx.recv()?, 7);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait AsyncSend<T: Message + Send + 'static>: Send {
    /// Sends `msg`, waiting for room (cancel-safe).
    ///
    /// # Errors
    /// As [`AsyncSender::send`].
    async fn send(&mut self, msg: T) -> Result<(), SendError<T>>;

    /// Sends `msg` if there is room now.
    ///
    /// # Errors
    /// As [`AsyncSender::try_send`].
    fn try_send(&mut self, msg: T) -> Result<(), TrySendError<T>>;

    /// The largest serialized message accepted, in bytes.
    fn max_message_size(&self) -> usize;
}

/// Something that receives `T` asynchronously: an [`AsyncReceiver`] or an
/// [`AsyncConnection`]. Receivers of backends with different frame types
/// are different trait objects (`dyn AsyncRecv<T, Frame = F>`).
#[async_trait]
pub trait AsyncRecv<T: Message + Send + 'static>: Send {
    /// What a received message is held in.
    type Frame: Frame;

    /// Waits for the next message (cancel-safe).
    ///
    /// # Errors
    /// As [`AsyncReceiver::recv`].
    async fn recv(&mut self) -> Result<Received<T, Self::Frame>, RecvError>;

    /// Takes the next message if one is ready now.
    ///
    /// # Errors
    /// As [`AsyncReceiver::try_recv`].
    fn try_recv(&mut self) -> Result<Received<T, Self::Frame>, TryRecvError>;
}

#[async_trait]
impl<T, S> AsyncSend<T> for AsyncSender<T, S>
where
    T: Message + Send + 'static,
    S: PollSend + Send + Sync,
{
    async fn send(&mut self, msg: T) -> Result<(), SendError<T>> {
        AsyncSender::send(self, msg).await
    }

    fn try_send(&mut self, msg: T) -> Result<(), TrySendError<T>> {
        AsyncSender::try_send(self, msg)
    }

    fn max_message_size(&self) -> usize {
        AsyncSender::max_message_size(self)
    }
}

#[async_trait]
impl<T, R> AsyncRecv<T> for AsyncReceiver<T, R>
where
    T: Message + Send + 'static,
    R: PollRecv + Send,
{
    type Frame = R::Frame;

    async fn recv(&mut self) -> Result<Received<T, R::Frame>, RecvError> {
        AsyncReceiver::recv(self).await
    }

    fn try_recv(&mut self) -> Result<Received<T, R::Frame>, TryRecvError> {
        AsyncReceiver::try_recv(self)
    }
}

#[async_trait]
impl<Out, In, E> AsyncSend<Out> for AsyncConnection<Out, In, E>
where
    Out: Message + Send + 'static,
    In: Message,
    E: PollSend + transport_core::backend::PollRecv + Sync + Send,
{
    async fn send(&mut self, msg: Out) -> Result<(), SendError<Out>> {
        AsyncConnection::send(self, msg).await
    }

    fn try_send(&mut self, msg: Out) -> Result<(), TrySendError<Out>> {
        AsyncConnection::try_send(self, msg)
    }

    fn max_message_size(&self) -> usize {
        transport_core::backend::RawSender::max_message_size(self.get_ref().raw())
    }
}

#[async_trait]
impl<Out, In, E> AsyncRecv<In> for AsyncConnection<Out, In, E>
where
    Out: Message,
    In: Message + Send + 'static,
    E: PollSend + PollRecv + Sync + Send,
{
    type Frame = E::Frame;

    async fn recv(&mut self) -> Result<Received<In, E::Frame>, RecvError> {
        AsyncConnection::recv(self).await
    }

    fn try_recv(&mut self) -> Result<Received<In, E::Frame>, TryRecvError> {
        AsyncConnection::try_recv(self)
    }
}
