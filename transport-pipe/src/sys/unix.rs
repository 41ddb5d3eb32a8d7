//! Unix: an unnamed `AF_UNIX` stream socket pair, handed to a child as an
//! inherited descriptor.
//!
//! - The pair comes from `socketpair(2)`: it has no name in any namespace,
//!   so nobody can connect to it, nothing is left on disk, and the kernel
//!   frees it when the last descriptor closes (a crash included).
//! - Both descriptors are close-on-exec from birth (`SOCK_CLOEXEC` where the
//!   platform has it) and non-blocking. Hand-off clears close-on-exec only
//!   in the forked child, in a `pre_exec` hook the `Command` owns, so no
//!   other child spawned meanwhile inherits it.
//! - A hand-off is used once, by the first child that reaches it, and the
//!   parent's copy is closed as soon as that child exists, whether or not
//!   the `Command` is kept (std's `Command` has no hook in the parent after
//!   a spawn, so the hand-off makes its own). It comes with a *claim*: a
//!   socket pair, close-on-exec, one byte waiting in it. In the forked
//!   child, before `exec`, the hook takes that byte; a child that finds
//!   none (the same `Command` spawned again) fails the spawn with
//!   `EALREADY` before it touches the descriptor. The child that took it
//!   clears close-on-exec on the end and sends a byte back. A thread in the
//!   parent waits for that byte (or for the end of the claim, when the
//!   `Command` is dropped unspawned) and closes the parent's copy; a parent
//!   that says which child it spawned (`transport_core::spawned`, as
//!   `CommandExt::start` does) closes it before `start` returns
//!   (`parent_copy.rs`). All of it is `recv`, `send` and `fcntl` in the
//!   child: async-signal-safe, no allocation, no lock.
//! - No `SIGPIPE`: sends use `MSG_NOSIGNAL` (Linux and the BSDs) or the
//!   socket has `SO_NOSIGPIPE` (macOS).
//! - The child checks that the descriptor it was told about is the socket
//!   the parent meant (same device and inode) and that the peer runs as the
//!   same user, before it takes ownership. The peer's process id is no
//!   help here: for a socket pair the system reports the process that
//!   created the pair, not the one holding the other end.

use std::{
    io::{self, IoSlice},
    mem::{self, MaybeUninit},
    os::{
        fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
        unix::process::CommandExt as _,
    },
    process::Command,
};

use interprocess::{local_socket::traits::StreamCommon as _, os::unix::uds_local_socket};
use transport_core::{OpenError, backend::Wait};

use super::{fd_payload::FdPayload, millis, parent_copy::ParentCopy};

/// Pipes reach other processes here.
pub(crate) const CROSS_PROCESS: bool = true;
/// A reactor waits on the socket itself.
pub(crate) const READINESS: transport_core::Readiness = transport_core::Readiness::Descriptor;

/// One end of a connected `AF_UNIX` stream socket pair.
#[derive(Debug)]
pub(crate) struct Socket {
    /// Declared first, so the reactor forgets the descriptor before it
    /// closes.
    #[cfg(feature = "tokio")]
    watch: super::async_fd::Watch,
    fd: OwnedFd,
}

#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT;

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
))]
const SOCKET_TYPE: libc::c_int = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
)))]
const SOCKET_TYPE: libc::c_int = libc::SOCK_STREAM;

/// Turns a `-1` return into the `errno` error.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Turns a `-1` byte count into the `errno` error.
fn cvt_len(ret: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

fn peer_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the other end of the pipe is closed")
}

impl Socket {
    pub(crate) fn pair() -> io::Result<(Socket, Socket)> {
        let (a, b) = socket_pair()?;
        Ok((Socket::setup(a)?, Socket::setup(b)?))
    }

    /// Close-on-exec, non-blocking, no `SIGPIPE`, and above the standard
    /// descriptors (a child's stdio set-up would overwrite 0, 1 and 2).
    pub(crate) fn setup(fd: OwnedFd) -> io::Result<Socket> {
        let fd = above_stdio(fd)?;
        let raw = fd.as_raw_fd();
        // SAFETY: plain fcntl calls on a descriptor this function owns.
        unsafe {
            let flags = cvt(libc::fcntl(raw, libc::F_GETFL))?;
            cvt(libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
        }
        no_sigpipe(raw)?;
        Ok(Socket {
            #[cfg(feature = "tokio")]
            watch: super::async_fd::Watch::new(),
            fd,
        })
    }

    /// Waits for `events` on the socket; the events that happened (none on
    /// time-out or interruption).
    fn poll(&self, events: libc::c_short, timeout_ms: Option<u64>) -> io::Result<libc::c_short> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events,
            revents: 0,
        };
        let timeout = timeout_ms.map_or(-1, |ms| ms.min(i32::MAX as u64) as libc::c_int);
        // SAFETY: one valid pollfd, and its count.
        match cvt(unsafe { libc::poll(&raw mut pfd, 1, timeout) }) {
            Ok(_) => Ok(pfd.revents),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn send(
        &self,
        bufs: &[IoSlice<'_>],
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<usize> {
        let mut watch_read = true;
        loop {
            // SAFETY: an all-zero msghdr is valid (no name, no control data).
            let mut msg: libc::msghdr = unsafe { mem::zeroed() };
            // `IoSlice` is guaranteed ABI-compatible with `iovec` on Unix;
            // sendmsg only reads through the pointer.
            msg.msg_iov = bufs.as_ptr().cast_mut().cast();
            msg.msg_iovlen = bufs.len() as _;
            // SAFETY: `msg` points at `bufs`, which outlive the call.
            match cvt_len(unsafe { libc::sendmsg(self.fd.as_raw_fd(), &raw const msg, SEND_FLAGS) }) {
                Ok(n) => return Ok(n),
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN) => return Err(peer_gone()),
                    _ if e.kind() == io::ErrorKind::WouldBlock => {}
                    _ => return Err(e),
                },
            }
            if wait.expired() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let (events, timeout) = if watch_read {
                (libc::POLLOUT | libc::POLLIN, millis(wait))
            } else {
                // Someone else is reading: look again in a moment.
                (libc::POLLOUT, Some(millis(wait).map_or(1, |ms| ms.min(1))))
            };
            let revents = self.poll(events, timeout)?;
            watch_read = if watch_read && revents & libc::POLLIN != 0 {
                on_readable()
            } else {
                true
            };
        }
    }

    pub(crate) fn recv(&self, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<usize> {
        loop {
            let fd = self.fd.as_raw_fd();
            // SAFETY: `buf` is writable for its length; recv writes at most
            // that many bytes and initializes the ones it reports.
            match cvt_len(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) }) {
                Ok(n) => return Ok(n),
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    // A peer that died with unread data: the end of the stream.
                    Some(libc::ECONNRESET) => return Ok(0),
                    _ if e.kind() == io::ErrorKind::WouldBlock => {}
                    _ => return Err(e),
                },
            }
            if wait.expired() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.poll(libc::POLLIN, millis(wait))?;
        }
    }

    /// See `async_fd.rs`.
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
        attempt: &mut dyn FnMut() -> bool,
    ) -> std::task::Poll<io::Result<()>> {
        self.watch.poll_read(self.fd.as_raw_fd(), cx, attempt)
    }

    /// Has the reactor watch for room to write too (an end in Python's
    /// framing, which writes from the sending task); before any wait.
    #[cfg(feature = "tokio")]
    pub(crate) fn watch_writes(&mut self) {
        self.watch.watch_writes();
    }

    /// Ready once the socket has room to write, or the peer is gone (a
    /// send then reports it); see `async_fd.rs`. Needs
    /// [`watch_writes`](Self::watch_writes).
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_write(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        let mut room = || {
            // An error here is the send's to report: let it try.
            self.poll(libc::POLLOUT, Some(0))
                .map_or(true, |r| r & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0)
        };
        self.watch.poll_write(self.fd.as_raw_fd(), cx, &mut room)
    }

    /// Stops reading the peer for good: its sends fail from now on.
    pub(crate) fn shutdown_read(&self) {
        // SAFETY: shutdown on a descriptor this socket owns; a failure only
        // means the peer is gone already.
        unsafe { libc::shutdown(self.fd.as_raw_fd(), libc::SHUT_RD) };
    }

    /// Nothing written stays in this process: `send` returns once the
    /// kernel has the bytes.
    pub(crate) fn settle(&self, _wait: Wait) -> io::Result<()> {
        Ok(())
    }

    pub(crate) fn handoff(self, cmd: &mut Command) -> io::Result<String> {
        // The reactor forgets the descriptor before it changes hands.
        #[cfg(feature = "tokio")]
        drop(self.watch);
        let st = fstat(self.fd.as_raw_fd())?;
        let end = self.fd.as_raw_fd();
        let (watch, claim) = socket_pair()?;
        let (watch, claim) = (above_stdio(watch)?, above_stdio(claim)?);
        no_sigpipe(claim.as_raw_fd())?;
        no_sigpipe(watch.as_raw_fd())?;
        // The one byte a child can take.
        // SAFETY: sends one byte from a local to a socket this function owns.
        let sent = cvt_len(unsafe { libc::send(watch.as_raw_fd(), [1u8].as_ptr().cast(), 1, SEND_FLAGS) })?;
        if sent != 1 {
            return Err(io::Error::other("the hand-off claim took no byte"));
        }
        let payload = FdPayload {
            fd: end,
            dev: st.st_dev,
            ino: st.st_ino,
        }
        .to_string();
        ParentCopy::keep(payload.clone(), self.fd, watch)?;
        let raw_claim = claim.as_raw_fd();
        let hook = move || -> io::Result<()> {
            // Keeps the claim open in the parent as long as the `Command`.
            let _owned = &claim;
            let mut byte = 0u8;
            // SAFETY: reads at most one byte into a local.
            let got = unsafe { libc::recv(raw_claim, (&raw mut byte).cast(), 1, libc::MSG_DONTWAIT) };
            if got != 1 {
                // Another child took this end: it goes to one child only.
                return Err(io::Error::from_raw_os_error(libc::EALREADY));
            }
            // SAFETY: fcntl on the end, which this forked child inherited
            // open: the parent closes its copy only after this claim.
            let flags = unsafe { libc::fcntl(end, libc::F_GETFD) };
            // SAFETY: as above.
            if flags == -1 || unsafe { libc::fcntl(end, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } == -1 {
                return Err(io::Error::last_os_error());
            }
            // Tell the parent that its copy can go. If this fails the parent
            // keeps its copy until the `Command` is dropped, as before.
            // SAFETY: sends one byte from a local.
            unsafe { libc::send(raw_claim, (&raw const byte).cast(), 1, SEND_FLAGS) };
            Ok(())
        };
        // SAFETY: the hook runs in the forked child before exec and only
        // calls recv, fcntl and send, which are async-signal-safe; it
        // allocates nothing and takes no lock (the error it may build is
        // an OS error code, stored inline).
        unsafe { cmd.pre_exec(hook) };
        Ok(payload)
    }

    pub(crate) fn open(payload: &str) -> Result<Socket, OpenError> {
        let FdPayload { fd, dev, ino } = FdPayload::<libc::dev_t, libc::ino_t>::parse(payload)?;
        let what = || format!("inherited pipe descriptor {fd}");
        let st = fstat(fd).map_err(|_| OpenError::Gone { what: what() })?;
        if st.st_mode & libc::S_IFMT != libc::S_IFSOCK || st.st_dev != dev || st.st_ino != ino {
            return Err(OpenError::Gone {
                what: format!("{} (descriptor {fd} is open, but it is not that socket)", what()),
            });
        }
        // SAFETY: the descriptor is open and is the very socket the parent
        // handed over (same device and inode), which this process never
        // opened itself; transport-core opens each hand-off token once per
        // process, so nothing else in this process owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let socket = Socket::setup(fd).map_err(|e| OpenError::io(what(), e))?;
        socket.check_peer_user(&what())?;
        Ok(socket)
    }

    /// Refuses a socket whose peer runs as another user.
    fn check_peer_user(&self, what: &str) -> Result<(), OpenError> {
        let creds = self
            .fd
            .try_clone()
            .map(uds_local_socket::Stream::from)
            .and_then(|stream| stream.peer_creds())
            .map_err(|e| OpenError::io(what, e))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        match creds.euid() {
            Some(uid) if uid != me => Err(OpenError::refused(
                what,
                format!("the pipe's peer runs as user {uid}, not as this process's user {me}"),
            )),
            _ => Ok(()),
        }
    }
}

/// A new `AF_UNIX` stream socket pair, close-on-exec where the system can
/// make it so at once.
fn socket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [RawFd; 2] = [-1, -1];
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    cvt(unsafe { libc::socketpair(libc::AF_UNIX, SOCKET_TYPE, 0, fds.as_mut_ptr()) })?;
    // SAFETY: socketpair succeeded, so both are new open descriptors that
    // nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `fd`, moved above the standard descriptors (a child's stdio set-up
/// would overwrite 0, 1 and 2 before any `pre_exec` hook runs), and
/// close-on-exec.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    let fd = if fd.as_raw_fd() <= 2 {
        // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor or -1.
        let new = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) })?;
        // SAFETY: `new` was just created and nothing else owns it.
        unsafe { OwnedFd::from_raw_fd(new) }
    } else {
        fd
    };
    let raw = fd.as_raw_fd();
    // SAFETY: plain fcntl calls on a descriptor this function owns.
    unsafe {
        let flags = cvt(libc::fcntl(raw, libc::F_GETFD))?;
        cvt(libc::fcntl(raw, libc::F_SETFD, flags | libc::FD_CLOEXEC))?;
    }
    Ok(fd)
}

/// Sends on `fd` never raise `SIGPIPE` (elsewhere `MSG_NOSIGNAL` does it).
#[cfg(target_vendor = "apple")]
fn no_sigpipe(fd: RawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: SO_NOSIGPIPE takes an int, passed with its size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            (&raw const one).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

#[cfg(not(target_vendor = "apple"))]
fn no_sigpipe(_fd: RawFd) -> io::Result<()> {
    Ok(())
}

/// The hand-off's thread in the parent: waits until a child claimed the
/// end (it sends a byte back) or nobody can any more (the `Command` was
/// dropped: the end of the claim's stream), then closes the parent's copy
/// of the end.
fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills `st` when it returns 0.
    cvt(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so `st` is initialized.
    Ok(unsafe { st.assume_init() })
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
