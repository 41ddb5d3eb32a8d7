//! Windows: named pipes (`\\.\pipe\NAME`), in this crate's framing.
//!
//! - The listener's instances are created through interprocess with
//!   `FILE_FLAG_FIRST_PIPE_INSTANCE` (a name another process holds is
//!   `InUse`, never shared), `PIPE_REJECT_REMOTE_CLIENTS`, and a security
//!   descriptor that lets only the current user in (`D:P(A;;GA;;;<SID>)`):
//!   the pipe's own access check is the user check. A pipe's name goes
//!   with its last handle, so a crash leaves nothing to reclaim.
//! - `accept` waits for a client with an overlapped `ConnectNamedPipe` on
//!   the waiting instance (cancelled at the deadline), then lets
//!   interprocess hand that instance out and create the next one.
//! - The peer's process comes from `GetNamedPipeClientProcessId` /
//!   `GetNamedPipeServerProcessId`; its user is not reported (`None`).
//! - Not yet: TCP, and Python's framing (Python's `AF_PIPE` uses
//!   message-mode pipes with no length prefix).

use std::{
    io, mem,
    os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle},
    ptr,
};

use interprocess::os::windows::{
    named_pipe::{PipeListener, PipeListenerOptions, PipeMode, pipe_mode},
    security_descriptor::SecurityDescriptor,
};
use transport_core::backend::Wait;
use widestring::U16CString;
use windows_sys::Win32::{
    Foundation::{
        ERROR_ACCESS_DENIED, ERROR_BAD_PATHNAME, ERROR_FILE_NOT_FOUND, ERROR_IO_PENDING, ERROR_NO_DATA,
        ERROR_PIPE_BUSY, ERROR_PIPE_CONNECTED, GetLastError, WAIT_OBJECT_0,
    },
    System::{
        IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED},
        Pipes::{
            ConnectNamedPipe, DisconnectNamedPipe, GetNamedPipeClientProcessId, GetNamedPipeServerProcessId,
            WaitNamedPipeW,
        },
        Threading::{CreateEventW, INFINITE, WaitForSingleObject},
    },
};

use super::Conn;
use crate::{
    named::{Address, BindError, PeerCreds},
    python::frame::Framing,
    sys::{
        Socket, millis,
        windows::{connect_client, current_user_sid},
    },
};

/// What a connection's bytes move on: the pipe's own socket.
pub(crate) type StreamSocket = Socket;

/// A connected pipe instance.
#[derive(Debug)]
pub(crate) struct Stream(OwnedHandle);

impl Stream {
    pub(crate) fn into_stream(self) -> io::Result<StreamSocket> {
        Socket::new(self.0)
    }
}

/// Whether this system can carry `framing` to `address`.
pub(crate) fn supports(address: &Address, framing: Framing) -> Result<(), String> {
    match (address, framing) {
        (Address::Path(_), Framing::Native) => Ok(()),
        (Address::Path(_), Framing::Python) => {
            Err("Python's framing on a named pipe (Python uses message-mode pipes)".into())
        }
        (Address::Abstract(_), _) => Err("an abstract socket name".into()),
        (Address::Tcp(_), _) => Err("a TCP address".into()),
    }
}

fn pipe_name(address: &Address) -> io::Result<String> {
    match address {
        Address::Path(p) => {
            let name = p.to_str().unwrap_or_default();
            if name.starts_with(r"\\.\pipe\") {
                Ok(name.to_owned())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    r"a named pipe's path starts with \\.\pipe\",
                ))
            }
        }
        _ => Err(io::ErrorKind::Unsupported.into()),
    }
}

/// Whether a pipe of that name exists (any instance, busy or not). The
/// first instance is also created with `FILE_FLAG_FIRST_PIPE_INSTANCE`,
/// which refuses a name in use, but Wine does not honour that flag; this
/// look comes first so a live listener's name is refused there too.
fn pipe_exists(name: &str) -> io::Result<bool> {
    let wide = U16CString::from_str(name).map_err(io::Error::other)?;
    // SAFETY: `wide` is a NUL-terminated pipe name; waits at most 1 ms.
    if unsafe { WaitNamedPipeW(wide.as_ptr(), 1) } != 0 {
        return Ok(true);
    }
    Ok(!matches!(last_error(), ERROR_FILE_NOT_FOUND | ERROR_BAD_PATHNAME))
}

/// A named pipe's waiting instance, and the options for the next.
#[derive(Debug)]
pub(crate) struct Acceptor {
    listener: PipeListener<pipe_mode::Bytes, pipe_mode::Bytes>,
}

fn last_error() -> u32 {
    // SAFETY: GetLastError has no preconditions.
    unsafe { GetLastError() }
}

impl Acceptor {
    pub(crate) fn bind(address: &Address) -> Result<(Acceptor, Address), BindError> {
        let what = address.to_string();
        let io = |e: io::Error| BindError::io(what.clone(), e);
        let name = pipe_name(address).map_err(io)?;
        if pipe_exists(&name).map_err(io)? {
            return Err(BindError::InUse { address: what });
        }
        let sddl = format!("D:P(A;;GA;;;{})", current_user_sid().map_err(io)?);
        let sddl = U16CString::from_str(&sddl).map_err(|e| io(io::Error::other(e)))?;
        let descriptor = SecurityDescriptor::deserialize(&sddl).map_err(io)?;
        let listener = PipeListenerOptions::new()
            .path(name.as_str())
            .mode(PipeMode::Bytes)
            .accept_remote(false)
            .instance_limit(None)
            .input_buffer_size_hint(64 << 10)
            .output_buffer_size_hint(64 << 10)
            .security_descriptor(Some(descriptor))
            .create_duplex::<pipe_mode::Bytes>()
            .map_err(|e| match e.raw_os_error() {
                Some(code) if code as u32 == ERROR_ACCESS_DENIED || code as u32 == ERROR_PIPE_BUSY => {
                    BindError::InUse {
                        address: what.clone(),
                    }
                }
                _ => io(e),
            })?;
        Ok((Acceptor { listener }, address.clone()))
    }

    /// Waits as `wait` allows for a client on the waiting instance; whether
    /// one came.
    fn wait_client(&self, wait: Wait) -> io::Result<bool> {
        let handle = self.listener.as_raw_handle();
        // SAFETY: a manual-reset, unsignalled, unnamed event; null on failure.
        let event = unsafe { CreateEventW(ptr::null(), 1, 0, ptr::null()) };
        if event.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `event` is a new handle nothing else owns.
        let event = unsafe { OwnedHandle::from_raw_handle(event) };
        loop {
            // SAFETY: an all-zero OVERLAPPED is its documented initial state.
            let mut ov: OVERLAPPED = unsafe { mem::zeroed() };
            ov.hEvent = event.as_raw_handle();
            // SAFETY: `ov` outlives the operation: it is waited for (or
            // cancelled and then waited for) before this block ends.
            if unsafe { ConnectNamedPipe(handle, &mut ov) } != 0 {
                return Ok(true);
            }
            match last_error() {
                ERROR_PIPE_CONNECTED => return Ok(true),
                ERROR_NO_DATA => {
                    // A client came and went: make the instance wait again.
                    // SAFETY: disconnects the instance this acceptor owns.
                    unsafe { DisconnectNamedPipe(handle) };
                    continue;
                }
                ERROR_IO_PENDING => {}
                code => return Err(io::Error::from_raw_os_error(code as i32)),
            }
            let ms = millis(wait).map_or(INFINITE, |ms| ms.min(u64::from(INFINITE - 1)) as u32);
            // SAFETY: waits on the event this function owns.
            let signalled = unsafe { WaitForSingleObject(event.as_raw_handle(), ms) } == WAIT_OBJECT_0;
            if !signalled {
                // SAFETY: cancels only this operation.
                unsafe { CancelIoEx(handle, &ov) };
            }
            let mut n = 0u32;
            // SAFETY: waits (bWait = TRUE) for the operation of `ov` to end.
            let ok = unsafe { GetOverlappedResult(handle, &ov, &mut n, 1) } != 0;
            return Ok(ok);
        }
    }

    pub(crate) fn accept(&self, wait: Wait) -> io::Result<Option<Conn>> {
        if !self.wait_client(wait)? {
            return Ok(None);
        }
        let stream = self.listener.accept()?;
        let handle = OwnedHandle::try_from(stream)
            .map_err(|_| io::Error::other("the accepted pipe instance could not be taken over"))?;
        let mut pid = 0u32;
        // SAFETY: queries the pipe handle this function owns.
        let pid =
            (unsafe { GetNamedPipeClientProcessId(handle.as_raw_handle(), &mut pid) } != 0).then_some(pid);
        Ok(Some(Conn {
            stream: Stream(handle),
            peer: PeerCreds { uid: None, pid },
        }))
    }
}

/// Connects to the pipe at `address`, waiting for a free instance as
/// `wait` allows.
pub(crate) fn connect(address: &Address, wait: Wait) -> io::Result<Conn> {
    let name = pipe_name(address)?;
    let wide = U16CString::from_str(&name).map_err(io::Error::other)?;
    let handle = loop {
        match connect_client(&name) {
            Ok(h) => break h,
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32) && !wait.expired() => {
                let ms = millis(wait).map_or(INFINITE, |ms| ms.min(u64::from(INFINITE - 1)) as u32);
                // SAFETY: `wide` is a NUL-terminated pipe name.
                unsafe { WaitNamedPipeW(wide.as_ptr(), ms) };
            }
            Err(e) => return Err(e),
        }
    };
    let mut pid = 0u32;
    // SAFETY: queries the pipe handle this function owns.
    let pid = (unsafe { GetNamedPipeServerProcessId(handle.as_raw_handle(), &mut pid) } != 0).then_some(pid);
    Ok(Conn {
        stream: Stream(handle),
        peer: PeerCreds { uid: None, pid },
    })
}

/// This process's user as a Unix user id: Windows has none.
pub(crate) fn euid() -> Option<u32> {
    None
}
