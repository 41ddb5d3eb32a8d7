//! A segment mapped the way a hostile peer of the same user maps it: by
//! name, read-write, with nothing of this crate in between, so a test can
//! write raw words where the crate writes its control words.
//!
//! The offsets are the documented layout (`segment/header.rs`,
//! `channel/layout.rs`, `shared/object.rs`); a test that uses them fails
//! loudly if they move.
#![allow(dead_code)] // each test binary uses a part

use std::{
    ffi::CString,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};

/// Where the payload starts in every segment.
pub const PAYLOAD: usize = 4096;
/// Segment header: the recorded mapping size.
pub const SEG_SIZE: usize = 16;
/// Channel header (at the payload): the number of lanes (u32).
pub const CH_LANES: usize = PAYLOAD;
/// Channel header: bytes per lane (u64).
pub const CH_LANE_BYTES: usize = PAYLOAD + 8;
/// Channel header: the watermark (u64).
pub const CH_WATERMARK: usize = PAYLOAD + 16;
/// Channel header: the message size limit (u64).
pub const CH_LIMIT: usize = PAYLOAD + 24;
/// Lane control blocks start here, 256 bytes each.
pub const CTL: usize = PAYLOAD + 256;
/// Object header (at the payload): the element count (u64).
pub const OBJ_LEN: usize = PAYLOAD + 16;
/// The header word of a record that says "continue at offset 0".
pub const WRAP: u64 = u64::MAX;

/// A segment mapped read-write by name.
#[derive(Debug)]
pub struct RawSegment {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: only a pointer and a length to a process-wide shared mapping,
// accessed through atomics.
unsafe impl Send for RawSegment {}
// SAFETY: as above.
unsafe impl Sync for RawSegment {}

impl RawSegment {
    /// Maps segment `name` (with its leading `/`).
    pub fn open(name: &str) -> RawSegment {
        let c = CString::new(name).expect("a name without NUL");
        // SAFETY: `c` is a NUL-terminated name; the returned descriptor is
        // checked and closed below.
        let fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_RDWR, 0) };
        assert!(fd >= 0, "shm_open({name}): {}", std::io::Error::last_os_error());
        // SAFETY: `st` is plain data filled by fstat on a live descriptor.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is open; `st` is a live stat buffer.
        assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0, "fstat");
        let len = st.st_size as usize;
        // SAFETY: a fresh shared mapping of the object's whole size.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        // SAFETY: `fd` is open and no longer needed: the mapping stays.
        unsafe { libc::close(fd) };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap({name})");
        RawSegment { ptr: ptr.cast(), len }
    }

    /// The mapping's length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The 64-bit word at byte `off`.
    pub fn u64_at(&self, off: usize) -> &AtomicU64 {
        assert!(
            off % 8 == 0 && off + 8 <= self.len,
            "word {off} out of the mapping"
        );
        // SAFETY: in the mapping (checked), 8-aligned; shared memory is
        // only accessed through atomics here.
        unsafe { &*(self.ptr.add(off) as *const AtomicU64) }
    }

    /// The 32-bit word at byte `off`.
    pub fn u32_at(&self, off: usize) -> &AtomicU32 {
        assert!(
            off % 4 == 0 && off + 4 <= self.len,
            "word {off} out of the mapping"
        );
        // SAFETY: as for `u64_at`.
        unsafe { &*(self.ptr.add(off) as *const AtomicU32) }
    }

    /// Writes `v` at byte `off`.
    pub fn put(&self, off: usize, v: u64) {
        self.u64_at(off).store(v, Ordering::SeqCst);
    }

    /// Reads the word at byte `off`.
    pub fn get(&self, off: usize) -> u64 {
        self.u64_at(off).load(Ordering::SeqCst)
    }

    /// The number of lanes of a channel segment.
    pub fn lanes(&self) -> usize {
        self.u32_at(CH_LANES).load(Ordering::SeqCst) as usize
    }

    /// The bytes per lane of a channel segment.
    pub fn lane_bytes(&self) -> u64 {
        self.get(CH_LANE_BYTES)
    }

    /// Lane `i`'s tail word.
    pub fn tail(&self, i: usize) -> usize {
        CTL + i * 256
    }

    /// Lane `i`'s `jump_from` word.
    pub fn jump_from(&self, i: usize) -> usize {
        CTL + i * 256 + 16
    }

    /// Lane `i`'s head word.
    pub fn head(&self, i: usize) -> usize {
        CTL + i * 256 + 128
    }

    /// The byte offset in the mapping of position `pos` of lane `i`.
    pub fn data(&self, i: usize, pos: u64) -> usize {
        let data = (256 + self.lanes() * 256).next_multiple_of(4096);
        let lane_bytes = self.lane_bytes();
        PAYLOAD + data + i * lane_bytes as usize + (pos % lane_bytes) as usize
    }
}

impl Drop for RawSegment {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, unmapped once.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}
