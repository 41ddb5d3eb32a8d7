//! The hand-off server on Linux: this crate's own listening socket, in a
//! directory only this user may enter, that waits for the one child it was
//! made for.
//!
//! - Every connection's peer is checked (`SO_PEERCRED`): another user's is
//!   closed at once; one of this user's is heard only if it is the child
//!   the command spawned (the pid it reported, see [`super::child`]), and
//!   anyone else is told it was refused. A connection that says nothing,
//!   or nothing this crate writes, is closed after [`JOIN_WAIT`] at most.
//!   None of them uses the hand-off up: the server keeps waiting for the
//!   real child.
//! - The child's first message (its two channels) is read and checked
//!   with this crate's own code ([`crate::wire::decode`]).
//! - A child that dies before it opens is seen at once (the pid pipe's end
//!   of file), and the hand-off is withdrawn; so it is after
//!   the hand-off's timeout.
//! - Once the child joined, a second child of the same command that
//!   reported its pid meanwhile is told the hand-off was already used.

use std::{
    io,
    os::fd::{AsRawFd, OwnedFd},
    process::Command,
    thread,
    time::{Duration, Instant},
};

use transport_core::{HandoffError, OpenError};

use super::{
    channel::DownSender,
    child::{self, ChildEnd, Watch},
    fd::{self, Listener},
};
use crate::{
    sys::api::{Deliver, Joined, io_error},
    wire::{Boot, Down, NoSegment, decode},
};

/// How long a connection may take to say who it is.
pub(crate) const JOIN_WAIT: Duration = Duration::from_secs(5);

/// Connections heard at once, at most; past that the oldest is closed.
const MAX_CONNS: usize = 8;

/// The token payload's first field: this format.
const FORMAT: &str = "unix1";

/// Opens a server for the child `cmd` will spawn; `deliver` gets the
/// child's channels. Returns the token payload.
pub(crate) fn serve(cmd: &mut Command, timeout: Duration, deliver: Deliver) -> Result<String, HandoffError> {
    let listener = Listener::bind_private().map_err(io_error("a hand-off server for a queue"))?;
    let (watch, end) = child::install(cmd).map_err(io_error("the pipe that tells a child's pid"))?;
    let path = fd::path_text(listener.path()).map_err(io_error("a hand-off server for a queue"))?;
    let payload = format!("{FORMAT};{};{};{};{path}", end.fd, end.dev, end.ino);
    let server = Server {
        timeout,
        listener,
        watch,
        deliver: Some(deliver),
        pids: Pids::default(),
        conns: Vec::new(),
    };
    thread::Builder::new()
        .name("transport-queue-handoff".into())
        .spawn(move || server.run())
        .map_err(io_error("a hand-off thread"))?;
    Ok(payload)
}

/// What a child needs from a token payload: the server's path, and the
/// pipe it lets go of once it opened.
pub(crate) fn rendezvous(payload: &str) -> Result<(String, Release), OpenError> {
    let mut parts = payload.splitn(5, ';');
    let (Some(FORMAT), Some(fd), Some(dev), Some(ino), Some(path)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(OpenError::malformed(format!(
            "expected `{FORMAT};fd;dev;ino;path` for a queue hand-off"
        )));
    };
    let num = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| OpenError::malformed(format!("`{s}` is not a number")))
    };
    let fd = i32::try_from(num(fd)?).map_err(|_| OpenError::malformed("the descriptor is out of range"))?;
    Ok((
        path.to_owned(),
        Release(ChildEnd {
            fd,
            dev: num(dev)?,
            ino: num(ino)?,
        }),
    ))
}

/// The pipe a child lets go of once it opened the hand-off.
#[derive(Debug)]
pub(crate) struct Release(ChildEnd);

impl Release {
    pub(crate) fn release(self) {
        self.0.release();
    }
}

/// Why connecting to the server at `path` failed, as an open error.
pub(crate) fn connect_error(path: &str, e: io::Error) -> OpenError {
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => OpenError::refused(
            format!("hand-off `{path}`"),
            format!("this user may not reach it ({e})"),
        ),
        Some(libc::ENOENT | libc::ECONNREFUSED) => OpenError::Gone {
            what: format!(
                "hand-off `{path}` (it was used by another process, withdrawn, or its parent exited)"
            ),
        },
        _ => OpenError::io(format!("hand-off `{path}`"), e),
    }
}

/// The pids the command's children reported.
#[derive(Default)]
struct Pids {
    bytes: Vec<u8>,
    /// The first child's: the one the hand-off is for.
    first: Option<u32>,
    /// Children of the same command spawned after it, not turned away yet.
    later: Vec<u32>,
    /// Every child that holds the pipe is gone.
    all_gone: bool,
}

/// A connection not heard yet.
struct Conn {
    fd: OwnedFd,
    pid: u32,
    until: Instant,
}

struct Server {
    /// How long the child has to open the hand-off.
    timeout: Duration,
    listener: Listener,
    watch: Watch,
    deliver: Option<Deliver>,
    pids: Pids,
    conns: Vec<Conn>,
}

impl Server {
    fn run(mut self) {
        let deadline = Instant::now() + self.timeout;
        loop {
            let joined = self.deliver.is_none();
            if joined && self.pids.later.is_empty() {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let until = self.conns.iter().map(|c| c.until).fold(deadline, Instant::min);
            let mut polls = vec![fd::readable(self.listener.raw())];
            if !self.pids.all_gone {
                polls.push(fd::readable(self.watch.read.as_raw_fd()));
            }
            polls.extend(self.conns.iter().map(|c| fd::readable(c.fd.as_raw_fd())));
            if fd::poll(&mut polls, Some(until.saturating_duration_since(now))).is_err() {
                return;
            }
            // The pids first: a child's connection comes after its pid.
            if !self.pids.all_gone {
                self.read_pids();
            }
            self.accept();
            self.hear();
            if self.pids.all_gone && self.conns.is_empty() {
                // Nobody who could still open it is alive.
                self.accept();
                self.hear();
                if self.conns.is_empty() {
                    return;
                }
            }
        }
    }

    fn read_pids(&mut self) {
        let mut buf = [0; 64];
        loop {
            match fd::read(self.watch.read.as_raw_fd(), &mut buf) {
                Ok(Some(0)) | Err(_) => {
                    self.pids.all_gone = true;
                    break;
                }
                Ok(Some(n)) => self.pids.bytes.extend_from_slice(&buf[..n]),
                Ok(None) => break,
            }
        }
        while self.pids.bytes.len() >= 4 {
            let pid: Vec<u8> = self.pids.bytes.drain(..4).collect();
            let pid = u32::from_ne_bytes([pid[0], pid[1], pid[2], pid[3]]);
            if self.pids.first.is_none() {
                self.pids.first = Some(pid);
                self.watch.started();
            } else {
                self.pids.later.push(pid);
            }
        }
    }

    fn accept(&mut self) {
        for _ in 0..MAX_CONNS {
            let Ok(Some(conn)) = self.listener.accept() else {
                return;
            };
            let Ok((pid, uid)) = fd::peer(conn.as_raw_fd()) else {
                continue;
            };
            if uid != fd::euid() {
                // Another user: not a word.
                continue;
            }
            if self.conns.len() == MAX_CONNS {
                self.conns.remove(0);
            }
            self.conns.push(Conn {
                fd: conn,
                pid,
                until: Instant::now() + JOIN_WAIT,
            });
        }
    }

    /// Reads the connections that said something, and drops those that
    /// said nothing in time.
    fn hear(&mut self) {
        let now = Instant::now();
        let mut buf = vec![0; 4096];
        let conns = std::mem::take(&mut self.conns);
        for conn in conns {
            match fd::recv(conn.fd.as_raw_fd(), &mut buf) {
                Ok(None) if conn.until > now => self.conns.push(conn),
                Ok(Some(got)) if got.len > 0 && !got.truncated => {
                    let bytes = &buf[..got.len];
                    if let Some((up, down)) = channels_from(bytes, got.fds) {
                        self.decide(conn.pid, up, down);
                    }
                }
                _ => {}
            }
        }
    }

    /// Welcomes the child the hand-off is for; tells anyone else why not.
    fn decide(&mut self, pid: u32, up: OwnedFd, down: OwnedFd) {
        if let Some(i) = self.pids.later.iter().position(|&p| p == pid) {
            self.pids.later.remove(i);
            return refuse(
                &down,
                true,
                format!("a child of the same command spawned before it (pid {pid} came later)"),
            );
        }
        match (self.pids.first, self.deliver.take()) {
            (Some(first), Some(deliver)) if first == pid => {
                let _ = deliver(Joined {
                    up,
                    down: DownSender::new(down),
                });
            }
            (_, Some(deliver)) => {
                self.deliver = Some(deliver);
                let expected = self
                    .pids
                    .first
                    .map_or("no child yet".to_owned(), |p| format!("pid {p}"));
                refuse(
                    &down,
                    false,
                    format!("it was made for the child its command spawned ({expected}), not pid {pid}"),
                );
            }
            (_, None) => refuse(&down, true, "another process opened it first".to_owned()),
        }
    }
}

/// The two channels of a child's join, checked: (up, down).
fn channels_from(datagram: &[u8], fds: Vec<OwnedFd>) -> Option<(OwnedFd, OwnedFd)> {
    if fds.len() != 2 || fds.iter().any(|f| !fd::is_channel(f.as_raw_fd())) {
        return None;
    }
    let first = decode::first(datagram, fds.len(), datagram.len()).ok()?;
    if first.fragmented {
        return None;
    }
    let Boot::Join(join) = decode::boot(&datagram[decode::HEADER..], 2).ok()? else {
        return None;
    };
    let mut fds: Vec<Option<OwnedFd>> = fds.into_iter().map(Some).collect();
    let up = fds[join.up].take()?;
    let down = fds[join.down].take()?;
    Some((up, down))
}

/// Tells a process that opened the hand-off why it may not: one datagram
/// on its `down` channel, as ipc-channel writes it, sent without waiting
/// (a process that filled its own channel is told nothing).
fn refuse(down: &OwnedFd, already_used: bool, reason: String) {
    let Ok(payload) = postcard::to_stdvec(&Down::<NoSegment>::Refused { already_used, reason }) else {
        return;
    };
    let _ = fd::send_now(down.as_raw_fd(), &decode::datagram(&payload));
}
