//! The typed [`Sender`].

use std::{
    borrow::Borrow,
    fmt,
    marker::PhantomData,
    time::{Duration, Instant},
};

use crate::{
    error::{SendError, SendTimeoutError, TrySendError},
    message::Message,
    occupancy::Occupancy,
    raw::{RawSendError, RawSender},
    wait::Wait,
};

/// Sends messages of type `T` over the backend sender `S`.
///
/// Each message is serialized once, by rkyv, straight into the place the
/// backend sends it from. Any `M: Borrow<T>` can be sent, so both a value and
/// a reference work; every error gives the `M` back.
pub struct Sender<T, S> {
    raw: S,
    _message: PhantomData<fn(T)>,
}

impl<T, S: fmt::Debug> fmt::Debug for Sender<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("message", &std::any::type_name::<T>())
            .field("raw", &self.raw)
            .finish()
    }
}

/// The outcome of one attempt, before it is mapped to the caller's error.
enum Failure {
    NotReady,
    Disconnected,
    Closed,
    TooLarge { len: usize, limit: usize },
    Serialize(crate::message::SerializeError),
    Io(std::io::Error),
}

impl<T, S> Sender<T, S> {
    /// Wraps a backend sender.
    pub fn from_raw(raw: S) -> Self {
        Sender {
            raw,
            _message: PhantomData,
        }
    }

    /// The backend sender.
    pub fn raw(&self) -> &S {
        &self.raw
    }

    /// Unwraps the backend sender.
    pub fn into_raw(self) -> S {
        self.raw
    }
}

impl<T: Message, S: RawSender> Sender<T, S> {
    fn attempt(&self, msg: &T, wait: Wait) -> Result<(), Failure> {
        let result = self.raw.send_frame(wait, &mut |w| w.serialize(msg));
        result.map_err(|e| match e {
            RawSendError::NotReady => Failure::NotReady,
            RawSendError::Disconnected => Failure::Disconnected,
            RawSendError::Closed => Failure::Closed,
            RawSendError::TooLarge { len, limit } => Failure::TooLarge { len, limit },
            RawSendError::Serialize(e) => Failure::Serialize(e),
            RawSendError::Io(e) => Failure::Io(e),
        })
    }

    /// Sends a message, waiting for room if the channel is bounded and full.
    ///
    /// # Errors
    /// [`SendError::Disconnected`] when every receiver is gone,
    /// [`SendError::Closed`] when the channel was closed,
    /// [`SendError::TooLarge`] past the size limit, and serialization or
    /// operating-system failures; each gives the message back.
    pub fn send<M: Borrow<T>>(&self, msg: M) -> Result<(), SendError<M>> {
        loop {
            return match self.attempt(msg.borrow(), Wait::Forever) {
                Ok(()) => Ok(()),
                // A backend may wake spuriously; a blocking send tries again.
                Err(Failure::NotReady) => continue,
                Err(Failure::Disconnected) => Err(SendError::Disconnected(msg)),
                Err(Failure::Closed) => Err(SendError::Closed(msg)),
                Err(Failure::TooLarge { len, limit }) => Err(SendError::TooLarge { msg, len, limit }),
                Err(Failure::Serialize(source)) => Err(SendError::Serialize { msg, source }),
                Err(Failure::Io(source)) => Err(SendError::Io { msg, source }),
            };
        }
    }

    /// Sends a message if there is room right now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when a bounded channel has no room, otherwise
    /// as [`send`](Self::send).
    pub fn try_send<M: Borrow<T>>(&self, msg: M) -> Result<(), TrySendError<M>> {
        match self.attempt(msg.borrow(), Wait::Never) {
            Ok(()) => Ok(()),
            Err(Failure::NotReady) => Err(TrySendError::Full(msg)),
            Err(Failure::Disconnected) => Err(TrySendError::Disconnected(msg)),
            Err(Failure::Closed) => Err(TrySendError::Closed(msg)),
            Err(Failure::TooLarge { len, limit }) => Err(TrySendError::TooLarge { msg, len, limit }),
            Err(Failure::Serialize(source)) => Err(TrySendError::Serialize { msg, source }),
            Err(Failure::Io(source)) => Err(TrySendError::Io { msg, source }),
        }
    }

    /// Sends a message, waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] when there was no room in time,
    /// otherwise as [`send`](Self::send).
    pub fn send_timeout<M: Borrow<T>>(&self, msg: M, timeout: Duration) -> Result<(), SendTimeoutError<M>> {
        self.send_waiting(msg, Wait::timeout(timeout))
    }

    /// Sends a message, waiting until `deadline` at the latest for room.
    ///
    /// # Errors
    /// As [`send_timeout`](Self::send_timeout).
    pub fn send_deadline<M: Borrow<T>>(&self, msg: M, deadline: Instant) -> Result<(), SendTimeoutError<M>> {
        self.send_waiting(msg, Wait::Until(deadline))
    }

    /// Sends a message, waiting for room as `wait` allows; the one body of
    /// [`send_timeout`](Self::send_timeout) and
    /// [`send_deadline`](Self::send_deadline).
    fn send_waiting<M: Borrow<T>>(&self, msg: M, wait: Wait) -> Result<(), SendTimeoutError<M>> {
        match self.attempt(msg.borrow(), wait) {
            Ok(()) => Ok(()),
            Err(Failure::NotReady) => Err(SendTimeoutError::Timeout(msg)),
            Err(Failure::Disconnected) => Err(SendTimeoutError::Disconnected(msg)),
            Err(Failure::Closed) => Err(SendTimeoutError::Closed(msg)),
            Err(Failure::TooLarge { len, limit }) => Err(SendTimeoutError::TooLarge { msg, len, limit }),
            Err(Failure::Serialize(source)) => Err(SendTimeoutError::Serialize { msg, source }),
            Err(Failure::Io(source)) => Err(SendTimeoutError::Io { msg, source }),
        }
    }

    /// Sends raw bytes as one frame, unchanged (Python's `send_bytes`).
    ///
    /// The receiver validates them like any message when it calls
    /// [`recv`](crate::Receiver::recv), or takes them as they are with
    /// [`recv_bytes`](crate::Receiver::recv_bytes).
    ///
    /// # Errors
    /// As [`send`](Self::send); the bytes are given back.
    pub fn send_bytes<'b>(&self, bytes: &'b [u8]) -> Result<(), SendError<&'b [u8]>> {
        loop {
            return match self.raw.send_bytes(bytes, Wait::Forever) {
                Ok(()) => Ok(()),
                Err(RawSendError::NotReady) => continue,
                Err(RawSendError::Disconnected) => Err(SendError::Disconnected(bytes)),
                Err(RawSendError::Closed) => Err(SendError::Closed(bytes)),
                Err(RawSendError::TooLarge { len, limit }) => Err(SendError::TooLarge {
                    msg: bytes,
                    len,
                    limit,
                }),
                Err(RawSendError::Serialize(source)) => Err(SendError::Serialize { msg: bytes, source }),
                Err(RawSendError::Io(source)) => Err(SendError::Io { msg: bytes, source }),
            };
        }
    }

    /// The largest serialized message this sender accepts, in bytes.
    pub fn max_message_size(&self) -> usize {
        self.raw.max_message_size()
    }

    /// Another sender to the same channel. Only multi-producer backends
    /// have it ([`MultiProducer`](crate::shape::MultiProducer)): on a pipe
    /// or a single-producer shared-memory channel it does not compile.
    /// `None` where the backend could not make one (no producer lane left
    /// on shared memory, no server for NATS).
    pub fn try_clone(&self) -> Option<Self>
    where
        S: crate::shape::MultiProducer,
    {
        self.raw.try_clone().map(Sender::from_raw)
    }

    /// How full the channel is, where the backend counts messages (see
    /// [`Occupancy`]); `None` where it cannot tell.
    pub fn occupancy(&self) -> Option<Occupancy> {
        self.raw.occupancy()
    }

    /// Messages waiting in the channel (crossbeam's `len`); `None` where
    /// the backend cannot tell. A snapshot: other ends may change it the
    /// next moment.
    pub fn len(&self) -> Option<usize> {
        self.occupancy().map(|o| o.len)
    }

    /// Whether no message waits; `None` where the backend cannot tell.
    pub fn is_empty(&self) -> Option<bool> {
        self.occupancy().map(|o| o.is_empty())
    }

    /// Whether a bounded channel is full; `None` where the backend cannot
    /// tell.
    pub fn is_full(&self) -> Option<bool> {
        self.occupancy().map(|o| o.is_full())
    }

    /// The most messages the channel holds: `None` for an unbounded
    /// channel, and where the backend cannot tell ([`occupancy`](Self::occupancy)
    /// tells the two apart).
    pub fn capacity(&self) -> Option<usize> {
        self.occupancy().and_then(|o| o.capacity)
    }
}

impl<T, S: Clone> Clone for Sender<T, S> {
    fn clone(&self) -> Self {
        Sender::from_raw(self.raw.clone())
    }
}
