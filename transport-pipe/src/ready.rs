//! Async readiness (feature `tokio`): [`PollRecv`] and [`PollSend`] for
//! the ends, so `transport-adapters` (or any runtime code) can wait for an
//! end without blocking a thread.
//!
//! - **Receiving** is ready when the receive queue holds a frame (or the
//!   end of the stream, or an error). The queue is filled by reads of the
//!   socket, and not only the receiver's: a writer that waits for room reads
//!   incoming bytes too, so that two ends writing to each other never wait
//!   for each other (see [Coalescing](crate#coalescing)). So a waiting task
//!   is woken by the socket's readability (tokio's reactor on Unix, a
//!   zero-byte read on Windows: see `sys/`) *and* by any read that made
//!   progress; both are registered with the queue locked, after it was
//!   found empty.
//! - **Sending** is ready when the backlog has room (a non-blocking send
//!   fails with `Full` only when it has none), or the peer is gone. Room is
//!   made by the flusher thread or a lone write, which wake the waiting task
//!   when they give bytes to the operating system; the socket's writability
//!   is the flusher's business, not the task's.
//!
//! One task per direction and end is woken (the latest to wait), as with
//! tokio's `AsyncFd`.

use std::{
    io,
    task::{Context, Poll},
};

use transport_core::backend::{PollRecv, PollSend};

use crate::end::{PipeEnd, PipeReceiver, PipeSender};

impl PipeEnd {
    fn poll_room(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.shared().poll_room(cx.waker()) {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

impl PollRecv for PipeEnd {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shared().poll_readable(cx)
    }
}

impl PollSend for PipeEnd {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_room(cx)
    }
}

impl PollRecv for PipeReceiver {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_recv_ready(cx)
    }
}

impl PollSend for PipeSender {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_send_ready(cx)
    }
}
