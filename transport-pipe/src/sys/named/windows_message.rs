//! Windows: Python's framing on a message-mode named pipe, the way
//! `multiprocessing.connection` uses one (`AF_PIPE`): each message is one
//! pipe message, with no length before it.
//!
//! [`MessagePipe`] shows the rest of the crate a byte stream in Python's
//! socket framing, so the handshake and the stream end work unchanged:
//! - a receive at a message's start takes its first part (at most
//!   [`FIRST`] bytes) from the pipe's one read of it
//!   ([`MessageIo::read_first`]: a read that a wait for readability left
//!   in flight, or a new one); if the message goes on
//!   (`ERROR_MORE_DATA`), the pipe says how much is left of it
//!   (`PeekNamedPipe`), and the reader is given the message's length as
//!   Python's 4-byte header, then its bytes, the rest read straight into
//!   the reader's buffer. So a length past `maxlength` is refused with at
//!   most `FIRST` bytes of it read, and the rest stays in the pipe;
//! - a send carries one whole message, header first (as every writer in
//!   this crate sends): the header is checked and dropped, and the bytes
//!   go out with one `WriteFile`, so they arrive as one message (an empty
//!   one included). It returns once the kernel has the message; a message
//!   longer than the pipe's buffer is still being read by the peer then,
//!   and the next send waits for it (reading what the peer sends
//!   meanwhile), as does the drop, for at most the pipe's linger
//!   ([`DEFAULT_LINGER`](crate::DEFAULT_LINGER)); a message still unread
//!   after that is cancelled;
//! - a peer that goes away ends the stream (`Ok(0)`), in the middle of a
//!   message too (the stream end then reports `Disconnected`);
//! - with the `tokio` feature, a task waiting to receive is woken when the
//!   read of the next message's first part ends (the socket's
//!   [`MessageIo::watch_first`]), and one waiting to send when the write
//!   before has ended ([`MessageIo::poll_write`]): a send starts only once
//!   the one before it is over, and otherwise never waits for the peer.

//!
//! A leaf module: the pipe ([`MessageIo`], the pipe's own socket) and
//! Python's lengths ([`Lengths`], from `python/frame.rs`) are given to it,
//! so it names nothing of this crate and closes no import circle.

use std::{
    io::{self, IoSlice},
    mem::MaybeUninit,
    sync::Mutex,
    time::Duration,
};

use transport_core::{backend::Wait, sync::LockExt};

/// How long the drop waits for the peer to read the last message: the
/// pipe's own linger ([`DEFAULT_LINGER`](crate::DEFAULT_LINGER)).
const LINGER: Duration = Duration::from_secs(10);

/// What one read of a message-mode pipe got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageRead {
    /// These bytes end a message.
    Whole(usize),
    /// These bytes are part of a message; more of it is in the pipe.
    Part(usize),
    /// The peer is gone.
    End,
}

/// A message-mode pipe handle (`windows_message_socket.rs`: the pipe's own
/// socket and its read ahead).
pub(crate) trait MessageIo {
    /// Reads the first part of the next message (at most [`FIRST`] bytes)
    /// and appends it to `out`: the read in flight if there is one (so at
    /// most one read is ever in flight, and messages keep their order),
    /// else a new one. `WouldBlock` if it did not end as `wait` allows; it
    /// stays in flight for the next call then.
    fn read_first(&self, out: &mut Vec<u8>, wait: Wait) -> io::Result<MessageRead>;
    /// Reads the rest of the current message if it fits in `buf`, else as
    /// much as fits; `WouldBlock` if nothing came as `wait` allows. Only
    /// after `read_first` returned `Part`, until the message is read whole.
    fn read_message(&self, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<MessageRead>;
    /// The bytes of the current message still in the pipe; `None` once the
    /// peer is gone.
    fn message_left(&self) -> io::Result<Option<u32>>;
    /// Writes `data` as one message; returns once the kernel has it.
    fn send_message(
        &self,
        data: Vec<u8>,
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<()>;
    /// Waits as `wait` allows for a write still running.
    fn settle(&self, wait: Wait) -> io::Result<()>;
    /// Makes the end of the read of a message's first part now in flight
    /// wake `cx`; whether one is in flight and still running (else there
    /// is nothing to wait for: read again).
    #[cfg(feature = "tokio")]
    fn watch_first(&self, cx: &mut std::task::Context<'_>) -> io::Result<bool>;
    /// Ready when no write is still running (a send would start its
    /// message at once), else wakes `cx` when it ends.
    #[cfg(feature = "tokio")]
    fn poll_write(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>>;
}

/// Python's socket framing of a message's length: its header for a
/// length (written into the 16 bytes given; how many it took), and the
/// header at the start of some bytes (its length and the message's), or
/// `None` if it is not a whole one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lengths {
    pub(crate) header: fn(usize, &mut [u8; 16]) -> usize,
    pub(crate) parse: fn(&[u8]) -> Option<(usize, u64)>,
}

/// How much of a message the first read takes (Python's is 128 bytes):
/// a message this long or shorter takes one read.
pub(crate) const FIRST: usize = 4 << 10;

/// What a receive hands out before it reads the pipe again.
#[derive(Debug, Default)]
struct Rx {
    /// A header, then the first part of its message: `ready[pos..]`.
    ready: Vec<u8>,
    pos: usize,
    /// Bytes of the current message still in the pipe.
    left: u64,
}

/// Room kept before a message's first part in [`Rx::ready`] for its
/// header (Python's is 4 bytes, or 12 past 2 GiB).
const HEADER_ROOM: usize = 16;

/// A message-mode pipe end seen as a stream in Python's socket framing.
#[derive(Debug)]
pub(crate) struct MessagePipe<S: MessageIo> {
    sock: S,
    lengths: Lengths,
    rx: Mutex<Rx>,
}

fn copy_out(from: &[u8], to: &mut [MaybeUninit<u8>]) -> usize {
    let n = from.len().min(to.len());
    for (d, s) in to[..n].iter_mut().zip(&from[..n]) {
        d.write(*s);
    }
    n
}

fn inconsistent() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the pipe's message ended other than its announced length",
    )
}

impl<S: MessageIo> Drop for MessagePipe<S> {
    fn drop(&mut self) {
        // A write the peer is still reading: give it the linger to finish
        // (the socket's drop cancels it after that).
        let _ = self.sock.settle(Wait::timeout(LINGER));
    }
}

impl<S: MessageIo> MessagePipe<S> {
    pub(crate) fn new(sock: S, lengths: Lengths) -> Self {
        MessagePipe {
            sock,
            lengths,
            rx: Mutex::new(Rx::default()),
        }
    }

    /// Reads at least one byte of the stream unless `wait` runs out
    /// (`WouldBlock`); `Ok(0)` at the end.
    pub(crate) fn recv(&self, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut rx = self.rx.lock_unpoisoned();
        if rx.pos < rx.ready.len() {
            let n = copy_out(&rx.ready[rx.pos..], buf);
            rx.pos += n;
            return Ok(n);
        }
        if rx.left > 0 {
            return self.recv_rest(&mut rx, buf, wait);
        }
        self.recv_start(&mut rx, buf, wait)
    }

    /// Reads more of the current message, straight into `buf`.
    fn recv_rest(&self, rx: &mut Rx, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<usize> {
        let want = buf.len().min(usize::try_from(rx.left).unwrap_or(usize::MAX));
        match self.sock.read_message(&mut buf[..want], wait)? {
            MessageRead::End => Ok(0),
            MessageRead::Whole(n) if n as u64 == rx.left => {
                rx.left = 0;
                Ok(n)
            }
            MessageRead::Part(n) if (n as u64) < rx.left && n > 0 => {
                rx.left -= n as u64;
                Ok(n)
            }
            _ => Err(inconsistent()),
        }
    }

    /// Reads a message's first part into `rx.ready`, after room for the
    /// header: its length and the bytes left of the message, `None` at
    /// the end of the stream.
    fn first_part(&self, rx: &mut Rx, wait: Wait) -> io::Result<Option<(usize, u64)>> {
        rx.ready.clear();
        rx.ready.resize(HEADER_ROOM, 0);
        let got = match self.sock.read_first(&mut rx.ready, wait)? {
            MessageRead::End => return Ok(None),
            MessageRead::Whole(n) => return Ok(Some((n, 0))),
            MessageRead::Part(n) => n,
        };
        match self.sock.message_left()? {
            None => Ok(None),
            Some(0) => Err(inconsistent()),
            Some(left) => Ok(Some((got, u64::from(left)))),
        }
    }

    /// At a message's start: hands out its header, then its first part.
    fn recv_start(&self, rx: &mut Rx, buf: &mut [MaybeUninit<u8>], wait: Wait) -> io::Result<usize> {
        let (got, left) = match self.first_part(rx, wait) {
            Ok(Some((got, left))) if rx.ready.len() == HEADER_ROOM + got => (got, left),
            other => {
                // Nothing to hand out: no header goes before these bytes.
                rx.ready.clear();
                rx.pos = 0;
                return other.and_then(|first| first.map_or(Ok(0), |_| Err(inconsistent())));
            }
        };
        let total = usize::try_from(got as u64 + left).map_err(|_| inconsistent())?;
        let mut header = [0u8; 16];
        let h = (self.lengths.header)(total, &mut header);
        let start = HEADER_ROOM - h;
        rx.ready[start..HEADER_ROOM].copy_from_slice(&header[..h]);
        rx.left = left;
        let n = copy_out(&rx.ready[start..], buf);
        rx.pos = start + n;
        Ok(n)
    }

    /// Sends the one whole message in `bufs` (Python's header, then its
    /// bytes) as one pipe message; all of it, or `WouldBlock` if an earlier
    /// write did not finish by the deadline.
    pub(crate) fn send(
        &self,
        bufs: &[IoSlice<'_>],
        wait: Wait,
        on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut head = [0u8; 12];
        let mut filled = 0;
        for b in bufs {
            let k = (head.len() - filled).min(b.len());
            head[filled..filled + k].copy_from_slice(&b[..k]);
            filled += k;
        }
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "not one whole message in Python's framing",
            )
        };
        let (h, len) = (self.lengths.parse)(&head[..filled]).ok_or_else(bad)?;
        if h as u64 + len != total as u64 {
            return Err(bad());
        }
        let mut body = Vec::with_capacity(total - h);
        let mut skip = h;
        for b in bufs {
            let k = skip.min(b.len());
            body.extend_from_slice(&b[k..]);
            skip -= k;
        }
        self.sock.send_message(body, wait, on_readable)?;
        Ok(total)
    }
}

/// Async readiness (feature `tokio`).
#[cfg(feature = "tokio")]
impl<S: MessageIo> MessagePipe<S> {
    /// As the pipe's `Socket::poll_read`: calls `attempt` (which receives
    /// without waiting, so at a message's start it takes the socket's read
    /// of the first part if that ended, or leaves one in flight) until it
    /// says the receive side is ready; otherwise makes the end of the read
    /// in flight wake `cx`. Without one in flight (the rest of a long
    /// message not there yet, which a writer in the middle of its one
    /// `WriteFile` makes rare and short) it polls again a few times, then
    /// asks to be polled again later.
    pub(crate) fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
        attempt: &mut dyn FnMut() -> bool,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        for _ in 0..4 {
            if attempt() {
                return Poll::Ready(Ok(()));
            }
            match self.sock.watch_first(cx) {
                Ok(true) => return Poll::Pending,
                // It ended meanwhile, or none is in flight: try again.
                Ok(false) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Ready once a send would start its message at once: no write before
    /// it is still running (see [`MessageIo::poll_write`]).
    pub(crate) fn poll_write(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        self.sock.poll_write(cx)
    }
}
