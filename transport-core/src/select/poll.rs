//! `Connection::poll`: Python's `poll`, a wait on one receiver.

use std::time::Duration;

use super::block::poll_one;
use crate::{connection::Connection, error::ReadyError, ready::PollRecv};

impl<Out, In, E: PollRecv> Connection<Out, In, E> {
    /// Whether a receive would not block within `timeout`: a message is
    /// there, or the peer is gone (Python's `Connection.poll`). A hint, as
    /// for [`Select`](super::Select): receive with `try_recv` after it.
    ///
    /// # Errors
    /// [`ReadyError::Untracked`] when the
    /// backend cannot track the end's readiness.
    pub fn poll(&self, timeout: Duration) -> Result<bool, ReadyError> {
        poll_one(self, timeout)
    }
}
