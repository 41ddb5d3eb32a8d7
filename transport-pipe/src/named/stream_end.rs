//! [`StreamEnd`]: an end that frames messages on a stream socket in a
//! given [`Framing`]. A send writes its message from the sending thread
//! when nothing waits and the socket has room; where the system's stream
//! is a byte stream (`sys::WRITE_BEHIND`: Unix), a send that finds
//! the socket full leaves its message in the end's [`Backlog`] instead,
//! and a flusher thread writes what gathers there in larger writes, which
//! a Python peer reads faster (`backlog.rs` has the figures). Dropping the
//! end waits up to [`DEFAULT_LINGER`](crate::DEFAULT_LINGER) for the peer to take
//! the backlog.
//!
//! A message goes on the stream whole or not at all: a send that has
//! started writing its message finishes it (or leaves the rest to the
//! flusher, which writes it before anything sent later), whatever its
//! deadline; a send that could neither write nor leave anything by its
//! deadline (the backlog full) is `NotReady`. While a send or the flusher
//! waits for room it reads what the peer sent, so two ends writing at once
//! do not wait for each other (as the pipe's own ends do); the receive side
//! then holds at most [`DRAIN_LIMIT`](crate::drain::DRAIN_LIMIT) bytes more
//! than this end wrote since it was last empty, however many sends wait, so
//! a peer that sends and never reads cannot make the end hold more than
//! that.
//!
//! With the `tokio` feature the end also has async readiness: receiving is
//! ready when the deframer holds a whole message (or a refusal), the stream
//! ended, or a read failed, reading the socket without blocking whenever
//! the reactor says it may be readable. Sending is ready, with a backlog,
//! when the backlog has room; without one, when the socket has room (or
//! the peer is gone; on a Windows message-mode pipe, whose send hands the
//! kernel its whole message at once, when the write before has ended). A
//! send from a task is one non-blocking try: it sends nothing (`NotReady`,
//! and the task waits for readiness) or its whole message. Without a
//! backlog, a send that found only part of the room it needs finishes its
//! message before it returns, holding its thread until the peer reads the
//! rest, as Python's own `send_bytes` does (on tokio's multi-thread runtime
//! the worker first hands its other tasks to another thread); with one,
//! only a message of 64 KiB or more that nothing waits before does so.

use std::{
    io::{self, IoSlice},
    ops::Deref,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
};
use transport_core::sync::LockExt;

use transport_core::backend::{Fill, FrameWriter, RawRecvError, RawSendError, Wait};

use super::backlog::{Admit, Backlog, WRITE_SLICE};
use crate::{
    DEFAULT_LINGER, FLUSH_SLICE, PipeFrame,
    drain::DrainAllowance,
    python::frame::{Deframer, Framing, Next},
    sys::{StreamSocket, WRITE_BEHIND},
};

/// From this size on, a message is written from the sending thread once
/// nothing waits before it, without a copy into the backlog.
const DIRECT: usize = 64 << 10;

/// The receive side: the deframer, whether the stream ended, and a read
/// error not yet reported.
#[derive(Debug)]
struct Rx {
    deframer: Deframer,
    eof: bool,
    /// A read error met while looking for readiness, for the next receive.
    error: Option<io::Error>,
    /// The drain's allowance, counted from what the end had written when
    /// the deframer last held nothing.
    allowance: DrainAllowance,
    /// The task waiting to receive, woken when a send's drain reads
    /// something (the reactor wakes it for the socket's own readability).
    #[cfg(feature = "tokio")]
    waker: Option<std::task::Waker>,
}

/// An end over a stream socket in a given framing.
#[derive(Debug)]
pub(crate) struct StreamEnd {
    inner: Arc<Inner>,
    /// The flusher thread, once started; joined by the drop.
    flusher: Mutex<Option<JoinHandle<()>>>,
}

/// The end's state, shared with its flusher thread.
#[derive(Debug)]
pub(crate) struct Inner {
    sock: StreamSocket,
    framing: Framing,
    rx: Mutex<Rx>,
    /// Held for a whole send; the buffer a message is serialized into.
    tx: Mutex<Vec<u8>>,
    /// Every byte this end has written to the socket.
    written: AtomicU64,
    limit: usize,
    /// What sends left to the flusher, where the system has one.
    backlog: Option<Backlog>,
}

impl Deref for StreamEnd {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl Drop for StreamEnd {
    /// Waits up to the linger for the peer to take the backlog, then for
    /// the flusher to exit (at once when all is written, else within a
    /// [`FLUSH_SLICE`]), so the socket closes when the drop returns.
    fn drop(&mut self) {
        if let Some(backlog) = &self.inner.backlog {
            backlog.close(DEFAULT_LINGER);
        }
        if let Some(flusher) = self
            .flusher
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            let _ = flusher.join();
        }
    }
}

impl StreamEnd {
    pub(crate) fn new(sock: StreamSocket, framing: Framing, limit: usize) -> Self {
        #[cfg(feature = "tokio")]
        let sock = {
            let mut sock = sock;
            sock.watch_writes();
            sock
        };
        let inner = Inner {
            sock,
            framing,
            rx: Mutex::new(Rx {
                deframer: Deframer::new(framing),
                eof: false,
                error: None,
                allowance: DrainAllowance::default(),
                #[cfg(feature = "tokio")]
                waker: None,
            }),
            tx: Mutex::new(Vec::new()),
            written: AtomicU64::new(0),
            limit,
            backlog: WRITE_BEHIND.then(Backlog::default),
        };
        StreamEnd {
            inner: Arc::new(inner),
            flusher: Mutex::new(None),
        }
    }

    pub(crate) fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        let mut buf = self.tx.lock_unpoisoned();
        // Bytes wait in the backlog: the message is serialized straight
        // behind them, with room for the header of a message that short.
        if let Some(backlog) = &self.backlog {
            let room = self.framing.header(0, &mut [0; 16]);
            let admitted = backlog.admit(wait, |pending| self.frame_into(pending, room, fill).map(drop))?;
            if let Admit::Queued { start } = admitted {
                if start {
                    self.start_flusher(backlog);
                }
                return Ok(());
            }
        }
        buf.clear();
        let at = self.frame_into(&mut buf, 16, fill)?;
        let result = self.send_message(&mut [IoSlice::new(&buf[at..])], wait);
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        result
    }

    /// Appends `fill`'s message to `out`, framed, with `room` bytes kept in
    /// front of it for the header; where the frame starts. A header longer
    /// than `room` (Python's, past 2 GiB, when `room` is kept for a short
    /// one) is put in front of the message, moving it.
    fn frame_into(&self, out: &mut Vec<u8>, room: usize, fill: &mut Fill<'_>) -> Result<usize, RawSendError> {
        let base = out.len();
        out.resize(base + room, 0);
        let mut writer = FrameWriter::bytes(out, self.limit);
        if let Err(e) = fill(&mut writer) {
            writer.abort();
            return Err(RawSendError::Serialize(e));
        }
        let len = writer.finish()?;
        let mut header = [0u8; 16];
        let n = self.framing.header(len, &mut header);
        let at = base + room;
        if n <= room {
            out[at - n..at].copy_from_slice(&header[..n]);
            Ok(at - n)
        } else {
            out.splice(base..at, header[..n].iter().copied());
            Ok(base)
        }
    }

    pub(crate) fn send_bytes(&self, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        if bytes.len() > self.limit {
            return Err(RawSendError::TooLarge {
                len: bytes.len(),
                limit: self.limit,
            });
        }
        let _turn = self.tx.lock_unpoisoned();
        let mut header = [0u8; 16];
        let n = self.framing.header(bytes.len(), &mut header);
        self.send_message(&mut [IoSlice::new(&header[..n]), IoSlice::new(bytes)], wait)
    }

    /// Sends one framed message (`parts`), with the send turn held: into
    /// the backlog behind what waits there, else written from here, its
    /// rest (if the socket took only part) left to the flusher.
    fn send_message(&self, parts: &mut [IoSlice<'_>], wait: Wait) -> Result<(), RawSendError> {
        let Some(backlog) = &self.inner.backlog else {
            return self.write(parts, wait);
        };
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let queue = |pending: &mut Vec<u8>| {
            for part in parts.iter() {
                pending.extend_from_slice(part);
            }
            Ok(())
        };
        let start = match backlog.admit(wait, queue)? {
            Admit::Queued { start } => start,
            // Nothing waits before it: a large message is written from
            // here as it always was; a small one is tried once.
            Admit::Idle if total >= DIRECT => match self.write(parts, wait) {
                // Nothing went out and the caller cannot wait (an async
                // send, whose readiness is the backlog's room, which an
                // idle backlog has): the backlog takes it, so a task is
                // never told `NotReady` while its readiness says ready.
                Err(RawSendError::NotReady) if wait == Wait::Never => backlog.queue_rest(parts, 0),
                done => return done,
            },
            Admit::Idle => match self.sock.send(parts, Wait::Never, &mut || false) {
                Ok(n) => {
                    self.written.fetch_add(n as u64, Ordering::Relaxed);
                    if n == total {
                        return Ok(());
                    }
                    backlog.queue_rest(parts, n)
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => backlog.queue_rest(parts, 0),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Err(RawSendError::Disconnected),
                Err(e) => return Err(RawSendError::Io(e)),
            },
        };
        if start {
            self.start_flusher(backlog);
        }
        Ok(())
    }

    /// Starts the flusher thread; if the system will not start one, writes
    /// what waits from this thread instead.
    fn start_flusher(&self, backlog: &Backlog) {
        let inner = Arc::clone(&self.inner);
        let started = std::thread::Builder::new()
            .name("transport-pipe-named-flush".into())
            .spawn(move || inner.flush());
        match started {
            Ok(handle) => {
                let mut slot = self.flusher.lock_unpoisoned();
                // A flusher that exited (its backlog failed) is replaced
                // only after it is joined.
                if let Some(old) = slot.replace(handle) {
                    let _ = old.join();
                }
            }
            Err(_) => {
                backlog.flusher_failed();
                while let Some(batch) = backlog.take_now() {
                    let result = self.write_batch(&batch, backlog);
                    backlog.written(batch, result.err().as_ref());
                }
            }
        }
    }
}

impl Inner {
    pub(crate) fn framing(&self) -> Framing {
        self.framing
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    #[allow(
        dead_code,
        reason = "used by the native handle traits where the system has them"
    )]
    pub(crate) fn socket(&self) -> &StreamSocket {
        &self.sock
    }

    fn lock_rx(&self) -> MutexGuard<'_, Rx> {
        self.rx.lock_unpoisoned()
    }

    /// Reads at most `room` bytes into the deframer, without waiting.
    fn read_at_most(&self, rx: &mut Rx, room: usize) -> io::Result<usize> {
        // SAFETY: `recv` initializes the bytes it reports, of the part of
        // the buffer it is given.
        let n = unsafe {
            rx.deframer.fill(|spare| {
                let end = spare.len().min(room);
                self.sock.recv(&mut spare[..end], Wait::Never)
            })
        }?;
        if n == 0 {
            rx.eof = true;
        }
        Ok(n)
    }

    /// Reads once into the deframer, waiting as `wait` allows.
    fn read(&self, rx: &mut Rx, wait: Wait) -> io::Result<usize> {
        // SAFETY: `recv` initializes the bytes it reports.
        let n = unsafe { rx.deframer.fill(|spare| self.sock.recv(spare, wait)) }?;
        if n == 0 {
            rx.eof = true;
        }
        Ok(n)
    }

    /// Receives the next message if it is at most `max` bytes long.
    pub(crate) fn recv_max(&self, wait: Wait, max: usize) -> Result<PipeFrame, RawRecvError> {
        let mut rx = self.lock_rx();
        loop {
            match rx.deframer.next(max) {
                Next::Frame(frame) => return Ok(frame),
                Next::TooLarge { len } => {
                    return Err(RawRecvError::TooLarge {
                        len: usize::try_from(len).unwrap_or(usize::MAX),
                        limit: max,
                    });
                }
                Next::Malformed(m) => return Err(RawRecvError::Malformed(m)),
                // The end of the stream: a message cut short is dropped.
                Next::Need if rx.eof => return Err(RawRecvError::Disconnected),
                Next::Need => {}
            }
            if let Some(e) = rx.error.take() {
                return Err(RawRecvError::Io(e));
            }
            match self.read(&mut rx, wait) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(RawRecvError::NotReady),
                Err(e) => return Err(RawRecvError::Io(e)),
            }
        }
    }

    /// Whether a receive would return at once, waiting as `wait` allows.
    pub(crate) fn poll(&self, wait: Wait) -> io::Result<bool> {
        let mut rx = self.lock_rx();
        loop {
            if rx.eof || rx.error.is_some() || rx.deframer.complete(self.limit) {
                return Ok(true);
            }
            match self.read(&mut rx, wait) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves what the peer sent into the deframer while a send waits for
    /// room; whether to keep watching (not if a receiver is reading, or
    /// the deframer holds all it may).
    ///
    /// Within the end's [`DrainAllowance`], as the pipe's own ends: at most
    /// [`DRAIN_LIMIT`](crate::drain::DRAIN_LIMIT) bytes more than this end
    /// wrote since the deframer last held nothing, across every send that
    /// waits.
    fn drain(&self) -> bool {
        let Some(mut rx) = self.rx.try_lock_unpoisoned() else {
            return false;
        };
        let mut keep = true;
        let mut progress = false;
        loop {
            let held = rx.deframer.held();
            let room = rx.allowance.room(self.written.load(Ordering::Relaxed), held);
            if room == 0 {
                keep = false;
                break;
            }
            match self.read_at_most(&mut rx, room) {
                Ok(0) => {
                    progress = true;
                    keep = false;
                    break;
                }
                Ok(_) => progress = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    rx.error = Some(e);
                    progress = true;
                    keep = false;
                    break;
                }
            }
        }
        // A task waiting to receive may have a message now, which the
        // socket's readability will no longer announce.
        #[cfg(feature = "tokio")]
        if progress {
            if let Some(waker) = rx.waker.take() {
                waker.wake();
            }
        }
        #[cfg(not(feature = "tokio"))]
        let _ = progress;
        keep
    }

    /// Writes all of `parts`; `NotReady` only if nothing went out by the
    /// deadline.
    fn write(&self, parts: &mut [IoSlice<'_>], wait: Wait) -> Result<(), RawSendError> {
        let mut rest = parts;
        let send = |rest: &mut &mut [IoSlice<'_>], wait: Wait| match self
            .sock
            .send(rest, wait, &mut || self.drain())
        {
            Ok(n) => {
                self.written.fetch_add(n as u64, Ordering::Relaxed);
                IoSlice::advance_slices(rest, n);
                Ok(n > 0)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(RawSendError::NotReady),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(RawSendError::Disconnected),
            Err(e) => Err(RawSendError::Io(e)),
        };
        // Within the deadline until the first byte goes out.
        while !rest.is_empty() {
            if send(&mut rest, wait)? {
                break;
            }
        }
        if rest.is_empty() {
            return Ok(());
        }
        // Started: the rest goes out whatever the deadline (reading what
        // the peer sends meanwhile), off tokio's worker if on one.
        crate::off_worker::blocking(|| {
            while !rest.is_empty() {
                send(&mut rest, Wait::Forever)?;
            }
            Ok(())
        })
    }

    /// The flusher thread: writes what sends leave in the backlog until
    /// the end closes and all is written, or a write fails, or the end's
    /// drop gives up on the rest.
    fn flush(self: Arc<Self>) {
        let Some(backlog) = &self.backlog else {
            return;
        };
        while let Some(batch) = backlog.next_batch() {
            let result = self.write_batch(&batch, backlog);
            backlog.written(batch, result.err().as_ref());
        }
    }

    /// Writes `batch` in writes of at most [`WRITE_SLICE`], reading what
    /// the peer sends while it waits for room (as a waiting send does);
    /// stops early, without error, once the end's drop gave up on it.
    fn write_batch(&self, batch: &[u8], backlog: &Backlog) -> io::Result<()> {
        let mut at = 0;
        while at < batch.len() {
            let end = batch.len().min(at + WRITE_SLICE);
            let slice = [IoSlice::new(&batch[at..end])];
            match self
                .sock
                .send(&slice, Wait::timeout(FLUSH_SLICE), &mut || self.drain())
            {
                Ok(n) => {
                    self.written.fetch_add(n as u64, Ordering::Relaxed);
                    at += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if backlog.abandoned() {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Async readiness (feature `tokio`); see the module's docs.
#[cfg(feature = "tokio")]
impl Inner {
    /// Ready when a receive of at most `max` bytes would return at once: a
    /// whole message (or one longer than `max`, refused), the end of the
    /// stream, or an error. Otherwise reads the socket without blocking
    /// whenever the reactor says it may be readable, and wakes `cx` when it
    /// may have become readable again, or when a send's drain read
    /// something (registered with the receive side locked, after it was
    /// found wanting, so nothing slips in between).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut std::task::Context<'_>,
        max: usize,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let mut guard = self.lock_rx();
        let rx = &mut *guard;
        // Polled now: a waker left from an earlier wait is stale.
        rx.waker = None;
        if rx.eof || rx.error.is_some() || rx.deframer.complete(max) {
            return Poll::Ready(Ok(()));
        }
        let mut attempt = || loop {
            match self.read(rx, Wait::Never) {
                Ok(0) => return true,
                Ok(_) if rx.deframer.complete(max) => return true,
                // Part of a message: read on until the socket is empty.
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) => {
                    rx.error = Some(e);
                    return true;
                }
            }
        };
        match self.sock.poll_read(cx, &mut attempt) {
            Poll::Pending => {
                guard.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            ready => ready,
        }
    }

    /// Ready when a send would not wait: where the end keeps a backlog,
    /// when that has room (a send that finds the socket full leaves its
    /// message there), else when the socket has room for a send to start;
    /// or when the peer is gone (the send reports it).
    pub(crate) fn poll_send_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        match &self.backlog {
            Some(backlog) => backlog.poll_room(cx).map(Ok),
            None => self.sock.poll_write(cx),
        }
    }
}
