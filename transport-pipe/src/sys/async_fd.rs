//! Unix, feature `tokio`: readability of the socket through tokio's
//! reactor (`AsyncFd`, edge-triggered `epoll` / `kqueue`).
//!
//! The descriptor is registered lazily, with the runtime of the first task
//! that waits on the end (or, for a wait from outside any runtime, such as
//! core's blocking `Select`, with this process's own reactor: one
//! current-thread runtime on one thread, made on first need). A pipe end's
//! is registered for read readiness only: its send room is the backlog's,
//! not the socket's (see `Shared::poll_room`). An end in Python's framing,
//! which writes from the sending task with no backlog, also asks for write
//! readiness ([`Watch::watch_writes`]). A read that finds the socket empty
//! (or a look that finds it without room) clears tokio's readiness, so the
//! next arrival (or room) wakes the task again; tokio ignores the clear
//! when an event came after the readiness was reported, so none is lost.

use std::{
    fmt, io,
    os::fd::{AsRawFd, RawFd},
    sync::{Mutex, OnceLock},
    task::{Context, Poll, ready},
};
use transport_core::sync::LockExt;

use tokio::io::{Interest, unix::AsyncFd};

/// The socket's descriptor as the reactor sees it. The socket owns it and
/// drops its `Watch` (which deregisters it) before it closes it.
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// The reactor registration of one socket, made on first use.
pub(crate) struct Watch {
    fd: OnceLock<AsyncFd<Fd>>,
    /// Serializes the registration (a descriptor is added to a reactor
    /// once).
    init: Mutex<()>,
    /// What the registration asks for.
    interest: Interest,
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("registered", &self.fd.get().is_some())
            .finish()
    }
}

impl Watch {
    pub(crate) fn new() -> Self {
        Watch {
            fd: OnceLock::new(),
            init: Mutex::new(()),
            interest: Interest::READABLE,
        }
    }

    /// Asks for write readiness too, when the socket is registered (which
    /// it is not yet: this takes the watch by `&mut`, before any wait).
    pub(crate) fn watch_writes(&mut self) {
        self.interest = Interest::READABLE | Interest::WRITABLE;
    }

    fn registration(&self, raw: RawFd) -> io::Result<&AsyncFd<Fd>> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd);
        }
        let _init = self.init.lock_unpoisoned();
        if let Some(fd) = self.fd.get() {
            return Ok(fd);
        }
        // Outside a runtime (a blocking `Select`, say), the process's own
        // reactor: one thread for every such end of the process.
        let _entered = match tokio::runtime::Handle::try_current() {
            Ok(_) => None,
            Err(_) => Some(fallback()?.enter()),
        };
        // SAFETY: `raw` is the socket's open descriptor, and it stays open
        // and the same for as long as the registration lives: the socket
        // drops its `Watch` before it closes the descriptor or hands it to a
        // child (see `Socket`); `Fd` always returns it.
        let fd =
            unsafe { AsyncFd::register_with_interest(Fd(raw), self.interest) }.map_err(io::Error::from)?;
        Ok(self.fd.get_or_init(|| fd))
    }

    /// Calls `attempt` whenever the socket may be readable, until it says
    /// the receive side is ready (`Ready`); `attempt` returning false means
    /// it read the socket empty. `Pending` once the reactor will wake `cx`.
    pub(crate) fn poll_read(
        &self,
        raw: RawFd,
        cx: &mut Context<'_>,
        attempt: &mut dyn FnMut() -> bool,
    ) -> Poll<io::Result<()>> {
        let fd = match self.registration(raw) {
            Ok(fd) => fd,
            Err(e) => return Poll::Ready(Err(e)),
        };
        loop {
            let mut guard = ready!(fd.poll_read_ready(cx))?;
            if attempt() {
                return Poll::Ready(Ok(()));
            }
            guard.clear_ready();
        }
    }

    /// Calls `attempt` whenever the socket may be writable, until it says
    /// there is room (`Ready`); `attempt` returning false means it found
    /// none. `Pending` once the reactor will wake `cx`. Needs
    /// [`watch_writes`](Self::watch_writes).
    pub(crate) fn poll_write(
        &self,
        raw: RawFd,
        cx: &mut Context<'_>,
        attempt: &mut dyn FnMut() -> bool,
    ) -> Poll<io::Result<()>> {
        if !self.interest.is_writable() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this end does not wait for room through the reactor",
            )));
        }
        let fd = match self.registration(raw) {
            Ok(fd) => fd,
            Err(e) => return Poll::Ready(Err(e)),
        };
        loop {
            let mut guard = ready!(fd.poll_write_ready(cx))?;
            if attempt() {
                return Poll::Ready(Ok(()));
            }
            guard.clear_ready();
        }
    }
}

/// The reactor of waits made outside any runtime: a current-thread runtime
/// with its I/O driver, run by one thread for the life of the process.
fn fallback() -> io::Result<&'static tokio::runtime::Handle> {
    static REACTOR: OnceLock<Result<tokio::runtime::Handle, String>> = OnceLock::new();
    let made = REACTOR.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| format!("starting the pipe's reactor: {e}"))?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("transport-pipe-reactor".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .map_err(|e| format!("starting the pipe's reactor thread: {e}"))?;
        Ok(handle)
    });
    made.as_ref().map_err(|e| io::Error::other(e.clone()))
}
