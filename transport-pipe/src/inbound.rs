//! The receiving side of an end: reads the byte stream in large chunks and
//! cuts it into frames.
//!
//! Small frames are parsed out of a 64 KiB chunk buffer, so one system call
//! can deliver hundreds of messages; each is copied once into its own
//! 16-aligned [`PipeFrame`] so the typed receiver reads its archive in
//! place. A frame whose header has arrived but whose body has not gets its
//! own aligned buffer at once, and its body bytes are copied there as they
//! come, each byte once: a frame of 64 KiB or more is read straight into
//! that buffer, a smaller one is finished from the next chunk. Only a
//! header fragment is ever moved within the chunk buffer. A frame's
//! announced length is checked against the limit before anything is
//! allocated for it.
//!
//! The peer is not trusted (see [the trust model](crate#trust-model)): each
//! header is read once and checked, every received byte costs a bounded
//! amount of work, and the bytes held here are counted, so a writer that
//! reads incoming frames while it waits for room can stop at its bound
//! (`Shared::drain`).

use std::{collections::VecDeque, io, mem::MaybeUninit, task::Waker};

use transport_core::{
    MalformedFrame,
    backend::{FRAME_ALIGN, RawRecvError, Wait},
    rkyv::util::AlignedVec,
};

use crate::{
    drain::DrainAllowance,
    sys::Socket,
    wire::{self, HEADER_LEN},
};

/// A received frame: the message bytes, 16-aligned, owned.
pub type PipeFrame = AlignedVec<FRAME_ALIGN>;

/// How much one read into the chunk buffer asks for, and the size from
/// which a frame whose body is still to come is read straight into its own
/// buffer (a smaller one is finished from the next chunk, so the read can
/// bring the frames after it as well).
const CHUNK: usize = 64 << 10;

/// What the parser found, in stream order.
enum Event {
    Frame(PipeFrame),
    TooLarge { len: usize },
}

/// A frame whose header has arrived but whose body has not all: `frame`
/// holds the body bytes so far, `len` is the announced length (more than
/// `frame.len()`).
struct Partial {
    frame: PipeFrame,
    len: usize,
}

/// The receive state of one end.
pub(crate) struct Inbound {
    /// Bytes read but not yet parsed: `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    /// The frame being received, if its body is cut short so far. The
    /// chunk buffer then holds nothing: what follows goes to it first.
    partial: Option<Partial>,
    ready: VecDeque<Event>,
    /// The message bytes of the frames in `ready`.
    ready_bytes: usize,
    /// Bytes of an over-limit frame still to be thrown away.
    skip: u64,
    /// The peer closed its end (or died).
    eof: bool,
    /// The stream lost its framing; nothing after this can be trusted.
    malformed: Option<MalformedFrame>,
    limit: usize,
    /// The drain's allowance, counted from what this end had written
    /// (`Shared::written`) when the queue was last found empty.
    pub(crate) allowance: DrainAllowance,
    /// The async task waiting to receive (see `ready.rs`), woken whenever
    /// a read made progress: another thread (a writer draining incoming
    /// bytes while it waits for room) may read what the task waits for.
    pub(crate) waker: Option<Waker>,
}

impl Inbound {
    pub(crate) fn new(limit: usize) -> Self {
        Inbound {
            buf: Vec::new(),
            pos: 0,
            partial: None,
            ready: VecDeque::new(),
            ready_bytes: 0,
            skip: 0,
            eof: false,
            malformed: None,
            limit,
            allowance: DrainAllowance::default(),
            waker: None,
        }
    }

    /// The next result a receive should return, if there is one without
    /// reading: a frame, an over-limit frame, a broken stream, or the end.
    ///
    /// At the end of the stream, the bytes of a frame the peer did not
    /// finish (it died mid-send) are dropped: the frame is not delivered,
    /// and the receiver sees `Disconnected`.
    pub(crate) fn pop(&mut self) -> Option<Result<PipeFrame, RawRecvError>> {
        match self.ready.pop_front() {
            Some(Event::Frame(frame)) => {
                self.ready_bytes -= frame.len();
                Some(Ok(frame))
            }
            Some(Event::TooLarge { len }) => Some(Err(RawRecvError::TooLarge {
                len,
                limit: self.limit,
            })),
            None => match &self.malformed {
                Some(m) => Some(Err(RawRecvError::Malformed(m.clone()))),
                None if self.eof => Some(Err(RawRecvError::Disconnected)),
                None => None,
            },
        }
    }

    /// Whether a receive would return at once.
    pub(crate) fn has_event(&self) -> bool {
        !self.ready.is_empty() || self.malformed.is_some() || self.eof
    }

    /// Whether bytes from the peer were read and not yet received (they
    /// would be lost if the end moved to another process).
    pub(crate) fn holds_data(&self) -> bool {
        !self.ready.is_empty() || self.pos < self.buf.len() || self.partial.is_some() || self.skip > 0
    }

    /// The message bytes read from the peer and not yet received: whole
    /// frames, the part of a frame so far, and unparsed bytes.
    pub(crate) fn held(&self) -> usize {
        let partial = self.partial.as_ref().map_or(0, |p| p.frame.len());
        self.ready_bytes + partial + (self.buf.len() - self.pos)
    }

    /// Reads once from `sock`, waiting as `wait` allows, and parses what
    /// came. `Ok(0)` is the end of the stream.
    ///
    /// # Errors
    /// `WouldBlock` when nothing came in time; other operating-system
    /// errors as they are.
    pub(crate) fn read_some(&mut self, sock: &Socket, wait: Wait) -> io::Result<usize> {
        self.read_at_most(sock, wait, usize::MAX)
    }

    /// As [`read_some`](Self::read_some), reading at most `max` bytes
    /// (more than 0), so that [`held`](Self::held) grows by at most `max`.
    pub(crate) fn read_at_most(&mut self, sock: &Socket, wait: Wait, max: usize) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        let n = match &mut self.partial {
            Some(partial) if partial.len >= CHUNK => {
                let filled = partial.frame.len();
                let spare = spare_capacity(&mut partial.frame, (partial.len - filled).min(max));
                let n = sock.recv(spare, wait)?;
                // SAFETY: `recv` initialized the first `n` bytes of the spare
                // capacity, which starts at `filled`.
                unsafe { partial.frame.set_len(filled + n) };
                if partial.frame.len() == partial.len {
                    if let Some(done) = self.partial.take() {
                        self.push_frame(done.frame);
                    }
                }
                n
            }
            // A smaller partial frame is finished from the chunk by `parse`.
            _ => {
                // Only a header fragment can be left over to move.
                if self.pos > 0 {
                    self.buf.drain(..self.pos);
                    self.pos = 0;
                }
                self.buf.reserve(CHUNK);
                let filled = self.buf.len();
                let spare = self.buf.spare_capacity_mut();
                let take = spare.len().min(max);
                let n = sock.recv(&mut spare[..take], wait)?;
                // SAFETY: `recv` initialized the first `n` bytes of the spare
                // capacity, which starts at `filled`.
                unsafe { self.buf.set_len(filled + n) };
                n
            }
        };
        if n == 0 {
            if !self.eof {
                transport_core::event!(
                    DEBUG,
                    unread = self.buf.len(),
                    "pipe peer closed its end (end of stream)"
                );
            }
            self.eof = true;
        } else {
            let was_malformed = self.malformed.is_some();
            self.parse();
            if !was_malformed && self.malformed.is_some() {
                // The stream lost its framing: stop reading the peer at all
                // (where the system can say so, its sends now fail).
                sock.shutdown_read();
            }
        }
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
        Ok(n)
    }

    /// Moves every complete frame of `buf` to `ready`: first the rest of
    /// a partial frame, then whole frames, each copied once into its own
    /// buffer. A frame whose header has arrived but whose body is cut short
    /// becomes the partial frame, taking what there is of its body, so
    /// only a header fragment is left in `buf`.
    fn parse(&mut self) {
        loop {
            let avail = &self.buf[self.pos..];
            if self.malformed.is_some() {
                self.pos = self.buf.len();
                break;
            }
            if let Some(partial) = &mut self.partial {
                let k = (partial.len - partial.frame.len()).min(avail.len());
                partial.frame.extend_from_slice(&avail[..k]);
                self.pos += k;
                if partial.frame.len() < partial.len {
                    break;
                }
                if let Some(done) = self.partial.take() {
                    self.push_frame(done.frame);
                }
                continue;
            }
            if self.skip > 0 {
                let k = self.skip.min(avail.len() as u64);
                self.pos += k as usize;
                self.skip -= k;
                if self.skip > 0 {
                    break;
                }
                continue;
            }
            let Some(head) = avail.first_chunk::<HEADER_LEN>() else {
                break;
            };
            let len = match wire::parse(head) {
                Ok(len) => len,
                Err(bad) => {
                    self.malformed = Some(bad);
                    continue;
                }
            };
            // No sender can have a message longer than `isize::MAX` bytes
            // (no allocation is), so such a length is not a frame too large
            // for this end: the stream is broken, and skipping that many
            // bytes would swallow everything the peer ever sends.
            let Some(len) = usize::try_from(len)
                .ok()
                .filter(|&len| len <= isize::MAX as usize)
            else {
                self.malformed = Some(MalformedFrame::new(format!(
                    "frame header announces {len} bytes, more than any message can have ({} at most)",
                    isize::MAX
                )));
                continue;
            };
            if len > self.limit {
                // A message a sender with a larger limit could write: it is
                // reported, and its bytes are skipped as they come, once
                // each, so the frames after it are delivered.
                self.ready.push_back(Event::TooLarge { len });
                self.pos += HEADER_LEN;
                self.skip = len as u64;
                continue;
            }
            let body = &avail[HEADER_LEN..];
            if body.len() >= len {
                let mut frame = PipeFrame::with_capacity(len);
                frame.extend_from_slice(&body[..len]);
                self.push_frame(frame);
                self.pos += HEADER_LEN + len;
            } else {
                // The header is here and the body is not: give the frame
                // its own buffer now rather than move the bytes so far.
                let mut frame = PipeFrame::with_capacity(len);
                frame.extend_from_slice(body);
                self.partial = Some(Partial { frame, len });
                self.pos = self.buf.len();
                break;
            }
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    fn push_frame(&mut self, frame: PipeFrame) {
        self.ready_bytes += frame.len();
        self.ready.push_back(Event::Frame(frame));
    }
}

/// The first `want` bytes of `frame`'s spare capacity (which must hold
/// them), as uninitialized memory to read into.
fn spare_capacity(frame: &mut PipeFrame, want: usize) -> &mut [MaybeUninit<u8>] {
    frame.reserve(want);
    let len = frame.len();
    // SAFETY: after `reserve`, the allocation has room for `want` bytes past
    // `len`; they are handed out as `MaybeUninit`, so nothing reads them
    // before they are written, and the borrow of `frame` keeps it from
    // reallocating meanwhile.
    unsafe { std::slice::from_raw_parts_mut(frame.as_mut_ptr().add(len).cast::<MaybeUninit<u8>>(), want) }
}

#[cfg(test)]
mod tests {
    use std::io::IoSlice;

    use super::*;

    /// A socket pair, the receive state of its second end, and a way to put
    /// raw bytes on the wire from the first.
    fn wire(limit: usize) -> (Socket, Socket, Inbound) {
        let (a, b) = Socket::pair().expect("a socket pair");
        (a, b, Inbound::new(limit))
    }

    fn put(sock: &Socket, bytes: &[u8]) {
        let mut done = 0;
        while done < bytes.len() {
            done += sock
                .send(&[IoSlice::new(&bytes[done..])], Wait::Forever, &mut || true)
                .expect("writing raw bytes");
        }
    }

    /// Writes `pieces` from another thread (they may exceed the pipe's
    /// buffer, which is 64 KiB on Windows), then closes `sock`.
    fn put_then_close(sock: Socket, pieces: Vec<Vec<u8>>) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            for piece in pieces {
                put(&sock, &piece);
            }
        })
    }

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = wire::header(payload.len()).to_vec();
        f.extend_from_slice(payload);
        f
    }

    /// Receives as `recv_frame` does, waiting up to a minute.
    fn next(sock: &Socket, inbound: &mut Inbound) -> Result<PipeFrame, RawRecvError> {
        let wait = Wait::timeout(std::time::Duration::from_secs(60));
        loop {
            if let Some(result) = inbound.pop() {
                return result;
            }
            inbound.read_some(sock, wait).expect("reading");
        }
    }

    #[test]
    fn frames_split_and_joined_arrive_whole_and_aligned() {
        let (a, b, mut inbound) = wire(1 << 20);
        let big = vec![9u8; 100_000];
        let mut bytes = frame(b"one");
        bytes.extend(frame(b""));
        bytes.extend(frame(&big));
        bytes.extend(frame(b"last"));
        // Dribble the stream out in odd pieces.
        let writer = put_then_close(a, bytes.chunks(7777).map(<[u8]>::to_vec).collect());
        for expected in [&b"one"[..], b"", &big, b"last"] {
            let f = next(&b, &mut inbound).expect("a frame");
            assert_eq!(f.as_slice(), expected);
            // An empty frame has no allocation, so no address to align.
            assert!(f.is_empty() || f.as_ptr() as usize % FRAME_ALIGN == 0);
        }
        assert!(matches!(next(&b, &mut inbound), Err(RawRecvError::Disconnected)));
        writer.join().expect("the writer");
    }

    #[test]
    fn small_frames_cut_by_reads_are_kept_aside_not_moved() {
        let (a, b, mut inbound) = wire(1 << 20);
        let payloads: [&[u8]; 4] = [b"hello world", &[5u8; 1000], b"", b"end"];
        let bytes: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
        // Cut the stream in headers and bodies alike, one read per piece.
        for piece in bytes.chunks(7) {
            put(&a, piece);
            inbound.read_some(&b, Wait::Forever).expect("reading");
            // Only a header fragment stays in the chunk buffer.
            assert!(inbound.buf.len() - inbound.pos < HEADER_LEN);
        }
        drop(a);
        for expected in payloads {
            let f = next(&b, &mut inbound).expect("a frame");
            assert_eq!(f.as_slice(), expected);
            assert!(f.is_empty() || f.as_ptr() as usize % FRAME_ALIGN == 0);
        }
        assert!(matches!(next(&b, &mut inbound), Err(RawRecvError::Disconnected)));
    }

    #[test]
    fn over_limit_length_is_reported_and_skipped() {
        let (a, b, mut inbound) = wire(1000);
        let writer = put_then_close(a, vec![frame(&[1u8; 5000]), frame(b"after")]);
        match next(&b, &mut inbound) {
            Err(RawRecvError::TooLarge { len, limit }) => assert_eq!((len, limit), (5000, 1000)),
            other => panic!("expected TooLarge, got {:?}", other.map(|f| f.len())),
        }
        assert_eq!(
            next(&b, &mut inbound).expect("the frame after").as_slice(),
            b"after"
        );
        writer.join().expect("the writer");
    }

    #[test]
    fn huge_announced_length_allocates_nothing() {
        let (a, b, mut inbound) = wire(1 << 30);
        put(&a, &wire::header(usize::MAX >> 1));
        assert!(matches!(
            next(&b, &mut inbound),
            Err(RawRecvError::TooLarge { .. })
        ));
        drop(a);
        assert!(matches!(next(&b, &mut inbound), Err(RawRecvError::Disconnected)));
    }

    #[test]
    fn length_no_message_can_have_is_malformed_for_good() {
        let (a, b, mut inbound) = wire(1 << 20);
        let mut liar = wire::header(0);
        liar[8..].copy_from_slice(&(1u64 << 63).to_le_bytes());
        let mut bytes = frame(b"before");
        bytes.extend_from_slice(&liar);
        bytes.extend(frame(b"after"));
        put(&a, &bytes);
        assert_eq!(
            next(&b, &mut inbound).expect("the frame before").as_slice(),
            b"before"
        );
        for _ in 0..2 {
            match next(&b, &mut inbound) {
                Err(RawRecvError::Malformed(m)) => {
                    assert!(m.reason().contains("more than any message"), "{m}")
                }
                other => panic!("expected Malformed, got {:?}", other.map(|f| f.len())),
            }
        }
    }

    #[test]
    fn bad_header_is_malformed_for_good() {
        let (a, b, mut inbound) = wire(1 << 20);
        put(&a, &frame(b"fine"));
        put(&a, b"GARBAGE GARBAGE GARBAGE");
        put(&a, &frame(b"lost"));
        assert_eq!(
            next(&b, &mut inbound).expect("the good frame").as_slice(),
            b"fine"
        );
        for _ in 0..2 {
            match next(&b, &mut inbound) {
                Err(RawRecvError::Malformed(m)) => assert!(m.reason().contains("magic"), "{m}"),
                other => panic!("expected Malformed, got {:?}", other.map(|f| f.len())),
            }
        }
    }

    #[test]
    fn frame_cut_short_by_the_peer_is_dropped() {
        let (a, b, mut inbound) = wire(1 << 20);
        let cut = frame(&[3u8; 200_000])[..150_000].to_vec();
        let writer = put_then_close(a, vec![frame(b"whole"), cut]);
        assert_eq!(
            next(&b, &mut inbound).expect("the whole frame").as_slice(),
            b"whole"
        );
        assert!(matches!(next(&b, &mut inbound), Err(RawRecvError::Disconnected)));
        writer.join().expect("the writer");
    }
}
