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
