//! Windows: named pipes (`\\.\pipe\NAME`), in this crate's framing or
//! in Python's, and TCP.
//!
//! - The listener's instances are created through interprocess with
//!   `FILE_FLAG_FIRST_PIPE_INSTANCE` (a name another process holds is
//!   `InUse`, never shared), `PIPE_REJECT_REMOTE_CLIENTS`, and a security
//!   descriptor that lets only the current user in (`D:P(A;;GA;;;<SID>)`):
//!   the pipe's own access check is the user check. A pipe's name goes
//!   with its last handle, so a crash leaves nothing to reclaim.
//! - In this crate's framing the pipe is a byte pipe; in Python's it is a
//!   message-mode pipe, as Python's `AF_PIPE` makes one (the listener's
//!   instances are `PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE`, a client
//!   sets `PIPE_READMODE_MESSAGE` on its handle), each message one pipe
//!   message with no length before it (`windows_message.rs`). Its async
//!   readiness (feature `tokio`) comes from the one read of a message's
//!   first part that it may keep in flight (`windows_read_ahead.rs`), and
//!   for a send from the end of the write before
//!   (`windows_message_socket.rs`).
//! - `accept` waits for a client with an overlapped `ConnectNamedPipe` on
//!   the waiting instance (cancelled at the deadline), then lets
//!   interprocess hand that instance out and create the next one.
//! - The peer's process comes from `GetNamedPipeClientProcessId` /
//!   `GetNamedPipeServerProcessId`; its user is not reported (`None`).
//! - TCP is std's socket, non-blocking, waited on with `WSAPoll`
//!   (`windows_tcp.rs`), in either framing: this crate's on a plain stream
//!   end (not the pipe end, whose Windows socket is a pipe handle), as
//!   Python's framing is.

use std::{
    io::{self, IoSlice},
    mem::{self, MaybeUninit},
    net::{TcpListener, TcpStream},
    os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle},
    ptr,
};

use interprocess::os::windows::named_pipe::{PipeListener, PipeListenerOptions, PipeMode, pipe_mode};
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
            PIPE_READMODE_MESSAGE, SetNamedPipeHandleState, WaitNamedPipeW,
        },
        Threading::{CreateEventW, INFINITE, WaitForSingleObject},
    },
};

use super::{
    Conn,
    windows_message::{Lengths, MessagePipe},
    windows_message_socket::MessageSocket,
    windows_tcp::{self, TcpSocket},
};
use crate::{
    named::{Address, BindError, PeerCreds},
    python::frame::Framing,
    sys::{
        Socket, millis,
        windows::{connect_client, owner_only_descriptor},
    },
};

/// Whether an end in Python's framing gathers the messages sent while
/// its socket is full and writes them together (`named/backlog.rs`): no,
/// a message-mode pipe (Python's) takes each message in a write of its
/// own; TCP keeps one write per message as well (not measured here).
pub(crate) const WRITE_BEHIND: bool = false;

/// What a connection's bytes move on, before it becomes an end.
#[derive(Debug)]
pub(crate) enum StreamSocket {
    /// A byte pipe: this crate's framing, for the pipe's own end.
    Pipe(Socket),
    /// A message-mode pipe seen as a stream in Python's socket framing
    /// (boxed: its receive state and read ahead make it the largest).
    Message(Box<MessagePipe<MessageSocket>>),
    /// TCP.
    Tcp(TcpSocket),
}

impl StreamSocket {
    /// The pipe's own socket, for the pipe end (this crate's framing on a
    /// byte pipe); anything else comes back.
    #[allow(
        clippy::result_large_err,
        reason = "once per connection, and the stream comes back whole"
    )]
    pub(crate) fn into_pipe(self) -> Result<Socket, StreamSocket> {
        match self {
            StreamSocket::Pipe(s) => Ok(s),
            other => Err(other),
        }
    }

    /// As the pipe's `Socket::send`.
    pub(crate) fn send(
        &self,
        bufs: &[IoSlice<'_>],
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<usize> {
        match self {
            StreamSocket::Pipe(s) => s.send(bufs, wait, on_readable),
            StreamSocket::Message(s) => s.send(bufs, wait, on_readable),
            StreamSocket::Tcp(s) => s.send(bufs, wait, on_readable),
        }
    }

    /// As the pipe's `Socket::recv`.
    pub(crate) fn recv(&self, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<usize> {
        match self {
            StreamSocket::Pipe(s) => s.recv(buf, wait),
            StreamSocket::Message(s) => s.recv(buf, wait),
            StreamSocket::Tcp(s) => s.recv(buf, wait),
        }
    }

    /// Nothing to set up (see `poll_write`).
    #[cfg(feature = "tokio")]
    pub(crate) fn watch_writes(&mut self) {}

    /// As the pipe's `Socket::poll_read`: TCP through `WSAEventSelect`
    /// (`windows_tcp_watch.rs`); a message-mode pipe through its one read
    /// of a message's first part, left in flight and waited on by the
    /// system thread pool (`windows_message.rs`, `windows_read_ahead.rs`):
    /// the byte pipe's zero-byte read would take a zero-length message
    /// (Python sends them) whole.
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
        attempt: &mut dyn FnMut() -> bool,
    ) -> std::task::Poll<io::Result<()>> {
        match self {
            StreamSocket::Pipe(s) => s.poll_read(cx, attempt),
            StreamSocket::Tcp(s) => s.poll_read(cx, attempt),
            StreamSocket::Message(s) => s.poll_read(cx, attempt),
        }
    }

    /// Ready once a send can start: TCP when the socket has room; a
    /// message-mode pipe once the write before has ended
    /// (`windows_message_socket.rs`). A byte pipe is always a pipe end
    /// (`into_pipe`), whose room is its backlog's: never asked here.
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_write(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        match self {
            StreamSocket::Tcp(s) => s.poll_write(cx),
            StreamSocket::Message(s) => s.poll_write(cx),
            StreamSocket::Pipe(_) => std::task::Poll::Ready(Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a byte pipe's send readiness is its pipe end's, not a stream end's",
            ))),
        }
    }
}

/// Python's socket framing's lengths, for a message-mode pipe.
const PYTHON: Lengths = Lengths {
    header: |len, out| Framing::Python.header(len, out),
    parse: |bytes| Framing::Python.parse(bytes).ok().flatten(),
};

/// A connection not yet set up for its framing.
#[derive(Debug)]
pub(crate) enum Stream {
    Pipe(OwnedHandle),
    Message(OwnedHandle),
    Tcp(TcpStream),
}

impl Stream {
    pub(crate) fn into_stream(self) -> io::Result<StreamSocket> {
        Ok(match self {
            Stream::Pipe(h) => StreamSocket::Pipe(Socket::new(h)?),
            Stream::Message(h) => StreamSocket::Message(Box::new(MessagePipe::new(
                MessageSocket::new(Socket::new(h)?)?,
                PYTHON,
            ))),
            Stream::Tcp(s) => StreamSocket::Tcp(TcpSocket::new(s)?),
        })
    }
}

/// Whether this system can carry `framing` to `address`.
pub(crate) fn supports(address: &Address, _framing: Framing) -> Result<(), String> {
    match address {
        Address::Path(_) | Address::Tcp(_) => Ok(()),
        Address::Abstract(_) => Err("an abstract socket name".into()),
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

/// A named pipe's listener, in either mode.
#[derive(Debug)]
pub(crate) enum Pipes {
    Bytes(PipeListener<pipe_mode::Bytes, pipe_mode::Bytes>),
    Messages(PipeListener<pipe_mode::Messages, pipe_mode::Messages>),
}

/// Where connections come from: a named pipe's waiting instance (and the
/// options for the next), or a TCP listener.
#[derive(Debug)]
pub(crate) enum Acceptor {
    Pipe(Pipes),
    Tcp(TcpListener),
}

fn last_error() -> u32 {
    // SAFETY: GetLastError has no preconditions.
    unsafe { GetLastError() }
}

impl Pipes {
    fn raw_handle(&self) -> std::os::windows::io::RawHandle {
        match self {
            Pipes::Bytes(l) => l.as_raw_handle(),
            Pipes::Messages(l) => l.as_raw_handle(),
        }
    }

    /// Hands out the connected instance (and makes the next one waiting).
    fn accept(&self) -> io::Result<Stream> {
        let taken = || io::Error::other("the accepted pipe instance could not be taken over");
        Ok(match self {
            Pipes::Bytes(l) => Stream::Pipe(OwnedHandle::try_from(l.accept()?).map_err(|_| taken())?),
            Pipes::Messages(l) => Stream::Message(OwnedHandle::try_from(l.accept()?).map_err(|_| taken())?),
        })
    }

    /// Waits as `wait` allows for a client on the waiting instance; whether
    /// one came.
    fn wait_client(&self, wait: Wait) -> io::Result<bool> {
        let handle = self.raw_handle();
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
}

impl Acceptor {
    pub(crate) fn bind(address: &Address, framing: Framing) -> Result<(Acceptor, Address), BindError> {
        let what = address.to_string();
        let io = |e: io::Error| BindError::io(what.clone(), e);
        if let Address::Tcp(addr) = address {
            let listener = TcpListener::bind(addr).map_err(io)?;
            listener.set_nonblocking(true).map_err(io)?;
            let bound = listener.local_addr().map_err(io)?;
            return Ok((Acceptor::Tcp(listener), Address::Tcp(bound)));
        }
        let name = pipe_name(address).map_err(io)?;
        if pipe_exists(&name).map_err(io)? {
            return Err(BindError::InUse { address: what });
        }
        let descriptor = owner_only_descriptor().map_err(io)?;
        let mode = match framing {
            Framing::Native => PipeMode::Bytes,
            Framing::Python => PipeMode::Messages,
        };
        let options = PipeListenerOptions::new()
            .path(name.as_str())
            .mode(mode)
            .accept_remote(false)
            .instance_limit(None)
            .input_buffer_size_hint(64 << 10)
            .output_buffer_size_hint(64 << 10)
            .security_descriptor(Some(descriptor));
        let made = match framing {
            Framing::Native => options.create_duplex::<pipe_mode::Bytes>().map(Pipes::Bytes),
            Framing::Python => options
                .create_duplex::<pipe_mode::Messages>()
                .map(Pipes::Messages),
        };
        let pipes = made.map_err(|e| match e.raw_os_error() {
            Some(code) if code as u32 == ERROR_ACCESS_DENIED || code as u32 == ERROR_PIPE_BUSY => {
                BindError::InUse {
                    address: what.clone(),
                }
            }
            _ => io(e),
        })?;
        Ok((Acceptor::Pipe(pipes), address.clone()))
    }

    pub(crate) fn accept(&self, wait: Wait) -> io::Result<Option<Conn>> {
        let pipes = match self {
            Acceptor::Tcp(l) => {
                return Ok(windows_tcp::accept(l, wait)?.map(|s| Conn {
                    stream: Stream::Tcp(s),
                    peer: PeerCreds::default(),
                }));
            }
            Acceptor::Pipe(p) => p,
        };
        if !pipes.wait_client(wait)? {
            return Ok(None);
        }
        let stream = pipes.accept()?;
        let (Stream::Pipe(handle) | Stream::Message(handle)) = &stream else {
            unreachable!("a pipe listener accepts pipes")
        };
        let mut pid = 0u32;
        // SAFETY: queries the pipe handle this function owns.
        let pid =
            (unsafe { GetNamedPipeClientProcessId(handle.as_raw_handle(), &mut pid) } != 0).then_some(pid);
        Ok(Some(Conn {
            stream,
            peer: PeerCreds { uid: None, pid },
        }))
    }
}

/// Connects to `address`, waiting for a free pipe instance as `wait`
/// allows; a pipe for Python's framing is read in message mode.
pub(crate) fn connect(address: &Address, framing: Framing, wait: Wait) -> io::Result<Conn> {
    if let Address::Tcp(addr) = address {
        let s = match wait.remaining() {
            None => TcpStream::connect(addr)?,
            Some(left) => TcpStream::connect_timeout(addr, left.max(std::time::Duration::from_millis(1)))?,
        };
        return Ok(Conn {
            stream: Stream::Tcp(s),
            peer: PeerCreds::default(),
        });
    }
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
    let stream = match framing {
        Framing::Native => Stream::Pipe(handle),
        Framing::Python => {
            let mode = PIPE_READMODE_MESSAGE;
            // SAFETY: sets the read mode of the pipe handle this function
            // owns; the other settings are left alone (null).
            if unsafe { SetNamedPipeHandleState(handle.as_raw_handle(), &mode, ptr::null(), ptr::null()) }
                == 0
            {
                // A byte-type pipe (a listener in this crate's framing)
                // refuses message mode.
                return Err(io::Error::last_os_error());
            }
            Stream::Message(handle)
        }
    };
    Ok(Conn {
        stream,
        peer: PeerCreds { uid: None, pid },
    })
}

/// This process's user as a Unix user id: Windows has none.
pub(crate) fn euid() -> Option<u32> {
    None
}
