//! The operating-system side of named connections: listening on an
//! address, accepting, connecting, and the peer's credentials.
//!
//! Every platform provides:
//! - `Acceptor::bind(address) -> Result<Acceptor, BindError>`: a listening
//!   socket, its socket file (if any) owner-only whatever the umask and
//!   removed when the acceptor drops; a stale file left by a crash (a
//!   socket of this user on which nothing listens) is reclaimed;
//! - `Acceptor::accept(&self, wait) -> io::Result<Option<Conn>>`: the next
//!   connection, `None` when `wait` ran out;
//! - `connect(address, wait) -> io::Result<Conn>`;
//! - `Conn { stream, peer }`: `stream.into_stream()` gives a
//!   `StreamSocket` with the `send` / `recv` of the pipe's own `Socket`
//!   (on Unix it is that `Socket`, so the native framing makes a full pipe
//!   end of it);
//! - `PeerCreds`: the peer's user and process, where the system says;
//! - `supports(address, framing)`: whether this system carries that framing
//!   to that kind of address (what it lacks, if not).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::{Acceptor, Stream, StreamSocket, connect, euid, supports};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::{Acceptor, Stream, StreamSocket, connect, euid, supports};

#[cfg(not(any(unix, windows)))]
mod unsupported;
#[cfg(not(any(unix, windows)))]
pub(crate) use unsupported::{Acceptor, Stream, StreamSocket, connect, euid, supports};

use crate::named::PeerCreds;

/// A new connection and who is at the other end.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    pub(crate) peer: PeerCreds,
}
