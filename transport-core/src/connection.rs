//! The typed two-way [`Connection`] (Python's `Connection` from
//! `Pipe(duplex=True)`).

use std::{
    borrow::{Borrow, Cow},
    fmt,
    marker::PhantomData,
    process::Command,
    time::{Duration, Instant},
};

use crate::{
    error::{
        HandoffError, OpenError, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
        TrySendError,
    },
    handoff::Handoff,
    message::Message,
    raw::{RawReceiver, RawSender},
    received::Received,
    receiver::Receiver,
    sender::Sender,
};

/// One end of a two-way channel: sends `Out`, receives `In`.
///
/// It offers the same methods as [`Sender`] and [`Receiver`]; a received
/// guard does not borrow the connection, so a reply can be sent while the
/// request is still being read.
pub struct Connection<Out, In, E> {
    end: E,
    _messages: PhantomData<Directions<Out, In>>,
}

/// Sends `Out`, receives `In`: the variance and auto traits of a sender of
/// `Out` and a receiver of `In`.
type Directions<Out, In> = (fn(Out), fn() -> In);

impl<Out, In, E: fmt::Debug> fmt::Debug for Connection<Out, In, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("sends", &std::any::type_name::<Out>())
            .field("receives", &std::any::type_name::<In>())
            .field("end", &self.end)
            .finish()
    }
}

impl<Out, In, E> Connection<Out, In, E> {
    /// Wraps a backend's two-way end.
    pub fn from_raw(end: E) -> Self {
        Connection {
            end,
            _messages: PhantomData,
        }
    }

    /// The backend end.
    pub fn raw(&self) -> &E {
        &self.end
    }

    /// Unwraps the backend end.
    pub fn into_raw(self) -> E {
        self.end
    }
}

impl<Out, In, E> Connection<Out, In, E>
where
    Out: Message,
    In: Message,
    E: RawSender + RawReceiver + Sync,
{
    fn tx(&self) -> Sender<Out, &E> {
        Sender::from_raw(&self.end)
    }

    fn rx(&self) -> Receiver<In, &E> {
        Receiver::from_raw(&self.end)
    }

    /// As [`Sender::send`].
    ///
    /// # Errors
    /// As [`Sender::send`].
    pub fn send<M: Borrow<Out>>(&self, msg: M) -> Result<(), SendError<M>> {
        self.tx().send(msg)
    }

    /// As [`Sender::try_send`].
    ///
    /// # Errors
    /// As [`Sender::try_send`].
    pub fn try_send<M: Borrow<Out>>(&self, msg: M) -> Result<(), TrySendError<M>> {
        self.tx().try_send(msg)
    }

    /// As [`Sender::send_timeout`].
    ///
    /// # Errors
    /// As [`Sender::send_timeout`].
    pub fn send_timeout<M: Borrow<Out>>(&self, msg: M, timeout: Duration) -> Result<(), SendTimeoutError<M>> {
        self.tx().send_timeout(msg, timeout)
    }

    /// As [`Sender::send_deadline`].
    ///
    /// # Errors
    /// As [`Sender::send_deadline`].
    pub fn send_deadline<M: Borrow<Out>>(
        &self,
        msg: M,
        deadline: Instant,
    ) -> Result<(), SendTimeoutError<M>> {
        self.tx().send_deadline(msg, deadline)
    }

    /// As [`Sender::send_bytes`].
    ///
    /// # Errors
    /// As [`Sender::send_bytes`].
    pub fn send_bytes<'b>(&self, bytes: &'b [u8]) -> Result<(), SendError<&'b [u8]>> {
        self.tx().send_bytes(bytes)
    }

    /// As [`Receiver::recv`].
    ///
    /// # Errors
    /// As [`Receiver::recv`].
    pub fn recv(&self) -> Result<Received<In, E::Frame>, RecvError> {
        self.rx().recv()
    }

    /// As [`Receiver::try_recv`].
    ///
    /// # Errors
    /// As [`Receiver::try_recv`].
    pub fn try_recv(&self) -> Result<Received<In, E::Frame>, TryRecvError> {
        self.rx().try_recv()
    }

    /// As [`Receiver::recv_timeout`].
    ///
    /// # Errors
    /// As [`Receiver::recv_timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Received<In, E::Frame>, RecvTimeoutError> {
        self.rx().recv_timeout(timeout)
    }

    /// As [`Receiver::recv_deadline`].
    ///
    /// # Errors
    /// As [`Receiver::recv_deadline`].
    pub fn recv_deadline(&self, deadline: Instant) -> Result<Received<In, E::Frame>, RecvTimeoutError> {
        self.rx().recv_deadline(deadline)
    }

    /// As [`Receiver::recv_owned`].
    ///
    /// # Errors
    /// As [`Receiver::recv_owned`].
    pub fn recv_owned(&self) -> Result<In, RecvError> {
        self.rx().recv_owned()
    }

    /// As [`Receiver::recv_timeout_owned`].
    ///
    /// # Errors
    /// As [`Receiver::recv_timeout_owned`].
    pub fn recv_timeout_owned(&self, timeout: Duration) -> Result<In, RecvTimeoutError> {
        self.rx().recv_timeout_owned(timeout)
    }

    /// As [`Receiver::recv_bytes`].
    ///
    /// # Errors
    /// As [`Receiver::recv_bytes`].
    pub fn recv_bytes(&self) -> Result<E::Frame, RecvError> {
        self.rx().recv_bytes()
    }

    /// As [`Receiver::try_recv_bytes`].
    ///
    /// # Errors
    /// As [`Receiver::try_recv_bytes`].
    pub fn try_recv_bytes(&self) -> Result<E::Frame, TryRecvError> {
        self.rx().try_recv_bytes()
    }

    /// As [`Receiver::recv_unchecked`].
    ///
    /// # Errors
    /// As [`Receiver::recv_unchecked`].
    ///
    /// # Safety
    /// As [`Receiver::recv_unchecked`]: every message arriving at this end
    /// must be a valid archive of `In`.
    pub unsafe fn recv_unchecked(&self) -> Result<Received<In, E::Frame>, RecvError> {
        // SAFETY: forwarded from this function's own contract.
        unsafe { self.rx().recv_unchecked() }
    }
}

impl<Out: rkyv::Archive, In: rkyv::Archive, E: Handoff> Handoff for Connection<Out, In, E> {
    const KIND: &'static str = E::KIND;

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.end.prepare(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        E::open(payload).map(Connection::from_raw)
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        E::child_watch()
    }

    fn message_type() -> Option<Cow<'static, str>> {
        Some(Cow::Owned(crate::fingerprint::pair_fingerprint::<Out, In>()))
    }
}
