//! The iterators of a [`Receiver`]: blocking, non-blocking, with a timeout
//! per message, and owning.

use std::time::Duration;

use crate::{
    error::{RecvError, RecvTimeoutError, TryRecvError},
    message::Message,
    raw::RawReceiver,
    received::Received,
    receiver::Receiver,
};

impl<T: Message, R: RawReceiver> Receiver<T, R> {
    /// A blocking iterator that ends when the channel is disconnected and
    /// drained; it yields every other error, so nothing is skipped silently.
    /// `for msg in &rx` is the same.
    pub fn iter(&self) -> Iter<'_, T, R> {
        Iter::new(self)
    }

    /// An iterator over the messages ready now; it ends at the first
    /// moment the channel is empty or disconnected.
    pub fn try_iter(&self) -> TryIter<'_, T, R> {
        TryIter::new(self)
    }

    /// An iterator that waits at most `timeout` for each message: it ends
    /// when none came in that time, or when the channel is disconnected and
    /// drained, and yields every other error.
    pub fn iter_timeout(&self, timeout: Duration) -> TimeoutIter<'_, T, R> {
        TimeoutIter::new(self, timeout)
    }

    /// As [`iter`](Self::iter), yielding owned values.
    pub fn iter_owned(&self) -> impl Iterator<Item = Result<T, RecvError>> + '_ {
        self.iter()
            .map(|msg| msg.and_then(|received| received.owned().map_err(RecvError::Invalid)))
    }
}

impl<'r, T: Message, R: RawReceiver> IntoIterator for &'r Receiver<T, R> {
    type Item = Result<Received<T, R::Frame>, RecvError>;
    type IntoIter = Iter<'r, T, R>;

    fn into_iter(self) -> Iter<'r, T, R> {
        self.iter()
    }
}

impl<T: Message, R: RawReceiver> IntoIterator for Receiver<T, R> {
    type Item = Result<Received<T, R::Frame>, RecvError>;
    type IntoIter = IntoIter<T, R>;

    fn into_iter(self) -> IntoIter<T, R> {
        IntoIter::new(self)
    }
}

/// See [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'r, T, R> {
    receiver: &'r Receiver<T, R>,
}

impl<'r, T, R> Iter<'r, T, R> {
    pub(crate) fn new(receiver: &'r Receiver<T, R>) -> Self {
        Iter { receiver }
    }
}

impl<T: Message, R: RawReceiver> Iterator for Iter<'_, T, R> {
    type Item = Result<Received<T, R::Frame>, RecvError>;

    fn next(&mut self) -> Option<Self::Item> {
        until_disconnected(self.receiver.recv())
    }
}

/// See [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'r, T, R> {
    receiver: &'r Receiver<T, R>,
}

impl<'r, T, R> TryIter<'r, T, R> {
    pub(crate) fn new(receiver: &'r Receiver<T, R>) -> Self {
        TryIter { receiver }
    }
}

impl<T: Message, R: RawReceiver> Iterator for TryIter<'_, T, R> {
    type Item = Result<Received<T, R::Frame>, TryRecvError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.receiver.try_recv() {
            Err(TryRecvError::Empty | TryRecvError::Disconnected | TryRecvError::Closed) => None,
            other => Some(other),
        }
    }
}

/// See [`Receiver::iter_timeout`].
#[derive(Debug)]
pub struct TimeoutIter<'r, T, R> {
    receiver: &'r Receiver<T, R>,
    timeout: Duration,
}

impl<'r, T, R> TimeoutIter<'r, T, R> {
    pub(crate) fn new(receiver: &'r Receiver<T, R>, timeout: Duration) -> Self {
        TimeoutIter { receiver, timeout }
    }
}

impl<T: Message, R: RawReceiver> Iterator for TimeoutIter<'_, T, R> {
    type Item = Result<Received<T, R::Frame>, RecvTimeoutError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.receiver.recv_timeout(self.timeout) {
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected | RecvTimeoutError::Closed) => {
                None
            }
            other => Some(other),
        }
    }
}

/// The iterator `for msg in rx` makes: as [`Iter`], owning the receiver.
#[derive(Debug)]
pub struct IntoIter<T, R> {
    receiver: Receiver<T, R>,
}

impl<T, R> IntoIter<T, R> {
    pub(crate) fn new(receiver: Receiver<T, R>) -> Self {
        IntoIter { receiver }
    }
}

impl<T: Message, R: RawReceiver> Iterator for IntoIter<T, R> {
    type Item = Result<Received<T, R::Frame>, RecvError>;

    fn next(&mut self) -> Option<Self::Item> {
        until_disconnected(self.receiver.recv())
    }
}

fn until_disconnected<G>(result: Result<G, RecvError>) -> Option<Result<G, RecvError>> {
    match result {
        Err(RecvError::Disconnected | RecvError::Closed) => None,
        other => Some(other),
    }
}
