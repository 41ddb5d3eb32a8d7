//! The typed [`Receiver`].

use std::{
    fmt,
    marker::PhantomData,
    time::{Duration, Instant},
};

use crate::{
    error::{RecvError, RecvTimeoutError, TryRecvError},
    message::Message,
    occupancy::Occupancy,
    raw::{RawReceiver, RawRecvError},
    received::Received,
    wait::Wait,
};

/// Receives messages of type `T` from the backend receiver `R`.
///
/// [`recv`](Self::recv) returns a [`Received`] guard that reads the message
/// in place after validating it; [`recv_unchecked`](Self::recv_unchecked) is
/// the only path that skips validation, and it is `unsafe`.
pub struct Receiver<T, R> {
    raw: R,
    _message: PhantomData<fn() -> T>,
}

impl<T, R: fmt::Debug> fmt::Debug for Receiver<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("message", &std::any::type_name::<T>())
            .field("raw", &self.raw)
            .finish()
    }
}

/// A received frame, or why there is none, before it is mapped to the
/// caller's error.
enum Outcome<F> {
    Frame(F),
    NotReady,
    Failed(RecvError),
}

impl<T, R> Receiver<T, R> {
    /// Wraps a backend receiver.
    pub fn from_raw(raw: R) -> Self {
        Receiver {
            raw,
            _message: PhantomData,
        }
    }

    /// The backend receiver.
    pub fn raw(&self) -> &R {
        &self.raw
    }

    /// Unwraps the backend receiver.
    pub fn into_raw(self) -> R {
        self.raw
    }
}

impl<T: Message, R: RawReceiver> Receiver<T, R> {
    fn frame(&self, wait: Wait) -> Outcome<R::Frame> {
        match self.raw.recv_frame(wait) {
            Ok(frame) => Outcome::Frame(frame),
            Err(RawRecvError::NotReady) => Outcome::NotReady,
            Err(RawRecvError::Disconnected) => Outcome::Failed(RecvError::Disconnected),
            Err(RawRecvError::Closed) => Outcome::Failed(RecvError::Closed),
            Err(RawRecvError::TooLarge { len, limit }) => Outcome::Failed(RecvError::TooLarge { len, limit }),
            Err(RawRecvError::Malformed(e)) => Outcome::Failed(RecvError::Malformed(e)),
            Err(RawRecvError::Io(e)) => Outcome::Failed(RecvError::Io(e)),
        }
    }

    fn blocking_frame(&self) -> Result<R::Frame, RecvError> {
        loop {
            match self.frame(Wait::Forever) {
                Outcome::Frame(frame) => return Ok(frame),
                // A backend may wake spuriously; a blocking receive waits on.
                Outcome::NotReady => continue,
                Outcome::Failed(e) => return Err(e),
            }
        }
    }

    /// Waits for the next message and validates it.
    ///
    /// # Errors
    /// [`RecvError::Disconnected`] once every sender is gone and the channel
    /// is drained ([`RecvError::Closed`] if it was closed);
    /// [`RecvError::Invalid`] for bytes that are not a valid
    /// archive of `T` (the bad message is consumed, the channel stays
    /// usable); framing and operating-system failures.
    pub fn recv(&self) -> Result<Received<T, R::Frame>, RecvError> {
        let frame = self.blocking_frame()?;
        Received::validate(frame).map_err(RecvError::Invalid)
    }

    /// Takes the next message if one is ready now.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when no message is ready, otherwise as
    /// [`recv`](Self::recv).
    pub fn try_recv(&self) -> Result<Received<T, R::Frame>, TryRecvError> {
        match self.frame(Wait::Never) {
            Outcome::Frame(frame) => Received::validate(frame).map_err(TryRecvError::Invalid),
            Outcome::NotReady => Err(TryRecvError::Empty),
            Outcome::Failed(e) => Err(e.into()),
        }
    }

    /// Waits at most `timeout` for the next message.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when none arrived in time, otherwise as
    /// [`recv`](Self::recv).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Received<T, R::Frame>, RecvTimeoutError> {
        match self.frame(Wait::timeout(timeout)) {
            Outcome::Frame(frame) => Received::validate(frame).map_err(RecvTimeoutError::Invalid),
            Outcome::NotReady => Err(RecvTimeoutError::Timeout),
            Outcome::Failed(e) => Err(e.into()),
        }
    }

    /// Waits for the next message and trusts it without validation.
    ///
    /// # Errors
    /// As [`recv`](Self::recv), without [`RecvError::Invalid`].
    ///
    /// # Safety
    /// Every message on this channel must be a valid archive of `T`: sent by
    /// a [`Sender<T, _>`](crate::Sender) of this workspace's rkyv format, and
    /// never by [`send_bytes`](crate::Sender::send_bytes) with other bytes.
    /// Reading an invalid archive unchecked is undefined behaviour.
    pub unsafe fn recv_unchecked(&self) -> Result<Received<T, R::Frame>, RecvError> {
        let frame = self.blocking_frame()?;
        // SAFETY: the caller promised every message on this channel is valid.
        Ok(unsafe { Received::new_unchecked(frame) })
    }

    /// Waits for the next frame and returns its bytes unvalidated (Python's
    /// `recv_bytes`).
    ///
    /// # Errors
    /// As [`recv`](Self::recv), without [`RecvError::Invalid`].
    pub fn recv_bytes(&self) -> Result<R::Frame, RecvError> {
        self.blocking_frame()
    }

    /// As [`recv_bytes`](Self::recv_bytes), waiting at most `timeout`.
    ///
    /// # Errors
    /// As [`recv_timeout`](Self::recv_timeout), without
    /// [`RecvTimeoutError::Invalid`].
    pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<R::Frame, RecvTimeoutError> {
        match self.frame(Wait::timeout(timeout)) {
            Outcome::Frame(frame) => Ok(frame),
            Outcome::NotReady => Err(RecvTimeoutError::Timeout),
            Outcome::Failed(e) => Err(e.into()),
        }
    }

    /// As [`recv_bytes`](Self::recv_bytes), if a frame is ready now.
    ///
    /// # Errors
    /// As [`try_recv`](Self::try_recv), without [`TryRecvError::Invalid`].
    pub fn try_recv_bytes(&self) -> Result<R::Frame, TryRecvError> {
        match self.frame(Wait::Never) {
            Outcome::Frame(frame) => Ok(frame),
            Outcome::NotReady => Err(TryRecvError::Empty),
            Outcome::Failed(e) => Err(e.into()),
        }
    }

    /// Another receiver on the same channel, each message going to one of
    /// them. Only multi-consumer backends have it
    /// ([`MultiConsumer`](crate::shape::MultiConsumer)): on a pipe it does not
    /// compile. `None` where the backend could not make one (no server for
    /// NATS).
    pub fn try_clone(&self) -> Option<Self>
    where
        R: crate::shape::MultiConsumer,
    {
        self.raw.try_clone().map(Receiver::from_raw)
    }

    /// Waits until `deadline` at the latest for the next message.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when none arrived in time, otherwise as
    /// [`recv`](Self::recv).
    pub fn recv_deadline(&self, deadline: Instant) -> Result<Received<T, R::Frame>, RecvTimeoutError> {
        match self.frame(Wait::Until(deadline)) {
            Outcome::Frame(frame) => Received::validate(frame).map_err(RecvTimeoutError::Invalid),
            Outcome::NotReady => Err(RecvTimeoutError::Timeout),
            Outcome::Failed(e) => Err(e.into()),
        }
    }

    /// Waits for the next message and returns it as an owned `T`: the
    /// validated archive deserialized, the frame released at once.
    ///
    /// # Errors
    /// As [`recv`](Self::recv); a custom `Deserialize` impl that fails is
    /// [`RecvError::Invalid`] too (derived impls do not fail).
    pub fn recv_owned(&self) -> Result<T, RecvError> {
        let received = self.recv()?;
        received.owned().map_err(RecvError::Invalid)
    }

    /// As [`recv_owned`](Self::recv_owned), if a message is ready now.
    ///
    /// # Errors
    /// As [`try_recv`](Self::try_recv).
    pub fn try_recv_owned(&self) -> Result<T, TryRecvError> {
        let received = self.try_recv()?;
        received.owned().map_err(TryRecvError::Invalid)
    }

    /// As [`recv_owned`](Self::recv_owned), waiting at most `timeout`.
    ///
    /// # Errors
    /// As [`recv_timeout`](Self::recv_timeout).
    pub fn recv_timeout_owned(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let received = self.recv_timeout(timeout)?;
        received.owned().map_err(RecvTimeoutError::Invalid)
    }

    /// How full the channel is, where the backend counts messages (see
    /// [`Occupancy`]); `None` where it cannot tell.
    pub fn occupancy(&self) -> Option<Occupancy> {
        self.raw.occupancy()
    }

    /// Messages waiting in the channel (crossbeam's `len`); `None` where
    /// the backend cannot tell (see [`Occupancy`]). A snapshot: other ends
    /// may change it the next moment.
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

impl<T, R: Clone> Clone for Receiver<T, R> {
    fn clone(&self) -> Self {
        Receiver::from_raw(self.raw.clone())
    }
}
