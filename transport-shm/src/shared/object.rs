//! The segment behind every shared-state object: a small header (what it
//! is, its element type, its lock and wait words), then the data.

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
/// Where the data starts, which is also the largest alignment supported.
pub(crate) const DATA_OFFSET: usize = 128;

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
#[repr(C, align(128))]
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
}

const _: () = assert!(std::mem::size_of::<ObjectHeader>() == DATA_OFFSET);

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
            shape.elem_align <= DATA_OFFSET,
            "alignment above {DATA_OFFSET} is not supported"
        );
        let data = shape
            .data_len()
            .ok_or(SegmentError::TooLarge { size: usize::MAX })?;
        let payload = data
            .checked_add(DATA_OFFSET)
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
        if seg.payload_len() < DATA_OFFSET {
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
                    .and_then(|d| d.checked_add(DATA_OFFSET))
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
        // SAFETY: the payload is at least DATA_OFFSET bytes (checked on
        // create and open), page-aligned, and the header is all atomics.
        unsafe { &*(self.att.segment().payload() as *const ObjectHeader) }
    }

    /// The first data byte (128-aligned).
    pub(crate) fn data(&self) -> *mut u8 {
        // SAFETY: DATA_OFFSET is within the payload (checked).
        unsafe { self.att.segment().payload().add(DATA_OFFSET) }
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
