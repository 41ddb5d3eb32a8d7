//! The few system calls the Linux hub and hand-off make themselves: datagram
//! sockets with descriptors, peer credentials, `poll`, and a private
//! listening socket.

use std::{
    ffi::OsStr,
    hash::{BuildHasher, RandomState},
    io, mem,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
        unix::{
            ffi::OsStrExt,
            fs::{DirBuilderExt, MetadataExt, PermissionsExt},
        },
    },
    path::{Path, PathBuf},
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// The most descriptors one message may bring (ipc-channel sends at most
/// 64); more, and the kernel cuts them off and says so.
pub(crate) const MAX_FDS: usize = 64;

/// The control buffer of a receive, in words: a header and `MAX_FDS`
/// descriptors, with room to spare.
const CONTROL_WORDS: usize = 48;

pub(crate) fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(r).map_err(|_| io::Error::last_os_error())
}

/// What one `recvmsg` brought.
#[derive(Debug)]
pub(crate) struct Received {
    /// Bytes of the datagram (0: the peer closed its end).
    pub(crate) len: usize,
    pub(crate) fds: Vec<OwnedFd>,
    /// The datagram, or its descriptors, did not fit.
    pub(crate) truncated: bool,
}

/// Receives one datagram into `buf` without waiting; `None` when none is
/// there. Descriptors come close-on-exec.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<Received>> {
    recv_as(fd, buf, false)
}

/// Receives one datagram into `buf`, waiting for one if `wait` (for a
/// reader with nothing else to do: one system call instead of a `poll`
/// and a receive).
pub(crate) fn recv_as(fd: RawFd, buf: &mut [u8], wait: bool) -> io::Result<Option<Received>> {
    // u64s, so the control buffer is aligned for `cmsghdr`; on the stack,
    // with room for `MAX_FDS` descriptors and the header.
    let mut control = [0u64; CONTROL_WORDS];
    let space = (unsafe_cmsg_space(MAX_FDS * mem::size_of::<RawFd>()) / 8 + 1).min(CONTROL_WORDS);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero `msghdr` is a valid empty one.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space * 8;
    let flags = if wait {
        libc::MSG_CMSG_CLOEXEC
    } else {
        libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC
    };
    let len = loop {
        // SAFETY: `msg` points at `buf` and `control`, which outlive the
        // call and have the lengths given.
        let r = unsafe { libc::recvmsg(fd, &mut msg, flags) };
        match cvt_size(r) {
            Ok(len) => break len,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    let mut fds = Vec::new();
    // SAFETY: the kernel filled `msg`'s control buffer; the CMSG macros walk
    // it within `msg_controllen`.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is a header inside the control buffer.
        let (level, kind, clen) = unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            // SAFETY: as above; `CMSG_LEN(0)` is the header's size.
            let head = unsafe { libc::CMSG_LEN(0) } as usize;
            let n = clen.saturating_sub(head) / mem::size_of::<RawFd>();
            // SAFETY: the data of an `SCM_RIGHTS` message is `n` descriptors.
            let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<RawFd>();
            for i in 0..n {
                // SAFETY: `i < n`, within the message's data; it may be
                // unaligned.
                let raw = unsafe { data.add(i).read_unaligned() };
                // SAFETY: the kernel just installed `raw` in this process for
                // us; nothing else owns it.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
        // SAFETY: as above.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    let truncated = msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0;
    Ok(Some(Received { len, fds, truncated }))
}

fn unsafe_cmsg_space(bytes: usize) -> usize {
    // SAFETY: `CMSG_SPACE` only computes a size.
    unsafe { libc::CMSG_SPACE(bytes as u32) as usize }
}

/// The most parts [`send`] takes.
const MAX_PARTS: usize = 4;

/// Sends `parts` (at most [`MAX_PARTS`]) as one datagram with `fds` (at
/// most [`MAX_FDS`]), waiting for room.
pub(crate) fn send(fd: RawFd, parts: &[&[u8]], fds: &[RawFd]) -> io::Result<()> {
    if parts.len() > MAX_PARTS || fds.len() > MAX_FDS {
        return Err(io::Error::other("a datagram of too many parts or descriptors"));
    }
    let empty = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut iov = [empty; MAX_PARTS];
    for (slot, part) in iov.iter_mut().zip(parts) {
        slot.iov_base = part.as_ptr().cast_mut().cast();
        slot.iov_len = part.len();
    }
    let bytes = mem::size_of_val(fds);
    let mut control = [0u64; CONTROL_WORDS];
    // SAFETY: an all-zero `msghdr` is a valid empty one.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = parts.len();
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = unsafe_cmsg_space(bytes);
        // SAFETY: the control buffer has room for one header and `fds`
        // (`CONTROL_WORDS` words hold `MAX_FDS` descriptors).
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(bytes as u32) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(cmsg), bytes);
        }
    }
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let sent = loop {
        // SAFETY: `msg` points at buffers that outlive the call.
        match cvt_size(unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    if sent != total {
        return Err(io::Error::other("a datagram was sent in part"));
    }
    Ok(())
}

/// Sends `datagram` if there is room for it now (no descriptors).
pub(crate) fn send_now(fd: RawFd, datagram: &[u8]) -> io::Result<()> {
    // SAFETY: `datagram` is valid for reads of its length.
    let sent = cvt_size(unsafe {
        libc::send(
            fd,
            datagram.as_ptr().cast(),
            datagram.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    })?;
    if sent == datagram.len() {
        Ok(())
    } else {
        Err(io::Error::other("a datagram was sent in part"))
    }
}

fn sockopt<T: Copy>(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
    // SAFETY: `T` is a plain C type; the kernel writes at most `len` bytes.
    unsafe {
        let mut value: T = mem::zeroed();
        let mut len = mem::size_of::<T>() as libc::socklen_t;
        cvt(libc::getsockopt(
            fd,
            level,
            name,
            (&raw mut value).cast(),
            &mut len,
        ))?;
        Ok(value)
    }
}

/// Whether `fd` is a Unix datagram-sequence socket, the only descriptor a
/// member may send (ipc-channel's channels).
pub(crate) fn is_channel(fd: RawFd) -> bool {
    let domain = sockopt::<libc::c_int>(fd, libc::SOL_SOCKET, libc::SO_DOMAIN);
    let kind = sockopt::<libc::c_int>(fd, libc::SOL_SOCKET, libc::SO_TYPE);
    matches!((domain, kind), (Ok(libc::AF_UNIX), Ok(libc::SOCK_SEQPACKET)))
}

/// Who is at the other end of a connected Unix socket: (pid, uid).
pub(crate) fn peer(fd: RawFd) -> io::Result<(u32, u32)> {
    let cred = sockopt::<libc::ucred>(fd, libc::SOL_SOCKET, libc::SO_PEERCRED)?;
    Ok((u32::try_from(cred.pid).unwrap_or(0), cred.uid))
}

/// This process's effective user.
pub(crate) fn euid() -> u32 {
    // SAFETY: `geteuid` cannot fail.
    unsafe { libc::geteuid() }
}

/// Waits until one of `fds` is ready, at most `timeout` (`None`: no
/// limit). Returns how many are.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ms = timeout.map_or(-1, |t| {
        libc::c_int::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX)
    });
    loop {
        // SAFETY: `fds` is a valid array of `pollfd` of that length.
        match cvt(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) }) {
            Ok(n) => return Ok(n as usize),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A `pollfd` that waits for `fd` to be readable.
pub(crate) fn readable(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// A pipe whose ends are close-on-exec: (read, write).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: `pipe2` just made both; nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// An eventfd, to wake a `poll` from another thread.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain system call.
    let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    // SAFETY: just made; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads what is there without waiting (`Ok(0)`: end of file).
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: `buf` is valid for writes of its length.
    match cvt_size(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) }) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes all of `buf` (small: a pipe or an eventfd takes it whole).
pub(crate) fn write(fd: RawFd, buf: &[u8]) -> io::Result<()> {
    // SAFETY: `buf` is valid for reads of its length.
    let n = cvt_size(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })?;
    if n == buf.len() {
        Ok(())
    } else {
        Err(io::Error::other("a short write"))
    }
}

/// Makes `fd` non-blocking.
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain system calls on a descriptor this process holds.
    unsafe {
        let flags = cvt(libc::fcntl(fd, libc::F_GETFL))?;
        cvt(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
    }
    Ok(())
}

/// The send buffer of a new socket, which bounds the datagrams an
/// ipc-channel sender writes (as ipc-channel measures it).
pub(crate) fn sendbuf() -> usize {
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(|| {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        let made = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        if made < 0 {
            return 1 << 20;
        }
        // SAFETY: just made; nothing else owns them.
        let (a, _b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        sockopt::<libc::c_int>(a.as_raw_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF)
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(1 << 20)
    })
}

/// A listening datagram-sequence socket in a directory of its own that
/// only this user may enter (0700, whatever the umask), the socket file
/// itself 0600. Dropping it removes both.
#[derive(Debug)]
pub(crate) struct Listener {
    fd: OwnedFd,
    dir: PathBuf,
    path: PathBuf,
}

/// The start of every hand-off directory's name; the creator's pid (hex)
/// and a salt follow.
const DIR_PREFIX: &str = "transport-queue-";

/// A name no other directory of this process has, and hard to guess.
fn fresh_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let salt = RandomState::new().hash_one((n, std::process::id()));
    format!("{DIR_PREFIX}{:x}-{salt:016x}", std::process::id())
}

/// Removes from `tmp` the hand-off directories (and their socket files)
/// of this user's processes that are gone. A listener removes its own when
/// it drops; one whose process was killed, or exited while its child had
/// not opened yet, leaves them, and this takes them away: the name carries
/// the creator's pid. A directory whose pid is alive (its own, or a
/// reused pid's) is left alone, as is anything not this user's or not a
/// directory.
fn sweep_stale(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| libc::pid_t::from_str_radix(pid, 16).ok())
            .filter(|&pid| pid > 0)
        else {
            continue;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } < 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        let dir = entry.path();
        let ours = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir() && m.uid() == euid());
        if gone && ours {
            let _ = std::fs::remove_file(dir.join("s"));
            let _ = std::fs::remove_dir(&dir);
        }
    }
}

impl Listener {
    /// Makes the directory and the socket, and listens.
    pub(crate) fn bind_private() -> io::Result<Listener> {
        // Once per process: what gone processes left behind.
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| sweep_stale(&std::env::temp_dir()));
        let dir = loop {
            let dir = std::env::temp_dir().join(fresh_name());
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        };
        let made = Listener::bind_in(&dir);
        if made.is_err() {
            let _ = std::fs::remove_dir(&dir);
        }
        made
    }

    fn bind_in(dir: &Path) -> io::Result<Listener> {
        // The umask only takes bits away; say the mode outright anyway, and
        // check the directory is this user's.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let meta = std::fs::metadata(dir)?;
        if meta.uid() != euid() || meta.mode() & 0o777 != 0o700 {
            return Err(io::Error::other("the hand-off directory is not private"));
        }
        let path = dir.join("s");
        let addr = sockaddr(&path)?;
        // SAFETY: plain system call.
        let fd = cvt(unsafe {
            libc::socket(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        })?;
        // SAFETY: just made; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let listener = Listener {
            fd,
            dir: dir.to_owned(),
            path,
        };
        // SAFETY: `addr` is a valid `sockaddr_un` of that size.
        cvt(unsafe {
            libc::bind(
                listener.fd.as_raw_fd(),
                (&raw const addr).cast(),
                mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            )
        })?;
        std::fs::set_permissions(&listener.path, std::fs::Permissions::from_mode(0o600))?;
        // SAFETY: plain system call.
        cvt(unsafe { libc::listen(listener.fd.as_raw_fd(), 16) })?;
        Ok(listener)
    }

    /// The socket's path, which a child connects to.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The listening descriptor, to poll.
    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Takes a waiting connection without waiting (close-on-exec,
    /// non-blocking).
    pub(crate) fn accept(&self) -> io::Result<Option<OwnedFd>> {
        // SAFETY: plain system call; no address is asked for.
        let r = unsafe {
            libc::accept4(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            )
        };
        match cvt(r) {
            // SAFETY: just made; nothing else owns it.
            Ok(fd) => Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) })),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The path as the text ipc-channel's `connect` takes.
pub(crate) fn path_text(path: &Path) -> io::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| io::Error::other(format!("{} is not unicode", OsStr::new(path).to_string_lossy())))
}

/// The address of the socket file at `path`.
fn sockaddr(path: &Path) -> io::Result<libc::sockaddr_un> {
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: an all-zero `sockaddr_un` is valid.
    let mut addr: libc::sockaddr_un = unsafe { mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::other(format!(
            "the hand-off socket path {} is too long (set TMPDIR to a shorter directory)",
            path.display()
        )));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(addr)
}

/// Connects a new datagram-sequence socket (close-on-exec, blocking) to
/// the socket file at `path`.
pub(crate) fn connect(path: &Path) -> io::Result<OwnedFd> {
    let addr = sockaddr(path)?;
    // SAFETY: plain system call.
    let fd = cvt(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: just made; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    loop {
        // SAFETY: `addr` is a valid `sockaddr_un` of that size.
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&raw const addr).cast(),
                mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            )
        };
        match cvt(r) {
            Ok(_) => return Ok(fd),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A connected pair of datagram-sequence sockets (close-on-exec,
/// blocking): a channel's two ends.
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: `socketpair` just made both; nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gone process's hand-off directory is swept; a live process's, and
    /// what is not a hand-off directory, stay.
    #[test]
    fn sweep_takes_only_gone_processes_directories() {
        let tmp = std::env::temp_dir().join(format!("transport-queue-sweep-test-{}", fresh_name()));
        std::fs::create_dir(&tmp).expect("a scratch directory");
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawning `true`");
        let dead = child.id();
        child.wait().expect("reaping `true`");
        let make = |name: String| {
            let dir = tmp.join(name);
            std::fs::create_dir(&dir).expect("a directory");
            std::fs::write(dir.join("s"), b"").expect("a file in it");
            dir
        };
        let stale = make(format!("{DIR_PREFIX}{dead:x}-0123456789abcdef"));
        let live = make(format!("{DIR_PREFIX}{:x}-0123456789abcdef", std::process::id()));
        let other = make(format!("not-{DIR_PREFIX}{dead:x}-0"));
        sweep_stale(&tmp);
        assert!(!stale.exists(), "a gone process's directory is removed");
        assert!(live.join("s").exists(), "a live process's directory stays");
        assert!(other.join("s").exists(), "another name stays");
        std::fs::remove_dir_all(&tmp).expect("removing the scratch directory");
    }
}
