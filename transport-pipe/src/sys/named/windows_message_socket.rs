//! Windows: [`MessageSocket`], a message-mode pipe's handle as
//! `windows_message.rs` uses it: the pipe's own socket (its writes, the
//! rest of a long message, `PeekNamedPipe`) and the one read of a
//! message's first part that may stay in flight between receives
//! (`windows_read_ahead.rs`), which every receive at a message's start
//! takes.
//!
//! With the `tokio` feature a task waiting to receive waits for that read
//! to end, and one waiting to send for the socket's write still running
//! (a message longer than the pipe's buffer, which the peer is reading)
//! to end; both through a one-time wait of the system thread pool on the
//! operation's manual-reset event (`one_shot_wait.rs`), the same event a
//! blocking call waits on.

use std::{io, mem::MaybeUninit, os::windows::io::AsRawHandle, sync::Mutex};

use transport_core::{backend::Wait, sync::LockExt};

use super::{
    windows_message::{FIRST, MessageIo, MessageRead},
    windows_read_ahead::ReadAhead,
};
use crate::sys::windows::{Socket, wait_event};

/// A message-mode pipe: the socket and its read ahead.
#[derive(Debug)]
pub(crate) struct MessageSocket {
    /// Declared before the socket: dropped (its read cancelled and waited
    /// for) before the handle closes.
    ahead: Mutex<ReadAhead>,
    /// The wait of a task for the write still running; dropped before the
    /// socket and its write event.
    #[cfg(feature = "tokio")]
    write_wait: Mutex<Option<crate::sys::one_shot_wait::OneShotWait>>,
    sock: Socket,
}

impl MessageSocket {
    pub(crate) fn new(sock: Socket) -> io::Result<MessageSocket> {
        Ok(MessageSocket {
            ahead: Mutex::new(ReadAhead::new(sock.as_raw_handle(), FIRST)?),
            #[cfg(feature = "tokio")]
            write_wait: Mutex::new(None),
            sock,
        })
    }
}

impl MessageIo for MessageSocket {
    fn read_first(&self, out: &mut Vec<u8>, wait: Wait) -> io::Result<MessageRead> {
        let mut ahead = self.ahead.lock_unpoisoned();
        loop {
            if let Some(read) = ahead.try_take(out)? {
                return Ok(read);
            }
            if wait.expired() {
                // The read stays in flight, for the next receive.
                return Err(io::ErrorKind::WouldBlock.into());
            }
            // SAFETY: the read ahead's event, which it owns and keeps open
            // while borrowed; manual-reset, so this consumes nothing a
            // task's wait needs. Ended or timed out, the loop looks.
            unsafe { wait_event(ahead.event(), wait) };
        }
    }

    fn read_message(&self, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<MessageRead> {
        // The rest of a message is read only once its first part was
        // taken, and no read ahead starts before the message is whole.
        debug_assert!(!self.ahead.lock_unpoisoned().running());
        self.sock.read_message(buf, wait)
    }

    fn message_left(&self) -> io::Result<Option<u32>> {
        self.sock.message_left()
    }

    fn send_message(
        &self,
        data: Vec<u8>,
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<()> {
        self.sock.send_message(data, wait, on_readable)
    }

    fn settle(&self, wait: Wait) -> io::Result<()> {
        self.sock.settle(wait)
    }

    #[cfg(feature = "tokio")]
    fn watch_first(&self, cx: &mut std::task::Context<'_>) -> io::Result<bool> {
        self.ahead.lock_unpoisoned().watch(cx.waker())
    }

    #[cfg(feature = "tokio")]
    fn poll_write(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let mut wait = self.write_wait.lock_unpoisoned();
        let Some(event) = self.sock.running_write() else {
            return Poll::Ready(Ok(()));
        };
        // SAFETY: `event` is the socket's manual-reset write event, which
        // stays open as long as `self.sock`, dropped after `write_wait`
        // (field order); every wait in `write_wait` is on it.
        if let Err(e) = unsafe { crate::sys::one_shot_wait::OneShotWait::arm(&mut wait, event, cx.waker()) } {
            return Poll::Ready(Err(e));
        }
        // Armed first: an end from now on wakes the task.
        match self.sock.running_write() {
            Some(_) => Poll::Pending,
            None => Poll::Ready(Ok(())),
        }
    }
}
