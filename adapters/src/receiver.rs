//! [`AsyncReceiver`]: a receiver whose `recv` waits for a message without
//! blocking the thread, and a [`Stream`].

use std::{
    borrow::Cow,
    fmt,
    future::poll_fn,
    io,
    pin::Pin,
    process::Command,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt, stream::FusedStream};
use transport_core::{
    Handoff, HandoffError, Message, OpenError, Received, Receiver, RecvError, RecvTimeoutError, TryRecvError,
    backend::PollRecv,
};

use crate::{
    drive::{Step, drive, recv_within},
    errors::recv_error,
    select::DefaultReceiver,
};

/// Receives messages of type `T` in async code: [`recv`](Self::recv) waits
/// for a message without blocking the thread.
///
/// `R` is the backend's raw receiver; it defaults to the backend chosen by
/// this crate's feature. Messages arrive as [`Received`] guards, validated
/// and read in place, as from the blocking [`Receiver`].
///
/// It is a [`Stream`] of `Result`s that ends once every sender is gone and
/// the channel is drained; other errors (an invalid message, say) are
/// items, and the stream goes on after them. [`stream_owned`](Self::stream_owned)
/// and [`into_stream_owned`](Self::into_stream_owned) are the same stream
/// of owned `T` ([`Receiver::iter_owned`]'s async form).
///
/// # Cancel safety
/// [`recv`](Self::recv) is cancel-safe: a receive future dropped before it
/// completed took nothing from the channel, so the next receive gets the
/// message it would have got (see [the crate
/// documentation](crate#cancel-safety)). It can be used in `tokio::select!`.
pub struct AsyncReceiver<T, R = DefaultReceiver> {
    inner: Receiver<T, R>,
    /// The stream ended (the channel is disconnected and drained).
    ended: bool,
}

// Nothing is pinned structurally: `poll_next` only uses `&mut self`.
impl<T, R> Unpin for AsyncReceiver<T, R> {}

impl<T, R: fmt::Debug> fmt::Debug for AsyncReceiver<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncReceiver")
            .field("inner", &self.inner)
            .field("ended", &self.ended)
            .finish()
    }
}

impl<T, R> From<Receiver<T, R>> for AsyncReceiver<T, R> {
    fn from(inner: Receiver<T, R>) -> Self {
        AsyncReceiver::new(inner)
    }
}

impl<T, R> AsyncReceiver<T, R> {
    /// Wraps a receiver.
    pub fn new(inner: Receiver<T, R>) -> Self {
        AsyncReceiver { inner, ended: false }
    }

    /// Wraps a backend's raw receiver.
    pub fn from_raw(raw: R) -> Self {
        AsyncReceiver::new(Receiver::from_raw(raw))
    }

    /// The blocking receiver inside.
    pub fn get_ref(&self) -> &Receiver<T, R> {
        &self.inner
    }

    /// Unwraps the blocking receiver.
    pub fn into_inner(self) -> Receiver<T, R> {
        self.inner
    }
}

impl<T: Message, R: PollRecv> AsyncReceiver<T, R> {
    /// Waits for the next message and validates it.
    ///
    /// # Errors
    /// As [`Receiver::recv`]: [`RecvError::Disconnected`] once every sender
    /// is gone and the channel is drained, [`RecvError::Invalid`] for bytes
    /// that are not a valid `T` (consumed; the channel stays usable),
    /// framing and operating-system errors (a reactor that refuses the end
    /// among them).
    pub async fn recv(&mut self) -> Result<Received<T, R::Frame>, RecvError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// As [`recv`](Self::recv), returning an owned `T` (the validated
    /// archive deserialized; [`Receiver::recv_owned`]'s async form).
    ///
    /// # Errors
    /// As [`recv`](Self::recv); a custom `Deserialize` impl that fails is
    /// [`RecvError::Invalid`] too.
    pub async fn recv_owned(&mut self) -> Result<T, RecvError> {
        let received = self.recv().await?;
        received.owned().map_err(RecvError::Invalid)
    }

    /// As [`recv`](Self::recv), waiting at most `timeout` (tokio's clock;
    /// the runtime needs its time driver).
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when no message came in time;
    /// otherwise as [`recv`](Self::recv).
    pub async fn recv_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Received<T, R::Frame>, RecvTimeoutError> {
        recv_within(tokio::time::sleep(timeout), |cx| self.poll_recv(cx)).await
    }

    /// As [`recv`](Self::recv), waiting until `deadline` at the latest
    /// ([`Receiver::recv_deadline`]'s async form, on tokio's clock).
    ///
    /// # Errors
    /// As [`recv_timeout`](Self::recv_timeout).
    pub async fn recv_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<Received<T, R::Frame>, RecvTimeoutError> {
        recv_within(tokio::time::sleep_until(deadline.into()), |cx| self.poll_recv(cx)).await
    }

    /// The receiver as a [`Stream`] of owned values: each message's
    /// validated archive deserialized, as [`recv_owned`](Self::recv_owned)
    /// gives it. It ends where the receiver's stream ends (every sender
    /// gone, the channel drained); other errors are items, and it goes on
    /// after them.
    ///
    /// ```
    /// use futures::TryStreamExt;
    /// use transport_adapters::AsyncReceiver;
    /// use transport_core::local;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (tx, rx) = local::bounded::<u64>(4)?;
    /// let mut rx = AsyncReceiver::new(rx);
    /// for n in 1..=3u64 {
    ///     tx.send(n)?;
    /// }
    /// drop(tx);
    /// let all: Vec<u64> = rx.stream_owned().try_collect().await?;
    /// assert_eq!(all, [1, 2, 3]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream_owned(&mut self) -> impl FusedStream<Item = Result<T, RecvError>> + Unpin + '_ {
        self.map(owned)
    }

    /// As [`stream_owned`](Self::stream_owned), taking the receiver (for a
    /// stream that outlives the borrow: a spawned task's, `forward`'s).
    pub fn into_stream_owned(self) -> impl FusedStream<Item = Result<T, RecvError>> + Unpin {
        self.map(owned)
    }

    /// Waits for the next frame and returns its bytes unvalidated (Python's
    /// `recv_bytes`).
    ///
    /// # Errors
    /// As [`recv`](Self::recv), without [`RecvError::Invalid`].
    pub async fn recv_bytes(&mut self) -> Result<R::Frame, RecvError> {
        let inner = &self.inner;
        poll_fn(|cx| {
            drive(
                cx,
                || match inner.try_recv_bytes() {
                    Ok(frame) => Step::Done(Ok(frame)),
                    Err(TryRecvError::Empty) => Step::NotReady,
                    Err(e) => Step::Done(Err(recv_error(e))),
                },
                |cx| inner.raw().poll_recv_ready(cx),
            )
            .map(|r| r.unwrap_or_else(|e| Err(RecvError::Io(e))))
        })
        .await
    }

    /// Takes the next message if one is ready now, without waiting.
    ///
    /// # Errors
    /// As [`Receiver::try_recv`].
    pub fn try_recv(&mut self) -> Result<Received<T, R::Frame>, TryRecvError> {
        self.inner.try_recv()
    }

    /// Polls for the next message: the poll-based form of
    /// [`recv`](Self::recv), for hand-written futures.
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Received<T, R::Frame>, RecvError>> {
        let inner = &self.inner;
        drive(
            cx,
            || match inner.try_recv() {
                Ok(msg) => Step::Done(Ok(msg)),
                Err(TryRecvError::Empty) => Step::NotReady,
                Err(e) => Step::Done(Err(recv_error(e))),
            },
            |cx| inner.raw().poll_recv_ready(cx),
        )
        .map(|r| r.unwrap_or_else(|e| Err(RecvError::Io(e))))
    }

    /// Polls the end's readiness, as [`PollRecv::poll_recv_ready`].
    ///
    /// # Errors
    /// The readiness could not be tracked (no reactor, say).
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.raw().poll_recv_ready(cx)
    }

    /// Another receiver on the same channel, each message going to one of
    /// them, as [`Receiver::try_clone`](transport_core::Receiver::try_clone): it does not compile for a backend
    /// with a single consumer (a pipe).
    pub fn try_clone(&self) -> Option<Self>
    where
        R: transport_core::MultiConsumer,
    {
        self.inner.try_clone().map(AsyncReceiver::new)
    }
}

/// A received message as an owned value (the items of the owned streams).
fn owned<T: Message, F: transport_core::backend::Frame>(
    received: Result<Received<T, F>, RecvError>,
) -> Result<T, RecvError> {
    received.and_then(|received| received.owned().map_err(RecvError::Invalid))
}

impl<T: Message, R: PollRecv> Stream for AsyncReceiver<T, R> {
    type Item = Result<Received<T, R::Frame>, RecvError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match std::task::ready!(this.poll_recv(cx)) {
            Err(RecvError::Disconnected | RecvError::Closed) => {
                this.ended = true;
                Poll::Ready(None)
            }
            other => Poll::Ready(Some(other)),
        }
    }
}

impl<T: Message, R: PollRecv> FusedStream for AsyncReceiver<T, R> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T: transport_core::rkyv::Archive, R: Handoff> Handoff for AsyncReceiver<T, R> {
    const KIND: &'static str = R::KIND;

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.inner.prepare(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        Receiver::open(payload).map(AsyncReceiver::new)
    }

    fn message_type() -> Option<Cow<'static, str>> {
        Receiver::<T, R>::message_type()
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        R::child_watch()
    }
}
