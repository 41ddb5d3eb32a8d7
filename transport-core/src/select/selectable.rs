//! [`Selectable`]: what a [`Select`](super::Select) can wait on.

use std::{
    io,
    task::{Context, Poll},
};

use crate::{connection::Connection, ready::PollRecv, receiver::Receiver};

/// A receiving end whose readiness can be waited on: every typed
/// [`Receiver`] and [`Connection`] whose backend end implements
/// [`PollRecv`] (all the workspace's backends do; the pipe with its
/// `tokio` feature).
///
/// The trait is object-safe, so one [`Select`](super::Select) or
/// [`wait`](super::wait) holds ends of different message types and
/// backends at once.
pub trait Selectable {
    /// As [`PollRecv::poll_recv_ready`]: `Ready(Ok(()))` when a receive
    /// may make progress (a message, a disconnect, an error to report),
    /// otherwise `cx`'s waker is woken when that may have changed.
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// As [`PollRecv::register_recv_ready`]: as `poll_ready`, without a
    /// spin of the end's own before it registers.
    fn register(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(cx)
    }

    /// As [`PollRecv::recv_ready_now`]: whether the end is ready now, where
    /// it can tell without waiting or registering.
    fn ready_now(&self) -> Option<bool> {
        None
    }
}

impl<T, R: PollRecv> Selectable for Receiver<T, R> {
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.raw().poll_recv_ready(cx)
    }

    fn register(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.raw().register_recv_ready(cx)
    }

    fn ready_now(&self) -> Option<bool> {
        self.raw().recv_ready_now()
    }
}

impl<Out, In, E: PollRecv> Selectable for Connection<Out, In, E> {
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.raw().poll_recv_ready(cx)
    }

    fn register(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.raw().register_recv_ready(cx)
    }

    fn ready_now(&self) -> Option<bool> {
        self.raw().recv_ready_now()
    }
}

impl<S: Selectable + ?Sized> Selectable for &S {
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        (**self).poll_ready(cx)
    }

    fn register(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        (**self).register(cx)
    }

    fn ready_now(&self) -> Option<bool> {
        (**self).ready_now()
    }
}
