//! The segment behind every shared-state object: a small header (what it
//! is, its element type, its lock and wait words), then the data.
//!
//! The header is 56 bytes, and data of an alignment up to 8 starts right
//! after it, in the header's cache line: a shared value of up to 8 bytes
//! and its lock word share one line, so passing the lock from one process
//! to another moves one cache line, not two (the benchmark's locked
//! increments between two processes: 2 to 17 % more a second than with
//! the data on a line of its own, in four interleaved pairs of runs). Data
//! of a larger alignment starts at the next multiple of it (at most
//! [`MAX_ALIGN`]).

use std::{
    fmt,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
};

use transport_core::{HandoffError, OpenError};

use crate::{
    error::SegmentError,
    segment::{Attachment, Kind, Segment, Token},
};

/// Participant role of a shared-state user.
const ROLE_STATE: u32 = 3;
/// The header's length: where data of an alignment up to 8 starts.
pub(crate) const HEADER_LEN: usize = 56;

/// The largest element alignment supported (the payload's start is
/// aligned to a page, so to this too).
pub(crate) const MAX_ALIGN: usize = 128;

/// Where the data of elements aligned to `elem_align` (a power of two, at
/// most [`MAX_ALIGN`]) starts: the first multiple of it past the header.
pub(crate) fn data_offset(elem_align: usize) -> usize {
    HEADER_LEN.next_multiple_of(elem_align.max(1))
}

/// What a shared-state segment holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    Value = 1,
    Array = 2,
    Mutex = 3,
    Event = 4,
    Semaphore = 5,
    Barrier = 6,
    Condvar = 7,
    Atomic = 8,
}

/// The object header. Every field is atomic.
#[repr(C, align(8))]
#[derive(Debug)]
pub(crate) struct ObjectHeader {
    pub(crate) kind: AtomicU32,
    pub(crate) elem_size: AtomicU32,
    pub(crate) elem_align: AtomicU32,
    _reserved: AtomicU32,
    pub(crate) len: AtomicU64,
    pub(crate) fingerprint: AtomicU64,
    /// The robust lock word (see `sync::lock`).
    pub(crate) lock: AtomicU32,
    /// Condvar sequence, event flag, semaphore count, barrier arrivals.
    pub(crate) a: AtomicU32,
    /// Barrier generation.
    pub(crate) b: AtomicU32,
    /// Barrier parties.
    pub(crate) c: AtomicU32,
    /// Barrier broken flag.
    pub(crate) d: AtomicU32,
    _reserved_end: AtomicU32,
}

const _: () = assert!(std::mem::size_of::<ObjectHeader>() == HEADER_LEN);

/// A fingerprint of a type (FNV-1a of its name without module paths, size
/// and alignment), so a process cannot open an object as another type.
pub(crate) fn fingerprint<T>() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let text = transport_core::fingerprint::layout_fingerprint::<T>();
    let name = text.as_bytes();
    let size = (std::mem::size_of::<T>() as u64).to_le_bytes();
    let align = (std::mem::align_of::<T>() as u64).to_le_bytes();
    for b in name.iter().chain(&size).chain(&align) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What an object must look like when it is opened.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) kind: ObjectKind,
    pub(crate) elem_size: usize,
    pub(crate) elem_align: usize,
    pub(crate) len: usize,
    pub(crate) fingerprint: u64,
}

impl Shape {
    /// The shape of `len` elements of `T`.
    pub(crate) fn of<T>(kind: ObjectKind, len: usize) -> Shape {
        Shape {
            kind,
            elem_size: std::mem::size_of::<T>(),
            elem_align: std::mem::align_of::<T>(),
            len,
            fingerprint: fingerprint::<T>(),
        }
    }

    fn data_len(&self) -> Option<usize> {
        self.elem_size.checked_mul(self.len)
    }

    /// Where its data starts.
    fn data_offset(&self) -> usize {
        data_offset(self.elem_align)
    }
}

/// A shared-state object: this process's participation in its segment.
pub struct Object {
    att: Attachment,
    kind: ObjectKind,
    /// The number of elements: given at creation, or read from the header
    /// once when opened and checked against the segment (a peer may rewrite
    /// the header's word at any time; this one stays).
    len: usize,
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("segment", &self.att.segment().name())
            .field("kind", &self.kind)
            .finish()
    }
}

impl Object {
    /// Creates an object of `shape`; its data bytes are zero.
    pub(crate) fn create(shape: Shape) -> Result<Arc<Object>, SegmentError> {
        assert!(
            shape.elem_align <= MAX_ALIGN,
            "alignment above {MAX_ALIGN} is not supported"
        );
        let data = shape
            .data_len()
            .ok_or(SegmentError::TooLarge { size: usize::MAX })?;
        let payload = data
            .checked_add(shape.data_offset())
            .ok_or(SegmentError::TooLarge { size: data })?;
        let att = Segment::create(Kind::State, payload, ROLE_STATE)?;
        let obj = Object {
            att,
            kind: shape.kind,
            len: shape.len,
        };
        let h = obj.header();
        h.elem_size.store(shape.elem_size as u32, Ordering::Relaxed);
        h.elem_align.store(shape.elem_align as u32, Ordering::Relaxed);
        h.len.store(shape.len as u64, Ordering::Relaxed);
        h.fingerprint.store(shape.fingerprint, Ordering::Relaxed);
        h.kind.store(shape.kind as u32, Ordering::Release);
        Ok(Arc::new(obj))
    }

    /// Opens the object a hand-off payload names, checking its shape
    /// (`shape.len` of `usize::MAX` accepts any length) before it claims
    /// the hand-off, so a wrong open leaves the hand-off to the right one.
    pub(crate) fn open(payload: &str, shape: Shape) -> Result<Arc<Object>, OpenError> {
        let token: Token = payload.parse().map_err(OpenError::malformed)?;
        let segment = Segment::open(&token.name, Kind::State)?;
        let len = Object::check(&segment, shape).map_err(OpenError::malformed)?;
        let att = Attachment::claim_in(segment, &token)?;
        Ok(Arc::new(Object {
            att,
            kind: shape.kind,
            len,
        }))
    }

    /// Checks the header of an object's segment against `shape`, and gives
    /// its length. Every header word is read once.
    pub(crate) fn check(seg: &Segment, shape: Shape) -> Result<usize, String> {
        let wrong = |what: &str| format!("shared memory segment `{}` {what}", seg.name());
        if seg.payload_len() < HEADER_LEN {
            return Err(wrong("is too small for a shared object"));
        }
        // SAFETY: the payload holds a header (checked above), page-aligned;
        // the header is all atomics.
        let h = unsafe { &*(seg.payload() as *const ObjectHeader) };
        if h.kind.load(Ordering::Acquire) != shape.kind as u32 {
            return Err(wrong("holds another kind of shared object"));
        }
        let len = h.len.load(Ordering::Relaxed);
        if h.fingerprint.load(Ordering::Relaxed) != shape.fingerprint
            || h.elem_size.load(Ordering::Relaxed) as usize != shape.elem_size
            || h.elem_align.load(Ordering::Relaxed) as usize != shape.elem_align
            || (shape.len != usize::MAX && len != shape.len as u64)
        {
            return Err(wrong("holds another element type or length"));
        }
        usize::try_from(len)
            .ok()
            .filter(|&l| {
                l.checked_mul(shape.elem_size)
                    .and_then(|d| d.checked_add(shape.data_offset()))
                    .is_some_and(|d| d <= seg.payload_len())
            })
            .ok_or_else(|| wrong("is smaller than its recorded length"))
    }

    /// An object of `kind` and `len` elements over a claimed attachment
    /// whose segment passed [`check`](Self::check) (for the fuzz targets).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn from_parts(att: Attachment, kind: ObjectKind, len: usize) -> Object {
        Object { att, kind, len }
    }

    /// Reserves a participation for the child `cmd` spawns; the token's text.
    pub(crate) fn prepare(&self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.att
            .reserve(ROLE_STATE, cmd)
            .map(|t| t.to_string())
            .map_err(|e| HandoffError::Io {
                what: format!("shared memory segment `{}`", self.att.segment().name()),
                source: std::io::Error::other(e.to_string()),
            })
    }

    /// The header.
    pub(crate) fn header(&self) -> &ObjectHeader {
        // SAFETY: the payload is at least HEADER_LEN bytes (checked on
        // create and open), page-aligned, and the header is all atomics.
        unsafe { &*(self.att.segment().payload() as *const ObjectHeader) }
    }

    /// The first element, of type `T`: the type the object was created or
    /// opened with (its shape's), whose alignment places the data. The
    /// offset is known when this is compiled (no load on a lock's path).
    pub(crate) fn data<T>(&self) -> *mut T {
        let offset = data_offset(std::mem::align_of::<T>());
        // SAFETY: the data offset is within the payload (checked on create
        // and open: it and the data fit).
        unsafe { self.att.segment().payload().add(offset).cast::<T>() }
    }

    /// The number of elements (as checked when created or opened).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The segment.
    pub(crate) fn segment(&self) -> &Segment {
        self.att.segment()
    }

    /// The segment's name.
    pub(crate) fn name(&self) -> &str {
        self.att.segment().name()
    }

    /// This process's lock-owner word: entry index + 1 and the low nonce
    /// bits (see `sync::lock`).
    pub(crate) fn owner_word(&self) -> u32 {
        ((self.att.nonce() & crate::sync::lock::NONCE_MASK) << 8) | (self.att.index() as u32 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_of_up_to_8_bytes_shares_the_lock_words_cache_line() {
        let lock = std::mem::offset_of!(ObjectHeader, lock);
        for align in [1, 2, 4, 8] {
            let at = data_offset(align);
            assert_eq!(at, HEADER_LEN);
            assert_eq!(at % align, 0);
            assert_eq!(
                lock / 64,
                (at + 7) / 64,
                "an 8-byte value ends in the lock's line"
            );
        }
        assert_eq!(data_offset(16), 64);
        assert_eq!(data_offset(64), 64);
        assert_eq!(data_offset(MAX_ALIGN), MAX_ALIGN);
    }

    #[test]
    fn data_is_aligned_for_every_supported_alignment_and_fits() {
        let mut align = 1;
        while align <= MAX_ALIGN {
            let shape = Shape {
                kind: ObjectKind::Array,
                elem_size: align,
                elem_align: align,
                len: 3,
                fingerprint: 7,
            };
            let obj = Object::create(shape).expect("an object");
            let data = obj.segment().payload() as usize + data_offset(align);
            assert_eq!(data % align, 0, "alignment {align}");
            let end = obj.segment().payload() as usize + obj.segment().payload_len();
            assert!(data + 3 * align <= end, "alignment {align}");
            assert_eq!(Object::check(obj.segment(), shape), Ok(3));
            align *= 2;
        }
    }
}
