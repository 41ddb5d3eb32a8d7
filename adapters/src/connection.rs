//! [`AsyncConnection`]: the async form of a two-way end.

use std::{
    borrow::{Borrow, Cow},
    fmt,
    future::poll_fn,
    process::Command,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use transport_core::{
    Connection, Handoff, HandoffError, Message, OpenError, Received, RecvError, RecvTimeoutError, SendError,
    SendTimeoutError, TryRecvError, TrySendError,
    backend::{PollRecv, PollSend, RawSendError, Wait},
};

use crate::{
    drive::{Step, drive, recv_within, send_within},
    errors::{raw_send_error, recv_error, send_error},
    fanout::FanOut,
    select::DefaultEnd,
};

/// One end of a two-way channel in async code: sends `Out`, receives `In`.
///
/// `E` is the backend's two-way end; it defaults to the one this crate's
/// feature chooses ([`DuplexBackend`](crate::DuplexBackend)). Every method
/// takes `&self`, so one task can wait to receive while another sends
/// (`tokio::join!(conn.send(a), conn.recv())`), and several tasks may wait
/// on the same direction: each is woken when it may make progress.
///
/// Sends and receives are cancel-safe, as for
/// [`AsyncSender`](crate::AsyncSender) and
/// [`AsyncReceiver`](crate::AsyncReceiver).
pub struct AsyncConnection<Out, In, E = DefaultEnd> {
    conn: Connection<Out, In, E>,
    senders: FanOut,
    receivers: FanOut,
}

impl<Out, In, E: fmt::Debug> fmt::Debug for AsyncConnection<Out, In, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncConnection")
            .field("conn", &self.conn)
            .field("senders", &self.senders)
            .field("receivers", &self.receivers)
            .finish()
    }
}

impl<Out, In, E> From<Connection<Out, In, E>> for AsyncConnection<Out, In, E> {
    fn from(conn: Connection<Out, In, E>) -> Self {
        AsyncConnection::new(conn)
    }
}

impl<Out, In, E> AsyncConnection<Out, In, E> {
    /// Wraps a connection.
    pub fn new(conn: Connection<Out, In, E>) -> Self {
        AsyncConnection {
            conn,
            senders: FanOut::new(),
            receivers: FanOut::new(),
        }
    }

    /// Wraps a backend's two-way end.
    pub fn from_raw(end: E) -> Self {
        AsyncConnection::new(Connection::from_raw(end))
    }

    /// The blocking connection inside.
    pub fn get_ref(&self) -> &Connection<Out, In, E> {
        &self.conn
    }

    /// Unwraps the blocking connection.
    pub fn into_inner(self) -> Connection<Out, In, E> {
        self.conn
    }
}

impl<Out, In, E> AsyncConnection<Out, In, E>
where
    Out: Message,
    In: Message,
    E: PollSend + PollRecv + Sync,
{
    /// Sends a message, waiting for room.
    ///
    /// # Errors
    /// As [`AsyncSender::send`](crate::AsyncSender::send).
    pub async fn send<M: Borrow<Out>>(&self, msg: M) -> Result<(), SendError<M>> {
        let mut msg = Some(msg);
        poll_fn(|cx| self.poll_send(cx, &mut msg)).await
    }

    /// As [`send`](Self::send), waiting at most `timeout`.
    ///
    /// # Errors
    /// As [`AsyncSender::send_timeout`](crate::AsyncSender::send_timeout).
    pub async fn send_timeout<M: Borrow<Out>>(
        &self,
        msg: M,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<M>> {
        send_within(tokio::time::sleep(timeout), msg, |cx, msg| {
            self.poll_send(cx, msg)
        })
        .await
    }

    /// As [`send`](Self::send), waiting until `deadline` at the latest.
    ///
    /// # Errors
    /// As [`AsyncSender::send_deadline`](crate::AsyncSender::send_deadline).
    pub async fn send_deadline<M: Borrow<Out>>(
        &self,
        msg: M,
        deadline: Instant,
    ) -> Result<(), SendTimeoutError<M>> {
        send_within(tokio::time::sleep_until(deadline.into()), msg, |cx, msg| {
            self.poll_send(cx, msg)
        })
        .await
    }

    /// Sends raw bytes as one frame, waiting for room.
    ///
    /// # Errors
    /// As [`AsyncSender::send_bytes`](crate::AsyncSender::send_bytes).
    pub async fn send_bytes<'b>(&self, bytes: &'b [u8]) -> Result<(), SendError<&'b [u8]>> {
        let end = self.conn.raw();
        poll_fn(|cx| {
            drive(
                cx,
                || match end.send_bytes(bytes, Wait::Never) {
                    Ok(()) => Step::Done(Ok(())),
                    Err(RawSendError::NotReady) => Step::NotReady,
                    Err(e) => Step::Done(Err(raw_send_error(bytes, e))),
                },
                |cx| self.senders.poll(cx, |cx| end.poll_send_ready(cx)),
            )
            .map(|r| r.unwrap_or_else(|source| Err(SendError::Io { msg: bytes, source })))
        })
        .await
    }

    /// Sends a message if there is room now.
    ///
    /// # Errors
    /// As [`Connection::try_send`].
    pub fn try_send<M: Borrow<Out>>(&self, msg: M) -> Result<(), TrySendError<M>> {
        self.conn.try_send(msg)
    }

    /// Waits for the next message.
    ///
    /// # Errors
    /// As [`AsyncReceiver::recv`](crate::AsyncReceiver::recv).
    pub async fn recv(&self) -> Result<Received<In, E::Frame>, RecvError> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// As [`AsyncReceiver::recv_owned`](crate::AsyncReceiver::recv_owned).
    ///
    /// # Errors
    /// As [`AsyncReceiver::recv_owned`](crate::AsyncReceiver::recv_owned).
    pub async fn recv_owned(&self) -> Result<In, RecvError> {
        let received = self.recv().await?;
        received.owned().map_err(RecvError::Invalid)
    }

    /// As [`recv`](Self::recv), waiting at most `timeout`.
    ///
    /// # Errors
    /// As [`AsyncReceiver::recv_timeout`](crate::AsyncReceiver::recv_timeout).
    pub async fn recv_timeout(&self, timeout: Duration) -> Result<Received<In, E::Frame>, RecvTimeoutError> {
        recv_within(tokio::time::sleep(timeout), |cx| self.poll_recv(cx)).await
    }

    /// As [`recv`](Self::recv), waiting until `deadline` at the latest.
    ///
    /// # Errors
    /// As [`AsyncReceiver::recv_deadline`](crate::AsyncReceiver::recv_deadline).
    pub async fn recv_deadline(&self, deadline: Instant) -> Result<Received<In, E::Frame>, RecvTimeoutError> {
        recv_within(tokio::time::sleep_until(deadline.into()), |cx| self.poll_recv(cx)).await
    }

    /// Waits for the next frame and returns its bytes unvalidated.
    ///
    /// # Errors
    /// As [`AsyncReceiver::recv_bytes`](crate::AsyncReceiver::recv_bytes).
    pub async fn recv_bytes(&self) -> Result<E::Frame, RecvError> {
        poll_fn(|cx| {
            drive(
                cx,
                || match self.conn.try_recv_bytes() {
                    Ok(frame) => Step::Done(Ok(frame)),
                    Err(TryRecvError::Empty) => Step::NotReady,
                    Err(e) => Step::Done(Err(recv_error(e))),
                },
                |cx| self.receivers.poll(cx, |cx| self.conn.raw().poll_recv_ready(cx)),
            )
            .map(|r| r.unwrap_or_else(|e| Err(RecvError::Io(e))))
        })
        .await
    }

    /// Takes the next message if one is ready now.
    ///
    /// # Errors
    /// As [`Connection::try_recv`].
    pub fn try_recv(&self) -> Result<Received<In, E::Frame>, TryRecvError> {
        self.conn.try_recv()
    }

    /// Polls for the next message (the poll-based form of
    /// [`recv`](Self::recv)).
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Received<In, E::Frame>, RecvError>> {
        drive(
            cx,
            || match self.conn.try_recv() {
                Ok(msg) => Step::Done(Ok(msg)),
                Err(TryRecvError::Empty) => Step::NotReady,
                Err(e) => Step::Done(Err(recv_error(e))),
            },
            |cx| self.receivers.poll(cx, |cx| self.conn.raw().poll_recv_ready(cx)),
        )
        .map(|r| r.unwrap_or_else(|e| Err(RecvError::Io(e))))
    }

    fn poll_send<M: Borrow<Out>>(
        &self,
        cx: &mut Context<'_>,
        msg: &mut Option<M>,
    ) -> Poll<Result<(), SendError<M>>> {
        drive(
            cx,
            || {
                let m = msg.take().expect("a send future is not polled after it finished");
                match self.conn.try_send(m) {
                    Ok(()) => Step::Done(Ok(())),
                    Err(TrySendError::Full(m)) => {
                        *msg = Some(m);
                        Step::NotReady
                    }
                    Err(e) => Step::Done(Err(send_error(e))),
                }
            },
            |cx| self.senders.poll(cx, |cx| self.conn.raw().poll_send_ready(cx)),
        )
        .map(|result| {
            result.unwrap_or_else(|source| {
                let m = msg.take().expect("the message waits in the option");
                Err(SendError::Io { msg: m, source })
            })
        })
    }
}

impl<Out: transport_core::rkyv::Archive, In: transport_core::rkyv::Archive, E: Handoff> Handoff
    for AsyncConnection<Out, In, E>
{
    const KIND: &'static str = E::KIND;

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.conn.prepare(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        Connection::open(payload).map(AsyncConnection::new)
    }

    fn message_type() -> Option<Cow<'static, str>> {
        Connection::<Out, In, E>::message_type()
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        E::child_watch()
    }
}
