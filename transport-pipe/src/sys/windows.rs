//! Windows: a named pipe connected at creation, handed to a child by
//! duplicating its handle.
//!
//! - The server instance is created through interprocess with a random
//!   128-bit name, `FILE_FLAG_FIRST_PIPE_INSTANCE`, an instance limit of
//!   one, `PIPE_REJECT_REMOTE_CLIENTS` and a security descriptor that lets
//!   only the current user in (`D:P(A;;GA;;;<user SID>)`). This process
//!   connects the client side at once and checks, with
//!   `GetNamedPipeClientProcessId`, that the client is itself; a stray
//!   process that connected first makes it start over with a new name. Once
//!   connected, the single instance is taken: any other `CreateFile` on the
//!   name fails with `ERROR_PIPE_BUSY`. Named pipes live in the kernel's
//!   pipe file system, not on disk, and the name disappears with the last
//!   handle, so a crash leaves nothing behind.
//! - Both handles are opened for overlapped I/O: waits honour deadlines
//!   (`CancelIoEx` at the deadline), and tokio's named-pipe types accept
//!   them.
//! - Hand-off: the parent keeps the handle open, creates the hand-off's
//!   claim (a named, owner-only semaphore with one unit, `claim.rs`) and
//!   writes its process id, the handle's value, the claim's and the pipe's
//!   name into the token; the child opens the parent with
//!   `PROCESS_DUP_HANDLE`, takes the claim's unit, and only then moves the
//!   handle into itself (`DUPLICATE_CLOSE_SOURCE`) and checks that it is
//!   that very pipe (a pipe, whose server is the process that made the
//!   pair, under that random name). So the hand-off is used once: a second
//!   child (the same `Command` spawned twice) finds no unit and is told the
//!   end was already used, without touching a handle of the parent.
//!   Nothing is inherited, so no other child spawned meanwhile can get it.
//!   A child that exits without opening the end would leave the parent's
//!   copy open (and the other end would see no `Disconnected`) until the
//!   parent exits; told the child (`transport_core::spawned`), the parent
//!   takes the unit itself when the child exits and closes its copy
//!   (`handoff_watch.rs`). The cost:
//!   any process of the same user may duplicate handles
//!   out of the parent (Windows gives it `PROCESS_DUP_HANDLE` on its own
//!   processes), so the hand-off is bound to the user, not to the child.
//! - A write the pipe has not finished when its wait ends stays in flight
//!   (it is never cancelled while the end lives: a pipe write cancelled
//!   part way cannot say how much went out); the next write waits for it,
//!   closing (a drop, a close, a hand-off) waits for it within the end's
//!   linger (`settle`), and the socket's drop cancels it if it is still
//!   running after that, so closing never waits for a peer that does not
//!   read, and never drops a write it had time to finish. Every write is
//!   started by a thread of the end's own (`write_issuer.rs`): Windows
//!   cancels a thread's overlapped operations when it exits, and a thread
//!   that sends and then ends must not cut its last write short.
//! - A broken pipe (`ERROR_BROKEN_PIPE`, `ERROR_NO_DATA`,
//!   `ERROR_PIPE_NOT_CONNECTED`) is the end of the stream on receive and
//!   `BrokenPipe` on send, like `EOF` and `EPIPE` on Unix.

use std::{
    hash::{BuildHasher, RandomState},
    io::{self, IoSlice},
    mem::{self, MaybeUninit},
    num::NonZeroU8,
    os::windows::io::{
        AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, IntoRawHandle, OwnedHandle, RawHandle,
    },
    process::Command,
    ptr,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};
use transport_core::sync::LockExt;

use interprocess::os::windows::{
    named_pipe::{PipeListenerOptions, PipeMode, pipe_mode},
    security_descriptor::SecurityDescriptor,
};
use transport_core::{OpenError, backend::Wait};
use widestring::{U16CString, U16String};
use windows_sys::Win32::{
    Foundation::{
        DUPLICATE_CLOSE_SOURCE, DUPLICATE_SAME_ACCESS, DuplicateHandle, ERROR_ACCESS_DENIED,
        ERROR_BROKEN_PIPE, ERROR_INVALID_PARAMETER, ERROR_IO_PENDING, ERROR_MORE_DATA, ERROR_NO_DATA,
        ERROR_OPERATION_ABORTED, ERROR_PIPE_BUSY, ERROR_PIPE_CONNECTED, ERROR_PIPE_NOT_CONNECTED,
        GENERIC_READ, GENERIC_WRITE, GetLastError, HANDLE, INVALID_HANDLE_VALUE, LocalFree, WAIT_OBJECT_0,
    },
    Security::{
        Authorization::ConvertSidToStringSidW, GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser,
    },
    Storage::FileSystem::{
        CreateFileW, FILE_FLAG_OVERLAPPED, FILE_TYPE_PIPE, FileNameInfo, GetFileInformationByHandleEx,
        GetFileType, OPEN_EXISTING, ReadFile, SECURITY_IDENTIFICATION, SECURITY_SQOS_PRESENT,
    },
    System::{
        IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED},
        Pipes::{ConnectNamedPipe, GetNamedPipeClientProcessId, GetNamedPipeServerProcessId, PeekNamedPipe},
        Threading::{
            CreateEventW, GetCurrentProcess, GetCurrentProcessId, INFINITE, OpenProcess, OpenProcessToken,
            PROCESS_DUP_HANDLE, WaitForSingleObject,
        },
    },
};

use super::claim::Claim;
use super::millis;
use super::named::windows_message::MessageRead;
use super::payload::Payload;

/// Pipes reach other processes here.
pub(crate) const CROSS_PROCESS: bool = true;
/// The system thread pool waits for a zero-byte read (see the crate
/// documentation), and wakes the task.
pub(crate) const READINESS: transport_core::Readiness = transport_core::Readiness::BridgeThread;

/// The size of each direction's buffer in the pipe.
const BUFFER: u32 = 64 << 10;

/// One end of a connected named pipe, with an event for each direction's
/// overlapped operations (reads and writes are each serialized by the
/// caller, so one event per direction is enough).
#[derive(Debug)]
pub(crate) struct Socket {
    /// Declared first, so it is dropped (and waits) before the handle closes.
    #[cfg(feature = "tokio")]
    watch: super::zero_read::Watch,
    /// Declared before the handle, so it is dropped (and waits) before the
    /// handle closes.
    in_flight: Mutex<Option<InFlight>>,
    /// Starts every write; dropped after `in_flight`, so its thread ends
    /// with no write of its own still running.
    issuer: super::write_issuer::Issuer,
    handle: OwnedHandle,
    read_event: OwnedHandle,
    write_event: OwnedHandle,
}

/// The most bytes one write copies and hands to the kernel.
const MAX_WRITE: usize = 1 << 20;

/// A write the kernel has not finished, with the buffer and `OVERLAPPED` it
/// uses. Writes are never cancelled: a pipe write cancelled after the
/// reader took part of it cannot say reliably how much went out. A write
/// still running at a send's deadline stays here, and the next send (or the
/// drop) waits for it.
struct InFlight {
    handle: HANDLE,
    ov: Box<OVERLAPPED>,
    data: Vec<u8>,
    started: bool,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("len", &self.data.len())
            .finish_non_exhaustive()
    }
}

// SAFETY: the raw handles inside (the pipe and its event) are process-wide
// and may be used from any thread; the buffers are owned.
unsafe impl Send for InFlight {}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.started {
            return;
        }
        let mut n = 0u32;
        // SAFETY: cancels this write if it is still running (the end is
        // closing, or the write finished and this does nothing), then waits
        // (bWait = TRUE) until it is over, so neither `self.ov` nor
        // `self.data` is freed while in use.
        unsafe {
            CancelIoEx(self.handle, &raw const *self.ov);
            GetOverlappedResult(self.handle, &raw const *self.ov, &mut n, 1);
        }
    }
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

/// Whether `code` means the other end is gone.
pub(crate) fn is_broken(code: u32) -> bool {
    matches!(code, ERROR_BROKEN_PIPE | ERROR_NO_DATA | ERROR_PIPE_NOT_CONNECTED)
}

/// What a finished read of a message-mode pipe got, from its outcome
/// (whether it succeeded, the error code if not, the bytes it moved): a
/// read cancelled before it took anything is `WouldBlock`.
pub(crate) fn message_read(ok: bool, code: u32, n: u32) -> io::Result<MessageRead> {
    let n = n as usize;
    match code {
        _ if ok => Ok(MessageRead::Whole(n)),
        ERROR_MORE_DATA => Ok(MessageRead::Part(n)),
        ERROR_OPERATION_ABORTED if n == 0 => Err(io::ErrorKind::WouldBlock.into()),
        ERROR_OPERATION_ABORTED => Err(io::Error::other(
            "a cancelled read of a message-mode pipe moved bytes",
        )),
        code if is_broken(code) => Ok(MessageRead::End),
        code => Err(io::Error::from_raw_os_error(code as i32)),
    }
}

fn peer_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the other end of the pipe is closed")
}

fn event() -> io::Result<OwnedHandle> {
    // SAFETY: a manual-reset, unsignalled, unnamed event with default
    // security; CreateEventW returns a new handle or null.
    let h = unsafe { CreateEventW(ptr::null(), 1, 0, ptr::null()) };
    if h.is_null() {
        return Err(last_error());
    }
    // SAFETY: `h` is a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// An overlapped operation in flight. Dropping it cancels the operation and
/// waits for it to finish, so the buffer and the `OVERLAPPED` it uses are
/// never freed while the kernel may still touch them.
struct Pending<'a> {
    handle: HANDLE,
    ov: &'a mut OVERLAPPED,
    done: bool,
}

impl Pending<'_> {
    /// Waits for the operation to finish (after cancelling it, if asked):
    /// whether it succeeded, the error code if not, and the bytes it moved.
    fn outcome(mut self, cancel: bool) -> (bool, u32, u32) {
        if cancel {
            // SAFETY: cancels only the operation that uses `self.ov`.
            unsafe { CancelIoEx(self.handle, &raw const *self.ov) };
        }
        let mut n = 0u32;
        // SAFETY: `self.ov` is the OVERLAPPED of an operation started on
        // `self.handle`; waiting (bWait = TRUE) returns once it is finished.
        let ok = unsafe { GetOverlappedResult(self.handle, &raw const *self.ov, &mut n, 1) };
        self.done = true;
        if ok != 0 {
            return (true, 0, n);
        }
        // SAFETY: GetLastError has no preconditions.
        (false, unsafe { GetLastError() }, n)
    }

    /// Waits for the operation to finish (after cancelling it, if asked);
    /// the bytes it moved.
    fn finish(self, cancel: bool) -> io::Result<usize> {
        let (ok, code, n) = self.outcome(cancel);
        if ok {
            return Ok(n as usize);
        }
        if code == ERROR_OPERATION_ABORTED {
            return if n > 0 {
                Ok(n as usize)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        Err(io::Error::from_raw_os_error(code as i32))
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut n = 0u32;
            // SAFETY: as in `finish`: cancel this operation, then wait for it.
            unsafe {
                CancelIoEx(self.handle, &raw const *self.ov);
                GetOverlappedResult(self.handle, &raw const *self.ov, &mut n, 1);
            }
        }
    }
}

/// A wait in the units `WaitForSingleObject` takes.
fn wait_ms(wait: Wait) -> u32 {
    millis(wait).map_or(INFINITE, |ms| ms.min(u64::from(INFINITE - 1)) as u32)
}

/// Waits as `wait` allows for `event` to be signalled; whether it was.
///
/// # Safety
///
/// `event` must be an event handle that stays open during the call.
pub(crate) unsafe fn wait_event(event: HANDLE, wait: Wait) -> bool {
    // SAFETY: the caller's promise: an open event handle.
    unsafe { WaitForSingleObject(event, wait_ms(wait)) == WAIT_OBJECT_0 }
}

impl Socket {
    pub(crate) fn new(handle: OwnedHandle) -> io::Result<Socket> {
        Ok(Socket {
            #[cfg(feature = "tokio")]
            watch: super::zero_read::Watch::new(),
            in_flight: Mutex::new(None),
            issuer: super::write_issuer::Issuer::new(),
            handle,
            read_event: event()?,
            write_event: event()?,
        })
    }

    fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle()
    }

    pub(crate) fn pair() -> io::Result<(Socket, Socket)> {
        let mut last = None;
        for _ in 0..3 {
            let name = random_name();
            let listener = PipeListenerOptions::new()
                .path(name.as_str())
                .mode(PipeMode::Bytes)
                .instance_limit(NonZeroU8::new(1))
                .accept_remote(false)
                .input_buffer_size_hint(BUFFER)
                .output_buffer_size_hint(BUFFER)
                .security_descriptor(Some(owner_only_descriptor()?))
                .create_duplex::<pipe_mode::Bytes>()?;
            let server = OwnedHandle::from(listener);
            match connect_client(&name) {
                Ok(client) => {
                    wait_connected(&server)?;
                    check_client_is_self(&server)?;
                    return Ok((Socket::new(server)?, Socket::new(client)?));
                }
                // A stray client took the only instance first: start over
                // under a new name; the stray keeps a dead pipe.
                Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("could not create a private named pipe")))
    }

    /// Bytes waiting to be read; `None` at the end of the stream.
    fn available(&self) -> io::Result<Option<u32>> {
        Ok(self.peek()?.map(|(avail, _)| avail))
    }

    /// `PeekNamedPipe`'s counts: the bytes waiting to be read, and of those
    /// the bytes left of the message being read (on a message-mode pipe);
    /// `None` once the peer is gone.
    fn peek(&self) -> io::Result<Option<(u32, u32)>> {
        let (mut avail, mut left) = (0u32, 0u32);
        // SAFETY: PeekNamedPipe with no buffer only reports counts, into
        // two locals.
        let ok = unsafe {
            PeekNamedPipe(
                self.raw(),
                ptr::null_mut(),
                0,
                ptr::null_mut(),
                &mut avail,
                &mut left,
            )
        };
        if ok != 0 {
            return Ok(Some((avail, left)));
        }
        // SAFETY: GetLastError has no preconditions.
        let code = unsafe { GetLastError() };
        if is_broken(code) {
            Ok(None)
        } else {
            Err(io::Error::from_raw_os_error(code as i32))
        }
    }

    /// Waits for the in-flight write `op` as `wait` allows, draining
    /// incoming bytes meanwhile: the bytes it wrote, or `None` if it is still
    /// running at the deadline.
    fn wait_write(
        &self,
        op: &InFlight,
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<Option<usize>> {
        let mut watch_read = true;
        loop {
            // Wake every millisecond to look for incoming bytes: a blocked
            // writer must keep draining them.
            let slice = wait_ms(wait).min(1);
            // SAFETY: waiting on an event this socket owns.
            if unsafe { WaitForSingleObject(self.write_event.as_raw_handle(), slice) } == WAIT_OBJECT_0 {
                let mut n = 0u32;
                // SAFETY: the operation of `op.ov` has finished (its event is
                // set); this only collects its result.
                if unsafe { GetOverlappedResult(self.raw(), &raw const *op.ov, &mut n, 0) } != 0 {
                    return Ok(Some(n as usize));
                }
                // SAFETY: GetLastError has no preconditions.
                let code = unsafe { GetLastError() };
                return Err(if is_broken(code) {
                    peer_gone()
                } else {
                    io::Error::from_raw_os_error(code as i32)
                });
            }
            if watch_read {
                watch_read = match self.available() {
                    Ok(Some(n)) if n > 0 => on_readable(),
                    _ => true,
                };
            } else {
                watch_read = true;
            }
            if wait.expired() {
                return Ok(None);
            }
        }
    }

    pub(crate) fn send(
        &self,
        bufs: &[IoSlice<'_>],
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<usize> {
        let mut slot = self.in_flight.lock_unpoisoned();
        self.finish_previous(&mut slot, wait, on_readable)?;
        // The write owns a copy of (at most MAX_WRITE of) the bytes, so it
        // can outlive this call instead of being cancelled at the deadline.
        let total = bufs.iter().map(|b| b.len()).sum::<usize>().min(MAX_WRITE);
        let mut data = Vec::with_capacity(total);
        for b in bufs {
            let room = total - data.len();
            data.extend_from_slice(&b[..b.len().min(room)]);
        }
        if data.is_empty() {
            return Ok(0);
        }
        self.start_write(&mut slot, data, wait, on_readable)
    }

    /// Writes all of `data` with one `WriteFile`: on a message-mode pipe,
    /// one message (an empty one included). Waits as `wait` allows for an
    /// earlier write to finish (`WouldBlock` if it did not), then returns
    /// as soon as the kernel has the bytes: the write may still be running
    /// (a message longer than the pipe's buffer finishes only as the peer
    /// reads it), and the next send, `settle` or the drop waits for it. So
    /// the caller counts the message as written at once, and two ends that
    /// both send a long message before they receive drain each other.
    pub(crate) fn send_message(
        &self,
        data: Vec<u8>,
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<()> {
        if u32::try_from(data.len()).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a named pipe message is at most 4 GiB - 1 bytes long",
            ));
        }
        let mut slot = self.in_flight.lock_unpoisoned();
        self.finish_previous(&mut slot, wait, on_readable)?;
        self.start_write(&mut slot, data, Wait::Never, on_readable)
            .map(drop)
    }

    /// Waits as `wait` allows for the write left in `slot`, if any.
    fn finish_previous(
        &self,
        slot: &mut Option<InFlight>,
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<()> {
        if let Some(op) = slot.as_ref() {
            let finished = self.wait_write(op, wait, on_readable);
            match finished {
                Ok(None) => return Err(io::ErrorKind::WouldBlock.into()),
                Ok(Some(_)) => *slot = None,
                Err(e) => {
                    *slot = None;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Starts one write of `data` (at most `u32::MAX` bytes) and waits for
    /// it as `wait` allows; one still running then is left in `slot`.
    fn start_write(
        &self,
        slot: &mut Option<InFlight>,
        data: Vec<u8>,
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<usize> {
        let len = data.len();
        // SAFETY: an all-zero OVERLAPPED is the documented initial state.
        let mut ov: Box<OVERLAPPED> = Box::new(unsafe { mem::zeroed() });
        ov.hEvent = self.write_event.as_raw_handle();
        let mut op = InFlight {
            handle: self.raw(),
            ov,
            data,
            started: true,
        };
        // Started by the end's own thread, not this one: a write may run on
        // after this returns, and the thread that started it cancels it
        // when it exits (see `write_issuer.rs`).
        // SAFETY: the buffer (on the heap) and the boxed OVERLAPPED belong to
        // `op`, which waits for the write to finish before it frees them (see
        // `InFlight`), and the handle outlives `op`.
        let started = unsafe {
            self.issuer
                .write(self.raw(), op.data.as_ptr(), len as u32, &raw mut *op.ov)
        };
        let started = match started {
            Ok(started) => started,
            Err(e) => {
                // Nothing was started: nothing for `op` to wait for.
                op.started = false;
                return Err(e);
            }
        };
        if !started.ok {
            let code = started.code;
            if code != ERROR_IO_PENDING {
                // The write never started: nothing for `op` to wait for.
                op.started = false;
                return Err(if is_broken(code) {
                    peer_gone()
                } else {
                    io::Error::from_raw_os_error(code as i32)
                });
            }
        }
        match self.wait_write(&op, wait, on_readable) {
            Ok(Some(n)) => Ok(n),
            // Still running: the kernel has the bytes; the next send (or the
            // socket's drop) waits for it to finish.
            Ok(None) => {
                *slot = Some(op);
                Ok(len)
            }
            Err(e) => Err(e),
        }
    }

    pub(crate) fn recv(&self, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<usize> {
        let len = match self.available()? {
            None => return Ok(0),
            Some(0) if wait.expired() => return Err(io::ErrorKind::WouldBlock.into()),
            Some(0) => buf.len(),
            Some(n) => buf.len().min(n as usize),
        };
        let len = len.min(u32::MAX as usize) as u32;
        // SAFETY: an all-zero OVERLAPPED is the documented initial state.
        let mut ov: OVERLAPPED = unsafe { mem::zeroed() };
        ov.hEvent = self.read_event.as_raw_handle();
        // SAFETY: `buf` is writable for `len` bytes, and it and `ov` outlive
        // the operation: `Pending` waits for it before either is dropped.
        let ok = unsafe { ReadFile(self.raw(), buf.as_mut_ptr().cast(), len, ptr::null_mut(), &mut ov) };
        // SAFETY: GetLastError has no preconditions.
        let code = if ok != 0 { 0 } else { unsafe { GetLastError() } };
        if ok == 0 && code != ERROR_IO_PENDING {
            return if is_broken(code) {
                Ok(0)
            } else {
                Err(io::Error::from_raw_os_error(code as i32))
            };
        }
        let pending = Pending {
            handle: self.raw(),
            ov: &mut ov,
            done: false,
        };
        // SAFETY: waiting on an event this socket owns.
        let finished = ok != 0 || unsafe { wait_event(self.read_event.as_raw_handle(), wait) };
        match pending.finish(!finished) {
            Err(e) if e.raw_os_error().is_some_and(|c| is_broken(c as u32)) => Ok(0),
            other => other,
        }
    }

    /// Reads from a message-mode pipe into `buf`, waiting as `wait` allows
    /// (`WouldBlock` if nothing came): the rest of the message if it fits
    /// (an empty message included), else as much as fits.
    pub(crate) fn read_message(&self, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<MessageRead> {
        let len = buf.len().min(u32::MAX as usize) as u32;
        // SAFETY: an all-zero OVERLAPPED is the documented initial state.
        let mut ov: OVERLAPPED = unsafe { mem::zeroed() };
        ov.hEvent = self.read_event.as_raw_handle();
        // SAFETY: `buf` is writable for `len` bytes, and it and `ov` outlive
        // the operation: `Pending` waits for it before either is dropped.
        let ok = unsafe { ReadFile(self.raw(), buf.as_mut_ptr().cast(), len, ptr::null_mut(), &mut ov) };
        // SAFETY: GetLastError has no preconditions.
        let code = if ok != 0 { 0 } else { unsafe { GetLastError() } };
        if ok == 0 && code != ERROR_IO_PENDING && code != ERROR_MORE_DATA {
            return if is_broken(code) {
                Ok(MessageRead::End)
            } else {
                Err(io::Error::from_raw_os_error(code as i32))
            };
        }
        let pending = Pending {
            handle: self.raw(),
            ov: &mut ov,
            done: false,
        };
        // SAFETY: waiting on an event this socket owns.
        let finished =
            code != ERROR_IO_PENDING || unsafe { wait_event(self.read_event.as_raw_handle(), wait) };
        let (ok, code, n) = pending.outcome(!finished);
        message_read(ok, code, n)
    }

    /// How many bytes of the message being read are still in the pipe (a
    /// message-mode pipe's `PeekNamedPipe`); `None` once the peer is gone.
    pub(crate) fn message_left(&self) -> io::Result<Option<u32>> {
        Ok(self.peek()?.map(|(_, left)| left))
    }

    /// Named pipes cannot refuse one direction: after a stream lost its
    /// framing, incoming bytes are read and dropped.
    pub(crate) fn shutdown_read(&self) {}

    /// Waits, as `wait` allows, for a write still in flight to finish.
    pub(crate) fn settle(&self, wait: Wait) -> io::Result<()> {
        let mut slot = self.in_flight.lock_unpoisoned();
        let Some(op) = slot.as_ref() else {
            return Ok(());
        };
        match self.wait_write(op, wait, &mut || true) {
            Ok(Some(_)) => {
                *slot = None;
                Ok(())
            }
            Ok(None) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "a write to the pipe did not finish in time",
            )),
            Err(e) => {
                *slot = None;
                Err(e)
            }
        }
    }

    /// The event of a write still running (its status still pending), if
    /// any: a message-mode pipe's task waiting to send waits for it
    /// (`named/windows_message_socket.rs`). Manual-reset, open as long as
    /// the socket; the next write resets it as it starts.
    #[cfg(feature = "tokio")]
    pub(crate) fn running_write(&self) -> Option<HANDLE> {
        let slot = self.in_flight.lock_unpoisoned();
        let op = slot.as_ref()?;
        // SAFETY: the kernel writes `Internal` when the write ends; read it
        // as a value that may change under us (`HasOverlappedIoCompleted`).
        let status = unsafe { ptr::read_volatile(&raw const op.ov.Internal) };
        let pending = windows_sys::Win32::Foundation::STATUS_PENDING as usize;
        (op.started && status == pending).then(|| self.write_event.as_raw_handle())
    }

    /// See `zero_read.rs`.
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
        attempt: &mut dyn FnMut() -> bool,
    ) -> std::task::Poll<io::Result<()>> {
        self.watch.poll_read(self.raw(), cx, attempt)
    }

    pub(crate) fn handoff(self, _cmd: &mut Command) -> io::Result<String> {
        // Stop waiting for readability before the handle changes hands.
        #[cfg(feature = "tokio")]
        drop(self.watch);
        // Any write was finished by `settle`; one still running cannot be
        // cancelled without cutting the stream, so this waits for it.
        if let Some(mut op) = self.in_flight.lock_unpoisoned().take() {
            let mut n = 0u32;
            // SAFETY: waits (bWait = TRUE) for the write of `op.ov`; then
            // nothing is left for its drop to cancel.
            unsafe { GetOverlappedResult(op.handle, &raw const *op.ov, &mut n, 1) };
            op.started = false;
        }
        let name = pipe_name(self.handle.as_raw_handle())?;
        let mut server = 0u32;
        // SAFETY: queries a pipe handle this socket owns.
        if unsafe { GetNamedPipeServerProcessId(self.handle.as_raw_handle(), &mut server) } == 0 {
            return Err(last_error());
        }
        // SAFETY: GetCurrentProcessId has no preconditions.
        let pid = unsafe { GetCurrentProcessId() };
        let handle = self.handle.as_raw_handle() as usize;
        let claim = Claim::new(pid, handle, &name)?.create(&owner_only_descriptor()?)?;
        // The handle stays open in this process until the claim's owner
        // closes it (`claim.rs`).
        let _ = self.handle.into_raw_handle();
        Ok(Payload {
            pid,
            handle,
            server,
            claim,
            pipe: &name,
        }
        .to_string())
    }

    pub(crate) fn open(payload: &str) -> Result<Socket, OpenError> {
        let p = Payload::parse(payload)?;
        let what = || {
            format!(
                "pipe end {} (handle {:#x} of process {})",
                p.pipe, p.handle, p.pid
            )
        };

        // SAFETY: OpenProcess returns a new handle or null.
        let parent = unsafe { OpenProcess(PROCESS_DUP_HANDLE, 0, p.pid) };
        if parent.is_null() {
            let e = last_error();
            let parent = format!("process {}, which handed over the pipe,", p.pid);
            return Err(match e.raw_os_error().map(|c| c as u32) {
                Some(ERROR_INVALID_PARAMETER) => OpenError::Gone {
                    what: format!("process {}", p.pid),
                },
                Some(ERROR_ACCESS_DENIED) => {
                    OpenError::refused(parent, "it does not let this process take its handles")
                }
                _ => OpenError::io(parent, e),
            });
        }
        // SAFETY: `parent` is a new handle that nothing else owns.
        let parent = unsafe { OwnedHandle::from_raw_handle(parent) };
        let claim = Claim::new(p.pid, p.handle, p.pipe).map_err(|e| OpenError::io(what(), e))?;
        if !claim.take() {
            // Another process took it, or the child it was for exited.
            return Err(OpenError::already_used(what()));
        }
        // The unit is this process's: the end's handle and the claim
        // object's in the parent are this process's to take and close.
        let end = move_from(&parent, p.handle).map_err(|e| OpenError::io(what(), e))?;
        drop(move_from(&parent, p.claim));
        if !is_end_of(end.as_raw_handle(), p.server, p.pipe) {
            // Only a process that closed the parent's handles behind the
            // claim's back can have put something else there.
            return Err(OpenError::already_used(what()));
        }
        Socket::new(end).map_err(|e| OpenError::io(what(), e))
    }
}

/// Moves handle `value` out of process `from` into this process (closing it
/// there).
fn move_from(from: &OwnedHandle, value: usize) -> io::Result<OwnedHandle> {
    let mut moved: HANDLE = ptr::null_mut();
    // SAFETY: moves a handle of `from` into `moved`, which is then owned here.
    let ok = unsafe {
        DuplicateHandle(
            from.as_raw_handle(),
            value as HANDLE,
            GetCurrentProcess(),
            &mut moved,
            0,
            0,
            DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS,
        )
    };
    if ok == 0 {
        return Err(last_error());
    }
    // SAFETY: `moved` is a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(moved) })
}

/// Whether `handle` (a value in this process) is an end of pipe `name`
/// whose server is process `server`.
fn is_end_of(handle: HANDLE, server: u32, name: &str) -> bool {
    let mut found = 0u32;
    // SAFETY: queries on a handle value; an invalid one makes them fail.
    (unsafe {
        GetFileType(handle) == FILE_TYPE_PIPE
            && GetNamedPipeServerProcessId(handle, &mut found) != 0
            && found == server
    }) && pipe_name(handle).is_ok_and(|n| n == name)
}

/// The name of the pipe `handle` is an end of, without `\\.\pipe\`.
fn pipe_name(handle: HANDLE) -> io::Result<String> {
    // FILE_NAME_INFO: a u32 length in bytes, then the UTF-16 name.
    let mut buf = vec![0u32; 256];
    // SAFETY: `buf` has room for the byte count passed, and is aligned for
    // FILE_NAME_INFO.
    let ok = unsafe {
        GetFileInformationByHandleEx(
            handle,
            FileNameInfo,
            buf.as_mut_ptr().cast(),
            (buf.len() * 4) as u32,
        )
    };
    if ok == 0 {
        return Err(last_error());
    }
    let bytes = (buf[0] as usize).min((buf.len() - 1) * 4);
    // SAFETY: the name's UTF-16 units follow the 4-byte length, within `buf`.
    let units = unsafe { std::slice::from_raw_parts(buf.as_ptr().add(1).cast::<u16>(), bytes / 2) };
    Ok(String::from_utf16_lossy(units)
        .trim_start_matches('\\')
        .to_owned())
}

/// `\\.\pipe\transport-pipe-<pid>-<128 random bits>`.
fn random_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // `RandomState` is seeded from the operating system's random source.
    let a = RandomState::new().hash_one(n);
    let b = RandomState::new().hash_one(!n);
    // SAFETY: GetCurrentProcessId has no preconditions.
    let pid = unsafe { GetCurrentProcessId() };
    format!(r"\\.\pipe\transport-pipe-{pid}-{a:016x}{b:016x}")
}

/// Opens the client side of pipe `name`, for overlapped I/O, without
/// letting the server impersonate this process beyond identification.
pub(crate) fn connect_client(name: &str) -> io::Result<OwnedHandle> {
    let wide = U16CString::from_str(name).map_err(io::Error::other)?;
    // SAFETY: `wide` is a NUL-terminated path; CreateFileW returns a new
    // handle or INVALID_HANDLE_VALUE.
    let h = unsafe {
        CreateFileW(
            wide.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            0,
            ptr::null(),
            OPEN_EXISTING,
            FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
            ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(last_error());
    }
    // SAFETY: `h` is a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// Completes the server side's connection (the client is already there).
fn wait_connected(server: &OwnedHandle) -> io::Result<()> {
    let ev = event()?;
    // SAFETY: an all-zero OVERLAPPED is the documented initial state.
    let mut ov: OVERLAPPED = unsafe { mem::zeroed() };
    ov.hEvent = ev.as_raw_handle();
    // SAFETY: `ov` outlives the operation: `Pending` waits for it.
    let ok = unsafe { ConnectNamedPipe(server.as_raw_handle(), &mut ov) };
    // SAFETY: GetLastError has no preconditions.
    let code = if ok != 0 { 0 } else { unsafe { GetLastError() } };
    match code {
        0 | ERROR_PIPE_CONNECTED => Ok(()),
        ERROR_IO_PENDING => Pending {
            handle: server.as_raw_handle(),
            ov: &mut ov,
            done: false,
        }
        .finish(false)
        .map(drop),
        _ => Err(io::Error::from_raw_os_error(code as i32)),
    }
}

fn check_client_is_self(server: &OwnedHandle) -> io::Result<()> {
    let mut client = 0u32;
    // SAFETY: queries a pipe handle the caller owns.
    if unsafe { GetNamedPipeClientProcessId(server.as_raw_handle(), &mut client) } == 0 {
        return Err(last_error());
    }
    // SAFETY: GetCurrentProcessId has no preconditions.
    let me = unsafe { GetCurrentProcessId() };
    if client != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("process {client} connected to the private pipe before its creator"),
        ));
    }
    Ok(())
}

/// A security descriptor that lets the current user in, and nobody else
/// (`D:P(A;;GA;;;<user SID>)`): that of every object this crate names.
pub(crate) fn owner_only_descriptor() -> io::Result<SecurityDescriptor> {
    let sddl = format!("D:P(A;;GA;;;{})", current_user_sid()?);
    let sddl = U16CString::from_str(&sddl).map_err(io::Error::other)?;
    SecurityDescriptor::deserialize(&sddl)
}

/// The current user's SID in string form (`S-1-5-21-...`).
fn current_user_sid() -> io::Result<String> {
    let mut token: HANDLE = ptr::null_mut();
    // SAFETY: opens this process's token for querying; `token` receives it.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(last_error());
    }
    // SAFETY: `token` is a new handle that nothing else owns.
    let token = unsafe { OwnedHandle::from_raw_handle(token) };
    let mut len = 0u32;
    // SAFETY: a size query with no buffer; it fails and sets `len`.
    unsafe { GetTokenInformation(token.as_raw_handle(), TokenUser, ptr::null_mut(), 0, &mut len) };
    // u64 words: TOKEN_USER holds pointers and needs their alignment.
    let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
    // SAFETY: `buf` has room for `len` bytes.
    if unsafe {
        GetTokenInformation(
            token.as_raw_handle(),
            TokenUser,
            buf.as_mut_ptr().cast(),
            len,
            &mut len,
        )
    } == 0
    {
        return Err(last_error());
    }
    // SAFETY: GetTokenInformation wrote a TOKEN_USER at the start of `buf`,
    // which is aligned for it.
    let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    let mut text: *mut u16 = ptr::null_mut();
    // SAFETY: `sid` points into `buf`, alive here; `text` receives a
    // LocalAlloc'd NUL-terminated string.
    if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
        return Err(last_error());
    }
    let mut n = 0;
    // SAFETY: `text` is NUL-terminated; read up to the NUL, then free it
    // once, as ConvertSidToStringSidW documents.
    let s = unsafe {
        while *text.add(n) != 0 {
            n += 1;
        }
        let s = U16String::from_ptr(text, n).to_string_lossy();
        LocalFree(text.cast());
        s
    };
    Ok(s)
}

impl AsHandle for Socket {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.handle.as_handle()
    }
}

impl AsRawHandle for Socket {
    fn as_raw_handle(&self) -> RawHandle {
        self.handle.as_raw_handle()
    }
}
