//! Unix: `AF_UNIX` stream sockets on a path (through interprocess) or in
//! Linux's abstract namespace, and TCP.
//!
//! - A path's socket file is created owner-only (`0600`) whatever the
//!   umask: interprocess sets the mode with `fchmod` before `bind`, and the
//!   file is checked after (`lstat`: a socket, this user's, no group or
//!   other bits). interprocess removes it when the listener drops. Where
//!   the system cannot do that (macOS), the socket is bound in a new 0700
//!   directory beside the path, made 0600, and hard-linked into place.
//! - A file already at the path is reclaimed only if it is a socket, owned
//!   by this user, and refuses a connection (nothing listens: a listener
//!   that crashed). A live listener gives `InUse`; anything else is left
//!   alone and refused.
//! - Abstract names have no file and no permissions: anyone on the machine
//!   (in the same network namespace) can connect, so use an `authkey` or a
//!   user check there, as on TCP.
//! - The peer's user and process come from `SO_PEERCRED` (Linux) or
//!   `getpeereid` (the BSDs, macOS), through interprocess.

use std::{
    io,
    net::{TcpListener, TcpStream},
    os::{
        fd::{AsFd, AsRawFd, OwnedFd},
        unix::fs::{FileTypeExt, MetadataExt, PermissionsExt},
    },
    path::{Path, PathBuf},
};

use interprocess::{
    local_socket::{
        ListenerNonblockingMode, ListenerOptions, Name, ToFsName,
        traits::{Listener as _, StreamCommon as _},
    },
    os::unix::{
        local_socket::{FilesystemUdSocket, ListenerOptionsExt as _},
        uds_local_socket,
    },
};
use transport_core::backend::Wait;

use super::Conn;
use crate::{
    named::{Address, BindError, PeerCreds},
    sys::{Socket, millis},
};

/// What the Python framing runs on: the pipe's own socket, which works on
/// any stream socket.
/// Whether an end in Python's framing gathers the messages sent while
/// its socket is full and writes them together (`named/backlog.rs`): yes,
/// the socket is a byte stream.
pub(crate) const WRITE_BEHIND: bool = true;

pub(crate) type StreamSocket = Socket;

/// Every address and framing works here (an abstract name only on Linux,
/// which binding and connecting report).
pub(crate) fn supports(_address: &Address, _framing: crate::python::frame::Framing) -> Result<(), String> {
    Ok(())
}

impl Socket {
    /// The pipe's own socket, for the pipe end: every stream here is one.
    #[allow(
        clippy::unnecessary_wraps,
        reason = "the same call as on Windows, where a TCP stream is not a pipe socket"
    )]
    pub(crate) fn into_pipe(self) -> Result<Socket, Socket> {
        Ok(self)
    }
}

/// A connected stream socket, not yet set up for either framing.
#[derive(Debug)]
pub(crate) struct Stream(OwnedFd);

impl Stream {
    /// The socket, non-blocking and close-on-exec, for either framing.
    pub(crate) fn into_stream(self) -> io::Result<StreamSocket> {
        Socket::setup(self.0)
    }
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Acceptor {
    /// A path or an abstract name. interprocess removes a path's file on
    /// drop.
    Local(uds_local_socket::Listener),
    /// A socket file bound in a private directory and linked into place,
    /// where the system cannot set a socket's mode before `bind` (macOS);
    /// the file is removed on drop (the listener closes first).
    Linked {
        listener: uds_local_socket::Listener,
        /// Held for its drop, after the listener's.
        _file: Placed,
    },
    Tcp(TcpListener),
}

/// A socket file this process put at `path`: removed on drop, if it is
/// still the same file.
#[derive(Debug)]
pub(crate) struct Placed {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for Placed {
    fn drop(&mut self) {
        if let Ok(meta) = std::fs::symlink_metadata(&self.path) {
            if meta.dev() == self.dev && meta.ino() == self.ino {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Binds a socket file at `path` owner-only where the mode cannot be set
/// before `bind`: in a new directory of mode 0700 next to `path` (so
/// nobody else can reach it meanwhile, whatever the umask), then `chmod`
/// 0600, then a hard link to `path` (which fails if anything is there),
/// then the private name and directory go.
fn bind_linked(path: &Path, what: &str) -> Result<Acceptor, BindError> {
    use std::os::unix::fs::DirBuilderExt;
    let io = |e: io::Error| BindError::io(what.to_owned(), e);
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut random = [0u8; 8];
    getrandom::getrandom(&mut random).map_err(|e| io(io::Error::other(e.to_string())))?;
    let dir = parent.join(format!(
        ".transport-{}-{:016x}",
        std::process::id(),
        u64::from_le_bytes(random)
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(io)?;
    let inner = dir.join("s");
    let made = (|| {
        let listener = ListenerOptions::new()
            .name(inner.as_path().to_fs_name::<FilesystemUdSocket>()?)
            .nonblocking(ListenerNonblockingMode::Accept)
            .reclaim_name(false)
            .create_sync_as::<uds_local_socket::Listener>()?;
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o600))?;
        std::fs::hard_link(&inner, path)?;
        Ok::<_, io::Error>(listener)
    })();
    let _ = std::fs::remove_file(&inner);
    let _ = std::fs::remove_dir(&dir);
    let listener = made.map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => BindError::InUse {
            address: what.to_owned(),
        },
        _ => io(e),
    })?;
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    let placed = Placed {
        path: path.to_owned(),
        dev: meta.dev(),
        ino: meta.ino(),
    };
    check_file(path)?;
    Ok(Acceptor::Linked {
        listener,
        _file: placed,
    })
}

fn geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn name_of(address: &Address) -> io::Result<Name<'_>> {
    match address {
        Address::Path(path) => path.as_path().to_fs_name::<FilesystemUdSocket>(),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Address::Abstract(name) => {
            use interprocess::{local_socket::ToNsName, os::unix::local_socket::AbstractNsUdSocket};
            name.as_str().to_ns_name::<AbstractNsUdSocket>()
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Address::Abstract(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "abstract socket names exist only on Linux",
        )),
        Address::Tcp(_) => Err(io::ErrorKind::InvalidInput.into()),
    }
}

/// Removes a socket file a crashed listener left at `path`, if it is one.
fn reclaim(path: &Path) -> Result<(), BindError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(BindError::io(path.display().to_string(), source)),
    };
    let refuse = |reason: String| BindError::NotOurs {
        address: path.display().to_string(),
        reason,
    };
    if !meta.file_type().is_socket() {
        return Err(refuse("a file that is not a socket is there".into()));
    }
    if meta.uid() != geteuid() {
        return Err(refuse(format!(
            "the socket there belongs to user {}, not to this process's user {}",
            meta.uid(),
            geteuid()
        )));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(BindError::InUse {
            address: path.display().to_string(),
        }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(BindError::io(path.display().to_string(), source)),
        },
        Err(source) => Err(BindError::io(path.display().to_string(), source)),
    }
}

/// Checks what `bind` made at `path`: this user's socket, owner-only.
fn check_file(path: &Path) -> Result<(), BindError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| BindError::io(path.display().to_string(), e))?;
    if !meta.file_type().is_socket() || meta.uid() != geteuid() || meta.mode() & 0o077 != 0 {
        return Err(BindError::NotOurs {
            address: path.display().to_string(),
            reason: format!(
                "the socket file was not created owner-only (mode {:o}, owner {})",
                meta.mode() & 0o7777,
                meta.uid()
            ),
        });
    }
    Ok(())
}

impl Acceptor {
    /// Listens at `address`; also gives the address as bound (a TCP port
    /// 0 becomes the port the system chose).
    pub(crate) fn bind(
        address: &Address,
        _framing: crate::python::frame::Framing,
    ) -> Result<(Acceptor, Address), BindError> {
        let what = address.to_string();
        if let Address::Tcp(addr) = address {
            let listener = TcpListener::bind(addr).map_err(|e| BindError::io(what.clone(), e))?;
            listener
                .set_nonblocking(true)
                .map_err(|e| BindError::io(what.clone(), e))?;
            let bound = listener.local_addr().map_err(|e| BindError::io(what, e))?;
            return Ok((Acceptor::Tcp(listener), Address::Tcp(bound)));
        }
        if let Address::Path(path) = address {
            reclaim(path)?;
        }
        let name = name_of(address).map_err(|e| BindError::io(what.clone(), e))?;
        let mut options = ListenerOptions::new()
            .name(name)
            .nonblocking(ListenerNonblockingMode::Accept)
            .reclaim_name(true);
        if matches!(address, Address::Path(_)) {
            options = options.mode(0o600);
        }
        let listener = match (options.create_sync_as::<uds_local_socket::Listener>(), address) {
            (Ok(listener), _) => listener,
            // The system cannot set the mode before `bind` (macOS).
            (Err(e), Address::Path(path)) if e.kind() == io::ErrorKind::Unsupported => {
                return bind_linked(path, &what).map(|a| (a, address.clone()));
            }
            (Err(e), _) if e.kind() == io::ErrorKind::AddrInUse => {
                return Err(BindError::InUse { address: what });
            }
            (Err(e), _) => return Err(BindError::io(what, e)),
        };
        if let Address::Path(path) = address {
            check_file(path)?;
        }
        Ok((Acceptor::Local(listener), address.clone()))
    }

    fn raw_fd(&self) -> i32 {
        match self {
            Acceptor::Local(l) | Acceptor::Linked { listener: l, .. } => l.as_fd().as_raw_fd(),
            Acceptor::Tcp(l) => l.as_raw_fd(),
        }
    }

    /// The next connection; `None` when `wait` ran out first.
    pub(crate) fn accept(&self, wait: Wait) -> io::Result<Option<Conn>> {
        loop {
            let accepted = match self {
                Acceptor::Local(l) | Acceptor::Linked { listener: l, .. } => l.accept().and_then(|s| {
                    let peer = creds(&s);
                    let fd = OwnedFd::from(s.inner().try_clone()?);
                    Ok(Conn {
                        stream: Stream(fd),
                        peer,
                    })
                }),
                Acceptor::Tcp(l) => l.accept().and_then(|(s, _)| tcp_conn(s)),
            };
            match accepted {
                Ok(conn) => return Ok(Some(conn)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A client that gave up before it was accepted.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => return Err(e),
            }
            if wait.expired() {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd: self.raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let timeout = millis(wait).map_or(-1, |ms| ms.min(i32::MAX as u64) as libc::c_int);
            // SAFETY: one valid pollfd, and its count.
            if unsafe { libc::poll(&raw mut pfd, 1, timeout) } == -1 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

fn creds(stream: &uds_local_socket::Stream) -> PeerCreds {
    match stream.peer_creds() {
        Ok(c) => PeerCreds {
            uid: c.euid(),
            pid: c.pid().and_then(|p| u32::try_from(p).ok()).filter(|&p| p != 0),
        },
        Err(_) => PeerCreds::default(),
    }
}

fn tcp_conn(s: TcpStream) -> io::Result<Conn> {
    // Small messages go out at once (the framing writes a header and its
    // message in one call, so nothing waits for the next write).
    s.set_nodelay(true)?;
    Ok(Conn {
        stream: Stream(OwnedFd::from(s)),
        peer: PeerCreds::default(),
    })
}

/// Connects to `address`.
pub(crate) fn connect(
    address: &Address,
    _framing: crate::python::frame::Framing,
    wait: Wait,
) -> io::Result<Conn> {
    if let Address::Tcp(addr) = address {
        let s = match wait.remaining() {
            None => TcpStream::connect(addr)?,
            Some(left) => TcpStream::connect_timeout(addr, left.max(std::time::Duration::from_millis(1)))?,
        };
        return tcp_conn(s);
    }
    let name = name_of(address)?;
    let s = <uds_local_socket::Stream as interprocess::local_socket::traits::Stream>::connect(name)?;
    let peer = creds(&s);
    let fd = OwnedFd::from(s.inner().try_clone()?);
    Ok(Conn {
        stream: Stream(fd),
        peer,
    })
}

/// A connected stream socket this process was given (Python's `Pipe()` end
/// passed with `pass_fds`), and its peer.
pub(crate) fn adopt(fd: OwnedFd) -> io::Result<(StreamSocket, PeerCreds)> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills `st` when it returns 0.
    if unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat succeeded.
    if unsafe { st.assume_init() }.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the descriptor is not a socket (Python's one-way Pipe(duplex=False) is an os.pipe, which is not supported)",
        ));
    }
    let probe = uds_local_socket::Stream::from(fd.try_clone()?);
    let peer = creds(&probe);
    drop(probe);
    Ok((Socket::setup(fd)?, peer))
}

/// This process's effective user id.
pub(crate) fn euid() -> Option<u32> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    Some(unsafe { libc::geteuid() })
}

impl crate::PyConnection {
    /// Takes over a connected stream socket this process was given: the
    /// end of Python's `Pipe()` (two-way) that a Python parent passed with
    /// `subprocess.Popen(..., pass_fds=[conn.fileno()])` (Unix). Messages
    /// are limited to [`DEFAULT_MAX_MESSAGE_SIZE`](transport_core::DEFAULT_MAX_MESSAGE_SIZE).
    ///
    /// # Errors
    /// `InvalidInput` when the descriptor is not a socket (Python's
    /// one-way `Pipe(duplex=False)` is an `os.pipe`, which is not
    /// supported); other operating-system errors as they are.
    pub fn from_fd(fd: std::os::fd::OwnedFd) -> io::Result<crate::PyConnection> {
        let (sock, peer) = adopt(fd)?;
        let end = crate::named::stream_end::StreamEnd::new(
            sock,
            crate::python::frame::Framing::Python,
            transport_core::DEFAULT_MAX_MESSAGE_SIZE,
        );
        Ok(crate::PyConnection::new(crate::NamedEnd::stream(
            end,
            peer,
            crate::named::DEFAULT_SPIN,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The way of systems that cannot set a socket's mode before `bind`,
    /// run here: owner-only, reachable at the path, nothing else left, and
    /// gone with the acceptor.
    #[test]
    fn linked_socket_file_is_owner_only_and_goes() {
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join(format!("tp-linked-{}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .expect("a directory");
        let path = dir.join("linked.sock");
        let acceptor = bind_linked(&path, "linked").expect("binding");
        let meta = std::fs::symlink_metadata(&path).expect("the socket file");
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.mode() & 0o777, 0o600);
        let _client = std::os::unix::net::UnixStream::connect(&path).expect("connecting at the path");
        assert!(
            acceptor
                .accept(Wait::timeout(std::time::Duration::from_secs(60)))
                .expect("accepting")
                .is_some()
        );
        // A second one at the same path is refused, not displacing the first.
        assert!(matches!(
            bind_linked(&path, "linked"),
            Err(BindError::InUse { .. })
        ));
        let left: Vec<_> = std::fs::read_dir(&dir)
            .expect("listing")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("linked.sock")],
            "only the socket file"
        );
        drop(acceptor);
        assert!(!path.exists(), "removed with the acceptor");
        std::fs::remove_dir(&dir).expect("nothing left behind");
    }
}
