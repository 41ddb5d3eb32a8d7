//! ipc-channel's framing on this crate's own sockets (Linux): a message is
//! one datagram, or a first datagram that carries the receiving end of a
//! dedicated socket on which the rest follows ([`crate::wire::decode`]
//! describes the header). [`send`] writes a message; [`Inbound`] reads
//! them from one socket without ever waiting, checking each datagram's
//! framing and sizes before it keeps a byte, and puts a message in
//! fragments together as its pieces arrive.
//!
//! Both sides use it: the hub to read members' requests (which it does
//! not trust) and to write to them, members to write requests and read
//! the hub's messages.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::fd;
use crate::wire::{Violation, decode};

/// Datagrams read from one socket in one round, at most (other sockets
/// get their turn).
const ROUND: usize = 32;

/// What ipc-channel keeps of a socket's send buffer for the descriptors a
/// datagram carries (`CMSG_SPACE` of 64 descriptors, rounded up).
const RESERVED: usize = 1024;

/// The most payload bytes a datagram carries: one socket send buffer, less
/// room for descriptors and the header, 8-aligned (as ipc-channel cuts).
fn fragment_size() -> usize {
    (fd::sendbuf().saturating_sub(RESERVED) - decode::HEADER) & !7
}

/// Sends `payload` as one message with `fds`, in fragments past one
/// datagram, waiting for room.
pub(crate) fn send(socket: RawFd, payload: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let part = fragment_size();
    if payload.len() <= part {
        let head = header(decode::HEADER + payload.len(), payload.len());
        return fd::send(socket, &[&head, payload], fds);
    }
    // The rest goes on a socket of its own, whose receiving end the first
    // fragment carries last: fragments of two messages never mix.
    let (rest_tx, rest_rx) = fd::socketpair()?;
    let mut all: Vec<RawFd> = fds.to_vec();
    all.push(rest_rx.as_raw_fd());
    let (first, mut rest) = payload.split_at(part);
    let head = header(decode::HEADER + first.len(), payload.len());
    fd::send(socket, &[&head, first], &all)?;
    drop(rest_rx);
    while !rest.is_empty() {
        let (now, later) = rest.split_at(rest.len().min(part));
        fd::send(rest_tx.as_raw_fd(), &[now], &[])?;
        rest = later;
    }
    Ok(())
}

/// A first fragment's header: its own size, and the message's.
fn header(fragment: usize, total: usize) -> [u8; decode::HEADER] {
    let mut head = [0; decode::HEADER];
    let w = size_of::<usize>();
    head[..w].copy_from_slice(&fragment.to_ne_bytes());
    head[w..].copy_from_slice(&total.to_ne_bytes());
    head
}

/// A message whose first datagram came, and whose rest is on its way.
struct Partial {
    dedicated: OwnedFd,
    payload: Vec<u8>,
    total: usize,
    fds: Vec<OwnedFd>,
}

/// One socket being read, and the message in fragments it is in the
/// middle of, if any.
pub(crate) struct Inbound {
    socket: OwnedFd,
    partial: Option<Partial>,
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("socket", &self.socket)
            .field("partial", &self.partial.is_some())
            .finish()
    }
}

/// A receive buffer as large as a datagram can be.
pub(crate) fn buffer() -> Vec<u8> {
    vec![0; fd::sendbuf()]
}

impl Inbound {
    pub(crate) fn new(socket: OwnedFd) -> Self {
        Inbound {
            socket,
            partial: None,
        }
    }

    /// The descriptor to wait on: the dedicated socket while a message is
    /// in fragments (nothing else is read meanwhile), the socket otherwise.
    pub(crate) fn poll_fd(&self) -> RawFd {
        self.partial
            .as_ref()
            .map_or(self.socket.as_raw_fd(), |p| p.dedicated.as_raw_fd())
    }

    /// Reads what came, up to [`ROUND`] datagrams, without waiting; each
    /// whole message (payload and descriptors, the dedicated socket not
    /// counted) goes to `message`. `buf` is a [`buffer`]; a message's
    /// total must be at most `max_total`. False once the peer closed the
    /// socket; a violation for bytes ipc-channel's framing does not allow
    /// (or that `message` refuses).
    pub(crate) fn pump(
        &mut self,
        buf: &mut [u8],
        max_total: usize,
        message: impl FnMut(&[u8], Vec<OwnedFd>) -> Result<(), Violation>,
    ) -> Result<bool, Violation> {
        self.pump_up_to(ROUND, buf, max_total, message)
    }

    /// As [`pump`](Self::pump), reading at most `datagrams` datagrams.
    pub(crate) fn pump_up_to(
        &mut self,
        datagrams: usize,
        buf: &mut [u8],
        max_total: usize,
        message: impl FnMut(&[u8], Vec<OwnedFd>) -> Result<(), Violation>,
    ) -> Result<bool, Violation> {
        self.read(datagrams, false, buf, max_total, message)
    }

    /// Reads one datagram, waiting for it if no message is in fragments
    /// (for a trusted peer only: a fragment that never comes is waited
    /// for no longer than another datagram, but the caller cannot do
    /// anything else meanwhile).
    pub(crate) fn pump_waiting(
        &mut self,
        buf: &mut [u8],
        max_total: usize,
        message: impl FnMut(&[u8], Vec<OwnedFd>) -> Result<(), Violation>,
    ) -> Result<bool, Violation> {
        let wait = self.partial.is_none();
        self.read(1, wait, buf, max_total, message)
    }

    fn read(
        &mut self,
        datagrams: usize,
        wait: bool,
        buf: &mut [u8],
        max_total: usize,
        mut message: impl FnMut(&[u8], Vec<OwnedFd>) -> Result<(), Violation>,
    ) -> Result<bool, Violation> {
        for _ in 0..datagrams {
            if self.partial.is_some() {
                match self.continue_partial(buf.len(), &mut message)? {
                    Some(()) => continue,
                    None => return Ok(true),
                }
            }
            let got = match fd::recv_as(self.socket.as_raw_fd(), buf, wait) {
                Ok(Some(got)) => got,
                Ok(None) => return Ok(true),
                Err(e) => return Err(Violation::new(format!("its socket failed: {e}"))),
            };
            if got.len == 0 && got.fds.is_empty() {
                return Ok(false);
            }
            if got.truncated {
                return Err(Violation::new(
                    "a datagram, or descriptors, past what ipc-channel sends",
                ));
            }
            let datagram = &buf[..got.len];
            let first = decode::first(datagram, got.fds.len(), max_total)?;
            let part = &datagram[decode::HEADER..];
            let mut fds = got.fds;
            if first.fragmented {
                let Some(dedicated) = fds.pop() else {
                    unreachable!("checked by `first`")
                };
                let mut payload = Vec::with_capacity(part.len().max(first.total.min(buf.len())));
                payload.extend_from_slice(part);
                self.partial = Some(Partial {
                    dedicated,
                    payload,
                    total: first.total,
                    fds,
                });
            } else {
                message(part, fds)?;
            }
        }
        Ok(true)
    }

    /// Reads the next fragment of the message in progress: `None` when none
    /// is there yet.
    fn continue_partial(
        &mut self,
        step: usize,
        message: &mut impl FnMut(&[u8], Vec<OwnedFd>) -> Result<(), Violation>,
    ) -> Result<Option<()>, Violation> {
        let Some(p) = &mut self.partial else {
            return Ok(None);
        };
        let left = p.total - p.payload.len();
        let at = p.payload.len();
        p.payload.resize(at + left.min(step), 0);
        let got = match fd::recv(p.dedicated.as_raw_fd(), &mut p.payload[at..]) {
            Ok(Some(got)) => got,
            Ok(None) => {
                p.payload.truncate(at);
                return Ok(None);
            }
            Err(e) => return Err(Violation::new(format!("its fragment socket failed: {e}"))),
        };
        if got.len == 0 || got.truncated || !got.fds.is_empty() {
            return Err(Violation::new("a fragment that breaks ipc-channel's framing"));
        }
        p.payload.truncate(at + got.len);
        if p.payload.len() == p.total {
            let Some(p) = self.partial.take() else {
                unreachable!("matched above")
            };
            message(&p.payload, p.fds)?;
        }
        Ok(Some(()))
    }
}
