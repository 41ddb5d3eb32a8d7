//! Windows: a TCP connection (std's socket, non-blocking) with the
//! `send` / `recv` of the pipe's own socket, waiting with `WSAPoll`.
//!
//! A peer that resets the connection (a killed process does) ends the
//! stream on receive and is `BrokenPipe` on send, as on Unix.
//!
//! With the `tokio` feature its readiness for async tasks comes from
//! `windows_tcp_watch.rs`. Otherwise a leaf module.

use std::{
    io::{self, IoSlice, Write as _},
    mem::MaybeUninit,
    net::{TcpListener, TcpStream},
    os::windows::io::AsRawSocket,
};

use transport_core::backend::Wait;
use windows_sys::Win32::Networking::WinSock::{
    POLLRDNORM, POLLWRNORM, SOCKET, SOCKET_ERROR, WSAGetLastError, WSAPOLLFD, WSAPoll, recv,
};

#[cfg(feature = "tokio")]
use super::windows_tcp_watch::{Side, TcpWatch};

/// A connected TCP socket.
#[derive(Debug)]
pub(crate) struct TcpSocket {
    /// Dropped first: the wait it registered ends before the socket closes.
    #[cfg(feature = "tokio")]
    watch: TcpWatch,
    stream: TcpStream,
}

fn gone(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe
    )
}

/// Waits as `wait` allows for `events` on `socket`; the events that came.
pub(crate) fn poll(socket: SOCKET, events: i16, wait: Wait) -> io::Result<i16> {
    let mut fd = WSAPOLLFD {
        fd: socket,
        events,
        revents: 0,
    };
    // Whole milliseconds, rounded up: a wait never ends before its deadline.
    let timeout = wait.remaining().map_or(-1, |left| {
        let ms = left.as_micros().div_ceil(1000);
        ms.min(i32::MAX as u128) as i32
    });
    // SAFETY: one valid WSAPOLLFD, and its count.
    if unsafe { WSAPoll(&mut fd, 1, timeout) } == SOCKET_ERROR {
        // SAFETY: WSAGetLastError has no preconditions.
        return Err(io::Error::from_raw_os_error(unsafe { WSAGetLastError() }));
    }
    Ok(fd.revents)
}

/// The next connection on a non-blocking listener, waiting as `wait`
/// allows; `None` when it ran out.
pub(crate) fn accept(listener: &TcpListener, wait: Wait) -> io::Result<Option<TcpStream>> {
    loop {
        match listener.accept() {
            Ok((s, _)) => return Ok(Some(s)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted || gone(e.kind()) => continue,
            Err(e) => return Err(e),
        }
        if wait.expired() {
            return Ok(None);
        }
        poll(listener.as_raw_socket() as SOCKET, POLLRDNORM, wait)?;
    }
}

impl TcpSocket {
    /// Non-blocking, and without Nagle's delay (each message goes out in
    /// one write).
    pub(crate) fn new(stream: TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        Ok(TcpSocket {
            #[cfg(feature = "tokio")]
            watch: TcpWatch::default(),
            stream,
        })
    }

    fn raw(&self) -> SOCKET {
        self.stream.as_raw_socket() as SOCKET
    }

    /// Calls `attempt` (a read without waiting; true once a receive would
    /// return) whenever the socket may be readable; `Pending` once a task
    /// waiting to receive is registered to be woken.
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
        attempt: &mut dyn FnMut() -> bool,
    ) -> std::task::Poll<io::Result<()>> {
        self.watch.poll(self.raw(), Side::Recv, cx, attempt)
    }

    /// Ready once the socket has room to write, or the connection is gone
    /// (the send reports it).
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_write(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        use windows_sys::Win32::Networking::WinSock::{POLLERR, POLLHUP};
        let raw = self.raw();
        let mut failed = None;
        let mut room = || match poll(raw, POLLWRNORM, Wait::Never) {
            Ok(events) => events & (POLLWRNORM | POLLHUP | POLLERR) != 0,
            Err(e) => {
                failed = Some(e);
                true
            }
        };
        match self.watch.poll(raw, Side::Send, cx, &mut room) {
            std::task::Poll::Ready(Ok(())) => std::task::Poll::Ready(failed.map_or(Ok(()), Err)),
            other => other,
        }
    }

    /// Reads at least one byte unless `wait` runs out (`WouldBlock`);
    /// `Ok(0)` at the end of the stream.
    pub(crate) fn recv(&self, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<usize> {
        let len = buf.len().min(i32::MAX as usize) as i32;
        loop {
            // SAFETY: `buf` is writable for `len` bytes; recv writes at most
            // that many and says how many.
            let n = unsafe { recv(self.raw(), buf.as_mut_ptr().cast(), len, 0) };
            if n >= 0 {
                return Ok(n as usize);
            }
            // SAFETY: WSAGetLastError has no preconditions.
            let e = io::Error::from_raw_os_error(unsafe { WSAGetLastError() });
            match e.kind() {
                io::ErrorKind::WouldBlock => {}
                io::ErrorKind::Interrupted => continue,
                kind if gone(kind) => return Ok(0),
                _ => return Err(e),
            }
            if wait.expired() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            poll(self.raw(), POLLRDNORM, wait)?;
        }
    }

    /// Writes at least one byte of `bufs` unless `wait` runs out
    /// (`WouldBlock`), calling `on_readable` while it waits whenever
    /// incoming bytes are there (see `sys/mod.rs`).
    pub(crate) fn send(
        &self,
        bufs: &[IoSlice<'_>],
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<usize> {
        let mut watch_read = true;
        loop {
            match (&self.stream).write_vectored(bufs) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if gone(e.kind()) => {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, e));
                }
                Err(e) => return Err(e),
            }
            if wait.expired() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let events = if watch_read {
                POLLWRNORM | POLLRDNORM
            } else {
                POLLWRNORM
            };
            let got = poll(self.raw(), events, wait)?;
            watch_read = if got & POLLRDNORM != 0 {
                on_readable()
            } else {
                true
            };
        }
    }
}
