//! Windows: the one read of a message's first part that a message-mode
//! pipe may have in flight, into a buffer of its own.
//!
//! A byte pipe learns that data came from a zero-byte read, which takes
//! nothing (`zero_read.rs`). On a message-mode pipe that would take a
//! zero-length message (Python sends them) whole, and a read left waiting
//! would compete with the next real read for the next message. So here
//! the wait is the real read: the first part of the next message (at most
//! the `FIRST` bytes (`windows_message.rs`) a receive reads at a
//! message's start) is read into [`ReadAhead`]'s buffer, and
//! - every read at a message's start takes it: the one in flight (waited
//!   for as the receive's `Wait` allows, and left in flight when that runs
//!   out, never cancelled), or one that ended meanwhile, or a new one. So
//!   at most one read is ever in flight, and messages keep their order, an
//!   empty one included;
//! - a task waiting to receive (feature `tokio`) leaves it in flight and
//!   is woken by the system thread pool when it ends (`one_shot_wait.rs`,
//!   on the read's manual-reset event, which blocking receives wait on
//!   too);
//! - the rest of a message longer than the buffer (`ERROR_MORE_DATA`) is
//!   read by the receive itself, straight into its own buffer: no read
//!   ahead is started until the message has been read whole;
//! - a read cancelled because the thread that started it exited (Windows
//!   cancels a thread's overlapped operations then; pipe reads are started
//!   by whichever thread receives) ended before it took anything
//!   (`ERROR_OPERATION_ABORTED`, no bytes): it is simply started again;
//! - the drop cancels a read still in flight and waits for it, before the
//!   pipe's handle closes. A message-mode pipe end never changes hands (a
//!   [`NamedEnd`](crate::NamedEnd) has no hand-off), so a read ahead that
//!   holds a message is never stranded in this process; a hand-off added
//!   one day must refuse while [`ReadAhead::holds`] says so.

use std::{
    io,
    os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle},
    ptr,
};

use windows_sys::Win32::{
    Foundation::{ERROR_IO_PENDING, ERROR_MORE_DATA, GetLastError, HANDLE, STATUS_PENDING},
    Storage::FileSystem::ReadFile,
    System::{
        IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED},
        Threading::CreateEventW,
    },
};

use super::windows_message::MessageRead;
use crate::sys::windows::{is_broken, message_read};

/// Where the read stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No read in flight, nothing held.
    Idle,
    /// A read in flight (maybe ended, not yet collected).
    Reading,
    /// A read ended with the first `n` bytes of the buffer: a whole
    /// message or its first part.
    Holds(MessageRead),
}

/// The read ahead of one message-mode pipe handle.
pub(crate) struct ReadAhead {
    /// Declared first: dropped after the read is cancelled (see `Drop`),
    /// before the event closes.
    #[cfg(feature = "tokio")]
    wait: Option<crate::sys::one_shot_wait::OneShotWait>,
    pipe: HANDLE,
    /// Boxed, so neither moves while the kernel writes into them.
    ov: Box<OVERLAPPED>,
    buf: Box<[u8]>,
    state: State,
    /// Manual-reset: signalled when a read ends, reset when one starts.
    event: OwnedHandle,
}

// SAFETY: the raw pipe handle is process-wide and usable from any thread;
// the buffer and the `OVERLAPPED` are owned and only touched through
// `&mut self`.
unsafe impl Send for ReadAhead {}

impl std::fmt::Debug for ReadAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadAhead")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ReadAhead {
    /// A read ahead of at most `len` bytes of each message on `pipe`, which
    /// must stay open until this is dropped.
    pub(crate) fn new(pipe: HANDLE, len: usize) -> io::Result<ReadAhead> {
        // SAFETY: a manual-reset, unsignalled, unnamed event with default
        // security; CreateEventW returns a new handle or null.
        let h = unsafe { CreateEventW(ptr::null(), 1, 0, ptr::null()) };
        if h.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(ReadAhead {
            #[cfg(feature = "tokio")]
            wait: None,
            pipe,
            // SAFETY: an all-zero OVERLAPPED is the documented initial state.
            ov: Box::new(unsafe { std::mem::zeroed() }),
            buf: vec![0; len.min(u32::MAX as usize)].into_boxed_slice(),
            state: State::Idle,
            // SAFETY: `h` is a new handle that nothing else owns.
            event: unsafe { OwnedHandle::from_raw_handle(h) },
        })
    }

    /// The event a read's end signals (manual-reset), for blocking waits.
    pub(crate) fn event(&self) -> HANDLE {
        self.event.as_raw_handle()
    }

    /// Whether a read ended with bytes of a message that nobody took yet.
    #[allow(
        dead_code,
        reason = "the guard a hand-off of a message-mode pipe end would need"
    )]
    pub(crate) fn holds(&self) -> bool {
        matches!(
            self.state,
            State::Holds(MessageRead::Whole(_) | MessageRead::Part(_))
        )
    }

    /// Whether a read is in flight and has not ended.
    pub(crate) fn running(&self) -> bool {
        self.state == State::Reading && !self.ended()
    }

    /// Takes the first part of the next message if its read has ended,
    /// appending its bytes to `out`; starts the read if none is in flight.
    /// `None` while the read runs (it stays in flight).
    pub(crate) fn try_take(&mut self, out: &mut Vec<u8>) -> io::Result<Option<MessageRead>> {
        loop {
            match self.state {
                State::Idle => self.start()?,
                State::Reading if !self.ended() => return Ok(None),
                State::Reading => self.collect()?,
                State::Holds(read) => {
                    let n = match read {
                        MessageRead::Whole(n) | MessageRead::Part(n) => n,
                        MessageRead::End => 0,
                    };
                    out.extend_from_slice(&self.buf[..n]);
                    self.state = State::Idle;
                    return Ok(Some(read));
                }
            }
        }
    }

    /// Whether the read in flight has ended: its status is no longer
    /// `STATUS_PENDING` (what `HasOverlappedIoCompleted` looks at).
    fn ended(&self) -> bool {
        // SAFETY: the kernel writes `Internal` when the operation ends; read
        // it as a value that may change under us.
        let status = unsafe { ptr::read_volatile(&raw const self.ov.Internal) };
        status != STATUS_PENDING as usize
    }

    /// Starts a read into the buffer: `Reading` (also when it ended at
    /// once: its result is collected as any other's), or `Holds(End)`.
    fn start(&mut self) -> io::Result<()> {
        // SAFETY: an all-zero OVERLAPPED is the documented initial state.
        *self.ov = unsafe { std::mem::zeroed() };
        self.ov.hEvent = self.event.as_raw_handle();
        // SAFETY: the buffer and the OVERLAPPED are boxed in `self`, which
        // waits for the read before it frees them (see `Drop`), and the
        // pipe stays open that long (`new`'s contract). ReadFile resets the
        // event as the read starts.
        let ok = unsafe {
            ReadFile(
                self.pipe,
                self.buf.as_mut_ptr().cast(),
                self.buf.len() as u32,
                ptr::null_mut(),
                &raw mut *self.ov,
            )
        };
        // SAFETY: GetLastError has no preconditions.
        let code = if ok != 0 { 0 } else { unsafe { GetLastError() } };
        self.state = match code {
            // Started: pending, or ended at once (the OVERLAPPED has the
            // result either way).
            0 | ERROR_IO_PENDING | ERROR_MORE_DATA => State::Reading,
            code if is_broken(code) => State::Holds(MessageRead::End),
            code => return Err(io::Error::from_raw_os_error(code as i32)),
        };
        Ok(())
    }

    /// Collects the result of the read that ended.
    fn collect(&mut self) -> io::Result<()> {
        let mut n = 0u32;
        // SAFETY: the operation of `self.ov` has ended; this only collects
        // its result (bWait = FALSE).
        let ok = unsafe { GetOverlappedResult(self.pipe, &raw const *self.ov, &mut n, 0) } != 0;
        // SAFETY: GetLastError has no preconditions.
        let code = if ok { 0 } else { unsafe { GetLastError() } };
        self.state = State::Idle;
        match message_read(ok, code, n) {
            Ok(read) => self.state = State::Holds(read),
            // Cancelled as the thread that started it exited, before it
            // took anything: read again.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Makes the end of the read in flight wake `waker` (at once if it
    /// ended already); whether one is in flight and still running, so the
    /// task may wait for it.
    #[cfg(feature = "tokio")]
    pub(crate) fn watch(&mut self, waker: &std::task::Waker) -> io::Result<bool> {
        if self.state != State::Reading {
            return Ok(false);
        }
        let event = self.event();
        // SAFETY: the event is manual-reset, owned by `self` and closed only
        // after `self.wait` is dropped (field order), and every wait in
        // `self.wait` is on it.
        unsafe { crate::sys::one_shot_wait::OneShotWait::arm(&mut self.wait, event, waker) }?;
        // Armed first: an end from now on wakes the task.
        Ok(!self.ended())
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // The read goes first (its end signals the event: at most a spurious
        // wake-up); then `wait` unregisters, and the event closes.
        if self.state == State::Reading {
            let mut n = 0u32;
            // SAFETY: cancels this read only, then waits (bWait = TRUE, on
            // the manual-reset event nothing else consumes) until it has
            // ended, so the buffer and the OVERLAPPED are not freed in use.
            unsafe {
                CancelIoEx(self.pipe, &raw const *self.ov);
                GetOverlappedResult(self.pipe, &raw const *self.ov, &mut n, 1);
            }
        }
    }
}
