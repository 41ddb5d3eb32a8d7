//! [`Lend`]: a two-way end lent to the typed one-way wrappers for one call.

use std::{
    io,
    task::{Context, Poll},
};

use transport_core::{Fill, PollRecv, PollSend, RawReceiver, RawRecvError, RawSendError, RawSender, Wait};

/// A borrowed end, so a connection can use `Sender` / `Receiver` methods.
#[derive(Debug)]
pub(crate) struct Lend<'e, E>(pub(crate) &'e E);

impl<E: RawSender + Sync> RawSender for Lend<'_, E> {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        self.0.send_frame(wait, fill)
    }

    fn max_message_size(&self) -> usize {
        self.0.max_message_size()
    }

    fn send_bytes(&self, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        self.0.send_bytes(bytes, wait)
    }
}

impl<E: RawReceiver + Sync> RawReceiver for Lend<'_, E> {
    type Frame = E::Frame;

    fn recv_frame(&self, wait: Wait) -> Result<E::Frame, RawRecvError> {
        self.0.recv_frame(wait)
    }
}

impl<E: PollSend + Sync> PollSend for Lend<'_, E> {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_send_ready(cx)
    }
}

impl<E: PollRecv + Sync> PollRecv for Lend<'_, E> {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_recv_ready(cx)
    }
}
