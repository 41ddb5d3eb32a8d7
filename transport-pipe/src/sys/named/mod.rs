//! The operating-system side of named connections: listening on an
//! address, accepting, connecting, and the peer's credentials.
//!
//! Every platform provides:
//! - `Acceptor::bind(address, framing) -> Result<(Acceptor, Address), BindError>`: a listening
//!   socket, its socket file (if any) owner-only whatever the umask and
//!   removed when the acceptor drops; a stale file left by a crash (a
//!   socket of this user on which nothing listens) is reclaimed;
//! - `Acceptor::accept(&self, wait) -> io::Result<Option<Conn>>`: the next
//!   connection, `None` when `wait` ran out;
//! - `connect(address, framing, wait) -> io::Result<Conn>` (the framing
//!   picks the kind of named pipe on Windows);
//! - `Conn { stream, peer }`: `stream.into_stream()` gives a
//!   `StreamSocket` with the `send` / `recv` of the pipe's own `Socket`,
//!   and `into_pipe()`, that `Socket` itself where the stream is one (on
//!   Unix every stream; on Windows a byte pipe), for a full pipe end in
//!   the native framing (else the native framing goes on a stream end);
//! - `PeerCreds`: the peer's user and process, where the system says;
//! - `WRITE_BEHIND`: whether an end in Python's framing keeps a backlog
//!   of what it sends while the stream is full (`named/backlog.rs`);
//! - `supports(address, framing)`: whether this system carries that framing
//!   to that kind of address (what it lacks, if not).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::{Acceptor, Stream, StreamSocket, WRITE_BEHIND, connect, euid, supports};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(super) mod windows_message;
#[cfg(windows)]
mod windows_message_socket;
#[cfg(windows)]
mod windows_read_ahead;
#[cfg(windows)]
mod windows_tcp;
#[cfg(all(windows, feature = "tokio"))]
mod windows_tcp_watch;
#[cfg(windows)]
pub(crate) use windows::{Acceptor, Stream, StreamSocket, WRITE_BEHIND, connect, euid, supports};

#[cfg(not(any(unix, windows)))]
mod unsupported;
#[cfg(not(any(unix, windows)))]
pub(crate) use unsupported::{Acceptor, Stream, StreamSocket, WRITE_BEHIND, connect, euid, supports};

use crate::named::PeerCreds;

/// A new connection and who is at the other end.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    pub(crate) peer: PeerCreds,
}
