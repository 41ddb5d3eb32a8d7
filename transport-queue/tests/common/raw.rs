//! Raw sockets for tests that play a hostile or foreign process: they write
//! what ipc-channel would (or would not) to a queue's sockets.

#![allow(dead_code)]

use std::{
    io, mem,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    time::{Duration, Instant},
};

/// The hand-off server's path in the token of endpoint `name` (the last
/// `;`-separated field of the payload, or the whole payload).
pub fn token_path(name: &str) -> String {
    let var = transport_core::env_var(name).expect("a valid endpoint name");
    let token = std::env::var(var).expect("the endpoint's token");
    let payload = token.splitn(3, '|').nth(2).expect("kind|type|payload");
    payload.rsplit(';').next().expect("a path").to_owned()
}

/// A connected pair of datagram-sequence sockets.
pub fn pair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(r, 0, "socketpair: {}", io::Error::last_os_error());
    // SAFETY: just made.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Connects to the socket at `path`.
pub fn connect(path: &str) -> io::Result<OwnedFd> {
    // SAFETY: plain system calls; `addr` is a valid `sockaddr_un`.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_un = mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (d, s) in addr.sun_path.iter_mut().zip(path.as_bytes()) {
            *d = *s as libc::c_char;
        }
        let r = libc::connect(
            fd.as_raw_fd(),
            (&raw const addr).cast(),
            mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        );
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fd)
    }
}

/// Sends `bytes` as one datagram with `fds`.
pub fn send(fd: RawFd, bytes: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr().cast_mut().cast(),
        iov_len: bytes.len(),
    };
    let mut control = vec![0u64; 64];
    // SAFETY: building a `msghdr` over live buffers; the control buffer has
    // room for the descriptors.
    unsafe {
        let mut msg: libc::msghdr = mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            let len = mem::size_of_val(fds) as u32;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(len) as usize;
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(len) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(c), len as usize);
        }
        if libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What waiting on a socket gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Got {
    Datagram(Vec<u8>),
    Closed,
    Nothing,
}

/// Receives one datagram within `timeout`.
pub fn recv(fd: RawFd, timeout: Duration) -> Got {
    let deadline = Instant::now() + timeout;
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // SAFETY: one valid `pollfd`.
        let n = unsafe { libc::poll(&mut p, 1, left.as_millis() as i32) };
        if n == 0 {
            return Got::Nothing;
        }
        if n > 0 {
            break;
        }
    }
    let mut buf = vec![0u8; 1 << 18];
    // SAFETY: `buf` is valid for writes of its length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
    if n <= 0 {
        return Got::Closed;
    }
    buf.truncate(n as usize);
    Got::Datagram(buf)
}

/// Waits until the peer of `fd` closes (skipping datagrams), at most
/// `timeout`: true if it did.
pub fn closes(fd: RawFd, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match recv(fd, deadline.saturating_duration_since(Instant::now())) {
            Got::Closed => return true,
            Got::Nothing => return false,
            Got::Datagram(_) => {}
        }
    }
}

const W: usize = mem::size_of::<usize>();

/// A datagram as ipc-channel frames a whole message.
pub fn datagram(payload: &[u8]) -> Vec<u8> {
    framed(W * 2 + payload.len(), payload.len(), payload)
}

/// A datagram with the two header words given outright.
pub fn framed(fragment: usize, total: usize, payload: &[u8]) -> Vec<u8> {
    let mut d = fragment.to_ne_bytes().to_vec();
    d.extend_from_slice(&total.to_ne_bytes());
    d.extend_from_slice(payload);
    d
}

/// A member made by hand: it joins through the hand-off of endpoint `name`
/// with two socket pairs of its own, and keeps their far ends.
pub struct RawMember {
    /// Where it writes requests (the hub reads the other end).
    pub up: OwnedFd,
    /// Where it reads the hub's messages.
    pub down: OwnedFd,
}

impl RawMember {
    /// Joins; panics unless the queue welcomes it.
    pub fn join(name: &str) -> RawMember {
        let conn = connect(&token_path(name)).expect("connecting to the hand-off");
        let (up_hub, up) = pair();
        let (down_hub, down) = pair();
        // Boot::Join { up: channel 0, down: channel 1, role: Both }.
        let join = datagram(&[0, 0, 1, 2]);
        send(
            conn.as_raw_fd(),
            &join,
            &[up_hub.as_raw_fd(), down_hub.as_raw_fd()],
        )
        .expect("sending the join");
        drop((up_hub, down_hub, conn));
        match recv(down.as_raw_fd(), Duration::from_secs(30)) {
            Got::Datagram(d) => assert_eq!(d[2 * W], 0, "a welcome first"),
            other => panic!("no welcome: {other:?}"),
        }
        RawMember { up, down }
    }
}

/// A memfd of `size` bytes with `seals` added (0: none).
pub fn memfd(size: usize, seals: i32) -> OwnedFd {
    // SAFETY: plain system calls on a descriptor made here.
    unsafe {
        let fd = libc::memfd_create(c"hostile".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING);
        assert!(fd >= 0, "memfd_create: {}", io::Error::last_os_error());
        let fd = OwnedFd::from_raw_fd(fd);
        assert_eq!(libc::ftruncate(fd.as_raw_fd(), size as libc::off_t), 0);
        if seals != 0 {
            assert_eq!(libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals), 0);
        }
        fd
    }
}

/// A pipe's reading end: a descriptor that is no memory at all.
pub fn pipe_end() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: just made; the writing end is closed at once.
    unsafe {
        drop(OwnedFd::from_raw_fd(fds[1]));
        OwnedFd::from_raw_fd(fds[0])
    }
}

/// `n` as postcard writes an unsigned integer (LEB128).
pub fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// This process's mappings of the queue's slabs (shared memory).
pub fn slab_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .expect("reading /proc/self/maps")
        .lines()
        .filter(|l| l.contains("memfd:transport-queue"))
        .count()
}

/// This process's open descriptors.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("listing /proc/self/fd")
        .count()
}
