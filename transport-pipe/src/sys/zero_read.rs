//! Windows, feature `tokio`: readability of the named pipe through a
//! zero-byte overlapped read and a registered wait (what libuv does for
//! pipes it cannot give to a completion port).
//!
//! The pipe handle is already used for overlapped I/O with events by this
//! crate (its reads, and writes that may outlive a send), so it cannot be
//! handed to tokio's named-pipe types, which would issue reads of their own
//! into their own buffers, nor tied to a completion port, which would then
//! receive the completions of every one of those operations. Instead:
//!
//! - a *zero-byte* overlapped `ReadFile` is issued when the task must
//!   wait. On a byte-mode pipe it completes as soon as data is there (or
//!   the pipe breaks) and consumes nothing, so the bytes stay for the real
//!   read;
//! - its event is waited on by the system thread pool
//!   (`registered_wait.rs`, once per end, for the end's life): a pool wait
//!   thread serves up to 63 such waits, so there is no thread per channel,
//!   and the callback only wakes the task;
//! - the end's drop unregisters the wait (waiting for a callback that may
//!   be running), then cancels the read and waits for it, before the
//!   handle closes or moves to a child.

use std::{
    fmt, io, mem, ptr,
    sync::Mutex,
    task::{Context, Poll},
};
use transport_core::sync::LockExt;

use windows_sys::Win32::{
    Foundation::{ERROR_IO_PENDING, GetLastError, HANDLE, STATUS_PENDING},
    Storage::FileSystem::ReadFile,
    System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED},
};

use super::registered_wait::{RegisteredWait, Side};

/// The zero-byte read of one pipe handle and its registered wait.
pub(crate) struct Watch {
    state: Mutex<Option<Armed>>,
}

/// Everything that exists once the end has waited once.
struct Armed {
    pipe: HANDLE,
    ov: Box<OVERLAPPED>,
    in_flight: bool,
    /// The event the read signals, and its wait; dropped after the read
    /// is cancelled (see `Drop`).
    wait: RegisteredWait,
}

// SAFETY: the raw pipe handle is process-wide and usable from any thread;
// the `OVERLAPPED` is owned and only touched under the `Watch`'s lock.
unsafe impl Send for Armed {}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let armed = self.state.lock_unpoisoned().is_some();
        f.debug_struct("Watch").field("armed", &armed).finish()
    }
}

impl Armed {
    fn new(pipe: HANDLE) -> io::Result<Armed> {
        Ok(Armed {
            pipe,
            // SAFETY: an all-zero OVERLAPPED is the documented initial state.
            ov: Box::new(unsafe { mem::zeroed() }),
            in_flight: false,
            wait: RegisteredWait::new()?,
        })
    }

    /// Whether the zero-byte read in flight has completed (its status is
    /// no longer `STATUS_PENDING`); collects it if so.
    fn completed(&mut self) -> bool {
        // SAFETY: the kernel writes `Internal` when the operation ends; read
        // it as a value that may change under us.
        let status = unsafe { ptr::read_volatile(&raw const self.ov.Internal) };
        if status == STATUS_PENDING as usize {
            return false;
        }
        let mut n = 0u32;
        // SAFETY: the operation of `self.ov` has finished; this only collects
        // its result (bWait = FALSE).
        unsafe { GetOverlappedResult(self.pipe, &raw const *self.ov, &mut n, 0) };
        self.in_flight = false;
        true
    }

    /// Starts the zero-byte read: `true` if it is now pending, `false` if
    /// it completed at once (data is there, or the pipe broke).
    fn start(&mut self) -> io::Result<bool> {
        // SAFETY: an all-zero OVERLAPPED is the documented initial state.
        *self.ov = unsafe { mem::zeroed() };
        self.ov.hEvent = self.wait.event();
        let mut byte = 0u8;
        // SAFETY: a read of zero bytes writes nothing into `byte`; the
        // OVERLAPPED lives in `self`, which waits for the operation before it
        // is freed (see `Drop`).
        let ok = unsafe {
            ReadFile(
                self.pipe,
                (&raw mut byte).cast(),
                0,
                ptr::null_mut(),
                &raw mut *self.ov,
            )
        };
        if ok != 0 {
            return Ok(false);
        }
        // SAFETY: GetLastError has no preconditions.
        match unsafe { GetLastError() } {
            ERROR_IO_PENDING => {
                self.in_flight = true;
                Ok(true)
            }
            // A broken pipe: the end of the stream, which the receive reports.
            code if super::windows::is_broken(code) => Ok(false),
            code => Err(io::Error::from_raw_os_error(code as i32)),
        }
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        // The read goes first (its end may signal the event once more: a
        // spurious wake-up); then `wait` unregisters, with the fields.
        if self.in_flight {
            let mut n = 0u32;
            // SAFETY: cancels this read only, then waits (bWait = TRUE) until
            // it is finished, so the OVERLAPPED is not freed while in use.
            unsafe {
                CancelIoEx(self.pipe, &raw const *self.ov);
                GetOverlappedResult(self.pipe, &raw const *self.ov, &mut n, 1);
            }
        }
    }
}

impl Watch {
    pub(crate) fn new() -> Self {
        Watch {
            state: Mutex::new(None),
        }
    }

    /// Calls `attempt` (which reads what the pipe holds, without waiting)
    /// until it says the receive side is ready; otherwise arms the
    /// zero-byte read and returns `Pending`, to be woken when data arrives.
    pub(crate) fn poll_read(
        &self,
        pipe: HANDLE,
        cx: &mut Context<'_>,
        attempt: &mut dyn FnMut() -> bool,
    ) -> Poll<io::Result<()>> {
        let mut state = self.state.lock_unpoisoned();
        if state.is_none() {
            match Armed::new(pipe) {
                Ok(armed) => *state = Some(armed),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        let Some(armed) = state.as_mut() else {
            unreachable!("armed just above")
        };
        // A zero-byte read that keeps completing at once while `attempt`
        // finds nothing would spin here: after a few rounds, poll again
        // later instead.
        for _ in 0..4 {
            if attempt() {
                return Poll::Ready(Ok(()));
            }
            // Register first: a completion from now on wakes this task.
            armed.wait.set_waker(Side::Recv, cx.waker());
            if armed.in_flight {
                if armed.completed() {
                    continue;
                }
                return Poll::Pending;
            }
            match armed.start() {
                Ok(true) => return Poll::Pending,
                Ok(false) => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
