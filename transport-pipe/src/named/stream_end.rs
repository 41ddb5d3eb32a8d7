//! [`StreamEnd`]: an end that frames messages on a stream socket in a
//! given [`Framing`], with each send written by the sending thread (no
//! backlog, no flusher: Python's peer reads one message at a time anyway).
//!
//! A send that has started writing its message finishes it, whatever its
//! deadline, so the stream never carries half a message; a send that could
//! write nothing by its deadline is `NotReady`. While a send waits for room
//! it reads what the peer sent, so two ends writing at once do not wait for
//! each other (as the pipe's own ends do).

use std::{
    io::{self, IoSlice},
    sync::{Mutex, MutexGuard},
};
use transport_core::sync::LockExt;

use transport_core::backend::{Fill, FrameWriter, RawRecvError, RawSendError, Wait};

use crate::{
    PipeFrame,
    python::frame::{Deframer, Framing, Next},
    sys::StreamSocket,
};

/// The receive side: the deframer and whether the stream ended.
#[derive(Debug)]
struct Rx {
    deframer: Deframer,
    eof: bool,
}

/// An end over a stream socket in a given framing.
#[derive(Debug)]
pub(crate) struct StreamEnd {
    sock: StreamSocket,
    framing: Framing,
    rx: Mutex<Rx>,
    /// Held for a whole send; the buffer a message is serialized into.
    tx: Mutex<Vec<u8>>,
    limit: usize,
}

impl StreamEnd {
    pub(crate) fn new(sock: StreamSocket, framing: Framing, limit: usize) -> Self {
        StreamEnd {
            sock,
            framing,
            rx: Mutex::new(Rx {
                deframer: Deframer::new(framing),
                eof: false,
            }),
            tx: Mutex::new(Vec::new()),
            limit,
        }
    }

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
            if rx.eof || rx.deframer.complete(self.limit) {
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
    /// room; whether to keep watching (not if a receiver is reading).
    fn drain(&self) -> bool {
        let Ok(mut rx) = self.rx.try_lock() else {
            return false;
        };
        loop {
            match self.read(&mut rx, Wait::Never) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
            }
        }
    }

    /// Writes all of `parts`; `NotReady` only if nothing went out by the
    /// deadline.
    fn write(&self, parts: &mut [IoSlice<'_>], wait: Wait) -> Result<(), RawSendError> {
        let mut rest = parts;
        let mut started = false;
        while !rest.is_empty() {
            let w = if started { Wait::Forever } else { wait };
            match self.sock.send(rest, w, &mut || self.drain()) {
                Ok(n) => {
                    started |= n > 0;
                    IoSlice::advance_slices(&mut rest, n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(RawSendError::NotReady),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Err(RawSendError::Disconnected),
                Err(e) => return Err(RawSendError::Io(e)),
            }
        }
        Ok(())
    }

    pub(crate) fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        let mut buf = self.tx.lock_unpoisoned();
        buf.clear();
        buf.resize(16, 0);
        let mut writer = FrameWriter::bytes(&mut buf, self.limit);
        if let Err(e) = fill(&mut writer) {
            writer.abort();
            return Err(RawSendError::Serialize(e));
        }
        let len = writer.finish()?;
        let mut header = [0u8; 16];
        let n = self.framing.header(len, &mut header);
        buf[16 - n..16].copy_from_slice(&header[..n]);
        let result = self.write(&mut [IoSlice::new(&buf[16 - n..])], wait);
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        result
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
        self.write(&mut [IoSlice::new(&header[..n]), IoSlice::new(bytes)], wait)
    }
}
