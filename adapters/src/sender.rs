//! [`AsyncSender`]: a sender whose `send` waits for room without blocking
//! the thread, and a [`Sink`].

use std::{
    borrow::{Borrow, Cow},
    fmt,
    future::poll_fn,
    io,
    pin::Pin,
    process::Command,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::Sink;
use transport_core::{
    Handoff, HandoffError, Message, OpenError, SendError, SendTimeoutError, Sender, TrySendError,
    backend::{FrameWriter, PollSend, RawSendError, Wait},
    rkyv::util::AlignedVec,
};

use crate::{
    drive::{Step, drive, send_within},
    errors::{raw_send_error, send_error},
    fanout::FanOut,
    parked::Parked,
    select::DefaultSender,
};

/// Sends messages of type `T` from async code: [`send`](Self::send) waits
/// for room in a full bounded channel instead of failing, without blocking
/// the thread.
///
/// `S` is the backend's raw sender; it defaults to the backend chosen by
/// this crate's feature, so `AsyncSender<Job>` is the usual spelling, and
/// `AsyncSender<Job, transport_core::local::LocalSender>` works with any
/// backend whose sender implements [`PollSend`].
///
/// It implements [`Sink`] (for `SinkExt::send`, `send_all`, `forward`).
///
/// # Shared by tasks
/// The sending methods take `&self`, as tokio's `mpsc::Sender::send`
/// does: one sender behind an `Arc`, or borrowed as `&tx` by several
/// futures, serves many tasks at once, and every task that waits for room
/// is woken when there may be some. Each task's messages keep their
/// order; those of different tasks interleave.
///
/// ```
/// use std::sync::Arc;
/// use transport_adapters::AsyncSender;
/// use transport_core::local;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (tx, rx) = local::bounded::<u64>(4)?;
/// let tx = Arc::new(AsyncSender::new(tx));
/// let tasks: Vec<_> = (0..4)
///     .map(|t| {
///         let tx = Arc::clone(&tx);
///         tokio::spawn(async move { tx.send(t).await.map_err(|e| e.to_string()) })
///     })
///     .collect();
/// for task in tasks {
///     task.await??;
/// }
/// let mut sum = 0;
/// for _ in 0..4 {
///     sum += rx.try_recv()?.to_native();
/// }
/// assert_eq!(sum, 6);
/// # Ok(())
/// # }
/// ```
///
/// # Cancel safety
/// [`send`](Self::send) is cancel-safe: a send future dropped before it
/// completed sent nothing (see [the crate documentation](crate#cancel-safety)).
/// The message it owned is dropped with it; pass `&msg` to keep it.
///
/// # Dropping
/// Dropping the sender closes it as the backend's blocking sender does. A
/// pipe end first writes what its backlog still holds, which blocks the
/// thread until the peer has read it or is gone; to keep that wait off the
/// runtime's threads, drop a pipe sender that may hold a backlog in
/// `tokio::task::spawn_blocking`.
///
/// # Sink
/// A [`Sink`] takes an item in `start_send` and may only deliver it later:
/// when the channel turns out to be full at that moment (another producer
/// took the room `poll_ready` saw), the item is serialized into a one-item
/// slot of this sender and goes out first at the next `poll_ready`,
/// `poll_flush` or [`send`](Self::send). As with every `Sink`, flush before
/// dropping (`SinkExt::send` and `send_all` do): an item still in the slot
/// when the sender is dropped is lost. `poll_close` flushes; dropping the
/// sender is what disconnects it. Sink errors carry no message (`()`): the
/// item was already handed over.
pub struct AsyncSender<T, S = DefaultSender> {
    inner: Sender<T, S>,
    /// A `Sink` item that found no room, serialized.
    parked: Parked,
    /// The tasks waiting for room (several, when the sender is shared).
    waiting: FanOut,
}

// Nothing is pinned structurally: the `Sink` methods only use `&mut self`.
impl<T, S> Unpin for AsyncSender<T, S> {}

impl<T, S: fmt::Debug> fmt::Debug for AsyncSender<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncSender")
            .field("inner", &self.inner)
            .field("parked", &self.parked.len())
            .field("waiting", &self.waiting)
            .finish()
    }
}

impl<T, S> From<Sender<T, S>> for AsyncSender<T, S> {
    fn from(inner: Sender<T, S>) -> Self {
        AsyncSender::new(inner)
    }
}

impl<T, S> AsyncSender<T, S> {
    /// Wraps a sender.
    pub fn new(inner: Sender<T, S>) -> Self {
        AsyncSender {
            inner,
            parked: Parked::default(),
            waiting: FanOut::new(),
        }
    }

    /// Wraps a backend's raw sender.
    pub fn from_raw(raw: S) -> Self {
        AsyncSender::new(Sender::from_raw(raw))
    }

    /// The blocking sender inside.
    pub fn get_ref(&self) -> &Sender<T, S> {
        &self.inner
    }

    /// Unwraps the blocking sender. A [`Sink`] item not yet flushed is
    /// dropped: flush first.
    pub fn into_inner(self) -> Sender<T, S> {
        self.inner
    }
}

impl<T: Message, S: PollSend> AsyncSender<T, S> {
    /// Sends a message, waiting for room if the channel is bounded and
    /// full.
    ///
    /// # Errors
    /// As [`Sender::send`]: [`SendError::Disconnected`] once every receiver
    /// is gone, [`SendError::TooLarge`] past the size limit, serialization
    /// and operating-system errors (a reactor that refuses the end among
    /// them); each gives the message back.
    pub async fn send<M: Borrow<T>>(&self, msg: M) -> Result<(), SendError<M>> {
        let mut msg = Some(msg);
        poll_fn(|cx| self.poll_send(cx, &mut msg)).await
    }

    /// As [`send`](Self::send), waiting at most `timeout` (tokio's clock;
    /// the runtime needs its time driver).
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] when there was no room in time, with
    /// the message; otherwise as [`send`](Self::send).
    pub async fn send_timeout<M: Borrow<T>>(
        &self,
        msg: M,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<M>> {
        send_within(tokio::time::sleep(timeout), msg, |cx, msg| {
            self.poll_send(cx, msg)
        })
        .await
    }

    /// As [`send`](Self::send), waiting until `deadline` at the latest
    /// ([`Sender::send_deadline`]'s async form, on tokio's clock).
    ///
    /// # Errors
    /// As [`send_timeout`](Self::send_timeout).
    pub async fn send_deadline<M: Borrow<T>>(
        &self,
        msg: M,
        deadline: Instant,
    ) -> Result<(), SendTimeoutError<M>> {
        send_within(tokio::time::sleep_until(deadline.into()), msg, |cx, msg| {
            self.poll_send(cx, msg)
        })
        .await
    }

    /// Sends raw bytes as one frame (Python's `send_bytes`), waiting for
    /// room.
    ///
    /// # Errors
    /// As [`send`](Self::send); the bytes are given back.
    pub async fn send_bytes<'b>(&self, bytes: &'b [u8]) -> Result<(), SendError<&'b [u8]>> {
        poll_fn(|cx| {
            if let Err(e) = std::task::ready!(self.poll_unpark(cx)) {
                return Poll::Ready(Err(with_message(e, bytes)));
            }
            let raw = self.inner.raw();
            drive(
                cx,
                || match raw.send_bytes(bytes, Wait::Never) {
                    Ok(()) => Step::Done(Ok(())),
                    Err(RawSendError::NotReady) => Step::NotReady,
                    Err(e) => Step::Done(Err(raw_send_error(bytes, e))),
                },
                |cx| self.poll_send_ready(cx),
            )
            .map(|r| r.unwrap_or_else(|source| Err(SendError::Io { msg: bytes, source })))
        })
        .await
    }

    /// Sends a message if there is room now, without waiting.
    ///
    /// # Errors
    /// As [`Sender::try_send`].
    pub fn try_send<M: Borrow<T>>(&self, msg: M) -> Result<(), TrySendError<M>> {
        match self.parked.push(self.inner.raw()) {
            Ok(true) => self.inner.try_send(msg),
            Ok(false) => Err(TrySendError::Full(msg)),
            Err(e) => Err(try_with_message(e, msg)),
        }
    }

    /// Polls for room: `Ready` when a non-blocking send may now succeed
    /// (or fail for good), as [`PollSend::poll_send_ready`]. Every task
    /// that polls is woken, not only the last one.
    ///
    /// # Errors
    /// The readiness could not be tracked (no reactor, say).
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let raw = self.inner.raw();
        self.waiting.poll(cx, |cx| raw.poll_send_ready(cx))
    }

    /// The largest serialized message this sender accepts, in bytes.
    pub fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
    }

    /// Another sender to the same channel, as [`Sender::try_clone`](transport_core::Sender::try_clone): it
    /// does not compile for a backend with a single producer (a pipe,
    /// `transport_shm::Shm`).
    pub fn try_clone(&self) -> Option<Self>
    where
        S: transport_core::MultiProducer,
    {
        self.inner.try_clone().map(AsyncSender::new)
    }

    /// One step of [`send`](Self::send): the parked `Sink` item first, then
    /// `msg` (taken from the option only when it is sent or fails).
    fn poll_send<M: Borrow<T>>(
        &self,
        cx: &mut Context<'_>,
        msg: &mut Option<M>,
    ) -> Poll<Result<(), SendError<M>>> {
        if let Err(e) = std::task::ready!(self.poll_unpark(cx)) {
            let m = msg.take().expect("a send future is not polled after it finished");
            return Poll::Ready(Err(with_message(e, m)));
        }
        let inner = &self.inner;
        drive(
            cx,
            || {
                let m = msg.take().expect("a send future is not polled after it finished");
                match inner.try_send(m) {
                    Ok(()) => Step::Done(Ok(())),
                    Err(TrySendError::Full(m)) => {
                        *msg = Some(m);
                        Step::NotReady
                    }
                    Err(e) => Step::Done(Err(send_error(e))),
                }
            },
            |cx| self.poll_send_ready(cx),
        )
        .map(|result| {
            result.unwrap_or_else(|source| {
                let m = msg.take().expect("the message waits in the option");
                Err(SendError::Io { msg: m, source })
            })
        })
    }

    /// Waits until the parked `Sink` item (if any) is sent.
    fn poll_unpark(&self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<()>>> {
        if self.parked.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let result = drive(
            cx,
            || match self.parked.push(self.inner.raw()) {
                Ok(true) => Step::Done(Ok(())),
                Ok(false) => Step::NotReady,
                Err(e) => Step::Done(Err(e)),
            },
            |cx| self.poll_send_ready(cx),
        );
        result.map(|r| r.unwrap_or_else(|source| Err(SendError::Io { msg: (), source })))
    }

    /// Serializes `item` into the one-item slot (the channel was full).
    fn park(&mut self, item: &T) -> Result<(), SendError<()>> {
        let mut bytes = AlignedVec::new();
        let mut writer = FrameWriter::aligned(&mut bytes, self.inner.max_message_size());
        if let Err(source) = writer.serialize(item) {
            writer.abort();
            return Err(SendError::Serialize { msg: (), source });
        }
        writer.finish().map_err(|o| SendError::TooLarge {
            msg: (),
            len: o.len,
            limit: o.limit,
        })?;
        self.parked.put(bytes);
        Ok(())
    }
}

/// A send error about the parked item, reported to a send of `msg`.
fn with_message<M>(e: SendError<()>, msg: M) -> SendError<M> {
    match e {
        SendError::Disconnected(()) => SendError::Disconnected(msg),
        SendError::Closed(()) => SendError::Closed(msg),
        SendError::Serialize { source, .. } => SendError::Serialize { msg, source },
        SendError::Io { source, .. } => SendError::Io { msg, source },
        other => SendError::Io {
            msg,
            source: io::Error::other(other.to_string()),
        },
    }
}

fn try_with_message<M>(e: SendError<()>, msg: M) -> TrySendError<M> {
    match with_message(e, msg) {
        SendError::Disconnected(msg) => TrySendError::Disconnected(msg),
        SendError::Closed(msg) => TrySendError::Closed(msg),
        SendError::Serialize { msg, source } => TrySendError::Serialize { msg, source },
        SendError::Io { msg, source } => TrySendError::Io { msg, source },
        other => {
            let text = other.to_string();
            TrySendError::Io {
                msg: other.into_inner(),
                source: io::Error::other(text),
            }
        }
    }
}

impl<T: Message, S: PollSend, M: Borrow<T>> Sink<M> for AsyncSender<T, S> {
    type Error = SendError<()>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_unpark(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: M) -> Result<(), Self::Error> {
        let this = self.get_mut();
        if !this.parked.is_empty() {
            // `poll_ready` was not called, or not to the end.
            if !this.parked.push(this.inner.raw())? {
                return Err(SendError::Io {
                    msg: (),
                    source: io::Error::other("`start_send` without a successful `poll_ready` first"),
                });
            }
        }
        match this.inner.try_send(item.borrow()) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => this.park(item.borrow()),
            Err(e) => Err(send_error(e).map_message()),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_unpark(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_unpark(cx)
    }
}

/// Drops the message a send error carries.
trait MapMessage {
    fn map_message(self) -> SendError<()>;
}

impl<M> MapMessage for SendError<M> {
    fn map_message(self) -> SendError<()> {
        match self {
            SendError::Disconnected(_) => SendError::Disconnected(()),
            SendError::Closed(_) => SendError::Closed(()),
            SendError::TooLarge { len, limit, .. } => SendError::TooLarge { msg: (), len, limit },
            SendError::Serialize { source, .. } => SendError::Serialize { msg: (), source },
            SendError::Io { source, .. } => SendError::Io { msg: (), source },
            other => SendError::Io {
                msg: (),
                source: io::Error::other(other.to_string()),
            },
        }
    }
}

impl<T: transport_core::rkyv::Archive, S: Handoff> Handoff for AsyncSender<T, S> {
    const KIND: &'static str = S::KIND;

    /// # Errors
    /// As the backend's; [`HandoffError::Unsupported`] while a [`Sink`]
    /// item waits in the slot (flush first).
    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        if !self.parked.is_empty() {
            return Err(HandoffError::Unsupported {
                what: "an async sender whose last Sink item is not flushed yet",
            });
        }
        self.inner.prepare(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        Sender::open(payload).map(AsyncSender::new)
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        S::child_watch()
    }

    fn message_type() -> Option<Cow<'static, str>> {
        Sender::<T, S>::message_type()
    }
}
