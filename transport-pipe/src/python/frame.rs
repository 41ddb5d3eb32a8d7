//! Python's framing on a byte stream, and the [`Deframer`] that cuts a
//! stream into messages.
//!
//! `multiprocessing.connection` writes each message on a socket as a
//! 4-byte big-endian signed length and the bytes; a message longer than
//! `0x7fffffff` bytes gets the length `-1` and then an 8-byte big-endian
//! unsigned length (Python 3.8 and later read that form; 3.7 and earlier
//! read it as an empty message, so they cannot receive such a message at
//! all). On Windows, Python's named pipes are message-mode pipes with no
//! length at all; `sys/named/windows_message.rs` shows such a pipe to
//! the deframer as a stream in the socket framing.
//!
//! The deframer is lazy: it parses the next message only when asked, with
//! the largest length the caller accepts for it (Python's `maxlength`), so
//! a length past it is refused before any byte of that message is kept. A
//! message's buffer grows as its bytes arrive, never to a length the header
//! only claims.

use std::mem::MaybeUninit;

use transport_core::MalformedFrame;

use crate::{PipeFrame, wire};

/// The most bytes one read asks for.
const CHUNK: usize = 64 << 10;

/// How messages are delimited on the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Python's: a 4-byte big-endian length (or `-1` and 8 bytes).
    Python,
    /// This crate's own: the 16-byte header of the pipe (magic, flags,
    /// little-endian length).
    Native,
}

impl Framing {
    /// The header of a message of `len` bytes, written into `out`
    /// (which has room for the longest, 16 bytes); how many bytes it took.
    pub fn header(self, len: usize, out: &mut [u8; 16]) -> usize {
        match self {
            Framing::Python => match i32::try_from(len) {
                Ok(short) => {
                    out[..4].copy_from_slice(&short.to_be_bytes());
                    4
                }
                Err(_) => {
                    out[..4].copy_from_slice(&(-1i32).to_be_bytes());
                    out[4..12].copy_from_slice(&(len as u64).to_be_bytes());
                    12
                }
            },
            Framing::Native => {
                *out = wire::header(len);
                16
            }
        }
    }

    /// The header at the start of `bytes`: its length and the message
    /// length it announces; `Ok(None)` if it is not all there yet.
    pub fn parse(self, bytes: &[u8]) -> Result<Option<(usize, u64)>, MalformedFrame> {
        match self {
            Framing::Python => {
                let Some(short) = bytes.first_chunk::<4>() else {
                    return Ok(None);
                };
                match i32::from_be_bytes(*short) {
                    n if n >= 0 => Ok(Some((4, n as u64))),
                    -1 => Ok(bytes
                        .get(4..12)
                        .map(|long| (12, u64::from_be_bytes(long.try_into().unwrap_or([0xff; 8]))))),
                    n => Err(MalformedFrame::new(format!("a message length of {n}"))),
                }
            }
            Framing::Native => match bytes.first_chunk::<{ wire::HEADER_LEN }>() {
                None => Ok(None),
                Some(h) => wire::parse(h).map(|len| Some((wire::HEADER_LEN, len))),
            },
        }
    }
}

/// What [`Deframer::next`] found.
#[derive(Debug)]
pub enum Next {
    /// A whole message.
    Frame(PipeFrame),
    /// More bytes are needed ([`Deframer::push`]).
    Need,
    /// The next message announces more bytes than the caller accepts;
    /// the stream cannot be read past it (as in Python, whose connection
    /// stops being readable).
    TooLarge {
        /// The announced length.
        len: u64,
    },
    /// The bytes are not a header; nothing after them can be trusted.
    Malformed(MalformedFrame),
}

/// A message whose header has arrived and whose bytes have not all.
#[derive(Debug)]
struct Partial {
    frame: PipeFrame,
    len: usize,
}

/// Cuts a byte stream into messages.
#[derive(Debug)]
pub struct Deframer {
    framing: Framing,
    /// Bytes read and not yet parsed: `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    partial: Option<Partial>,
    /// Set once the stream cannot be read further.
    broken: Option<MalformedFrame>,
}

impl Deframer {
    /// A deframer for `framing`.
    pub fn new(framing: Framing) -> Self {
        Deframer {
            framing,
            buf: Vec::new(),
            pos: 0,
            partial: None,
            broken: None,
        }
    }

    /// How many bytes of messages are held (read and not yet returned).
    pub fn held(&self) -> usize {
        (self.buf.len() - self.pos) + self.partial.as_ref().map_or(0, |p| p.frame.len())
    }

    /// Whether bytes of a message are held (the peer ending the stream now
    /// would cut a message short).
    pub fn holds_data(&self) -> bool {
        self.partial.is_some() || self.pos < self.buf.len()
    }

    /// Reads more bytes with `read`, which fills the start of the buffer it
    /// is given and says how many it wrote (0 at the end of the stream).
    ///
    /// # Errors
    /// What `read` returns.
    ///
    /// # Safety
    /// When `read` returns `Ok(n)`, it has initialized the first `n` bytes
    /// of the buffer it was given (as a `recv` does).
    pub(crate) unsafe fn fill<E>(
        &mut self,
        read: impl FnOnce(&mut [MaybeUninit<u8>]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.reserve(CHUNK);
        let filled = self.buf.len();
        let spare = &mut self.buf.spare_capacity_mut()[..CHUNK];
        let n = read(spare)?.min(CHUNK);
        // SAFETY: by this function's contract `read` initialized the first
        // `n` bytes of the spare capacity, which starts at `filled`.
        unsafe { self.buf.set_len(filled + n) };
        Ok(n)
    }

    /// Whether [`next`](Self::next) with this `max` would return something
    /// other than [`Next::Need`] without more bytes.
    pub fn complete(&self, max: usize) -> bool {
        if self.broken.is_some() {
            return true;
        }
        let avail = &self.buf[self.pos..];
        if let Some(p) = &self.partial {
            return p.frame.len() + avail.len() >= p.len;
        }
        match self.framing.parse(avail) {
            Ok(Some((head, len))) => len > max as u64 || (avail.len() - head) as u64 >= len,
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// Adds `bytes` to the stream (for callers that read elsewhere).
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next message, if it is all there and at most `max` bytes long.
    pub fn next(&mut self, max: usize) -> Next {
        if let Some(bad) = &self.broken {
            return Next::Malformed(bad.clone());
        }
        let avail = &self.buf[self.pos..];
        let partial = match self.partial.take() {
            Some(p) => p,
            None => {
                let (head, len) = match self.framing.parse(avail) {
                    Ok(Some(h)) => h,
                    Ok(None) => return Next::Need,
                    Err(bad) => {
                        self.broken = Some(bad.clone());
                        return Next::Malformed(bad);
                    }
                };
                let Some(len) = usize::try_from(len).ok().filter(|&l| l <= max) else {
                    self.broken = Some(MalformedFrame::new(format!(
                        "a message of {len} bytes was refused (the limit was {max}); \
                         the stream cannot be read past it"
                    )));
                    return Next::TooLarge { len };
                };
                self.pos += head;
                Partial {
                    frame: PipeFrame::with_capacity(len.min(CHUNK)),
                    len,
                }
            }
        };
        let mut partial = partial;
        let avail = &self.buf[self.pos..];
        let k = (partial.len - partial.frame.len()).min(avail.len());
        partial.frame.extend_from_slice(&avail[..k]);
        self.pos += k;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        if partial.frame.len() == partial.len {
            Next::Frame(partial.frame)
        } else {
            self.partial = Some(partial);
            Next::Need
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(payload: &[u8]) -> Vec<u8> {
        let mut h = [0u8; 16];
        let n = Framing::Python.header(payload.len(), &mut h);
        let mut out = h[..n].to_vec();
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn headers_are_pythons() {
        let mut h = [0u8; 16];
        assert_eq!(Framing::Python.header(5, &mut h), 4);
        assert_eq!(&h[..4], &[0, 0, 0, 5]);
        assert_eq!(Framing::Python.header(0x8000_0000, &mut h), 12);
        assert_eq!(&h[..12], &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0, 0, 0]);
        assert_eq!(Framing::Python.parse(&h[..12]), Ok(Some((12, 0x8000_0000))));
        assert_eq!(Framing::Python.parse(&h[..11]), Ok(None));
        assert!(Framing::Python.parse(&[0xff, 0xff, 0xff, 0xfe]).is_err());
    }

    #[test]
    fn messages_cut_anywhere_come_out_whole() {
        let mut stream = python(b"one");
        stream.extend(python(b""));
        stream.extend(python(&[7u8; 100_000]));
        for cut in [1, 3, 5, 4096, 70_000] {
            let mut d = Deframer::new(Framing::Python);
            let mut out = Vec::new();
            for piece in stream.chunks(cut) {
                d.push(piece);
                while let Next::Frame(f) = d.next(1 << 20) {
                    out.push(f.to_vec());
                }
            }
            assert_eq!(
                out,
                vec![b"one".to_vec(), vec![], vec![7u8; 100_000]],
                "cut {cut}"
            );
            assert!(!d.holds_data());
        }
    }

    #[test]
    fn past_maxlength_is_refused_for_good() {
        let mut d = Deframer::new(Framing::Python);
        d.push(&python(&[1u8; 300]));
        d.push(&python(b"after"));
        assert!(matches!(d.next(256), Next::TooLarge { len: 300 }));
        assert!(matches!(d.next(1 << 20), Next::Malformed(_)));
    }

    #[test]
    fn a_huge_claim_allocates_nothing() {
        let mut d = Deframer::new(Framing::Python);
        d.push(&[
            0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]);
        assert!(matches!(d.next(usize::MAX), Next::Need));
        assert!(d.partial.as_ref().is_some_and(|p| p.frame.capacity() <= CHUNK));
    }
}
