//! Shared memory for large items (Linux): the producer writes an item once,
//! into a *slab*, and only the slab's descriptor crosses the hub; the
//! consumer copies the item out of its read-only mapping of the slab.
//!
//! A slab is a memfd of a fixed size (the queue's message limit; its pages
//! are only taken as they are written), mapped for writing by the process
//! that made it, which then seals it: `F_SEAL_SHRINK | F_SEAL_GROW` (its
//! size never changes, so nobody's mapping of it can fault) and
//! `F_SEAL_FUTURE_WRITE` (from then on nobody can map it for writing or
//! `write` to it, however they got the descriptor, through `/proc` or not:
//! only the producer's own mapping, made before, writes). Each producing
//! process keeps a few slabs ([`SlabPool`]) and writes the next item into
//! one the consumers are done with: its pages are already there, so a
//! large item costs one copy into the slab and one out of it, and no page
//! fault once a slab has been used. (A producer whose items have been
//! small writes into bytes of its own first, the cheaper path for them;
//! its first large item after a run of small ones is then copied into a
//! slab once more, and the ones after it are written there directly.)
//!
//! Why not a sealed memfd per item, read in place: `F_SEAL_WRITE` makes a
//! memfd read-only for good, so every item would need fresh pages, and on
//! a virtual machine of the kind this crate is measured on every fresh
//! page costs a fault of about 3 µs (about 1 ms a MiB, slower than copying
//! the item through the kernel twice). With reused slabs the producer can
//! still write to a slab while a consumer reads it, so the consumer never
//! validates or reads the slab in place: it copies the item into memory of
//! its own first, then validates that ([`SlabReader::copy_out`]).
//!
//! The hub checks every descriptor a member sends as a slab ([`check`]): a
//! memfd (or other shared memory) with those seals, whose size is within
//! the queue's limit and covers the item. It never maps a member's slab
//! unless a get of its own takes the item.

use std::{
    io,
    mem::MaybeUninit,
    os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
    ptr::NonNull,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
};

use rkyv::util::AlignedVec;
use transport_core::{FRAME_ALIGN, Fill, FrameWriter, RawSendError, sync::LockExt};

use super::fd::cvt;
use crate::wire::{QueueFrame, Violation};

/// Items longer than this go into slabs: the producer writes them once,
/// and only a descriptor crosses the hub. Shorter ones travel inline,
/// where a slab's bookkeeping (a descriptor per message both ways, a
/// ticket back) costs about what the copies it saves do. Measured with
/// the pool (`pool_bench` on the queue, 3 workers, chunks of 8-byte
/// tasks, so arguments and results of the chunk's size, medians of nine
/// maps, the threshold at 64 KiB against lower, interleaved): 16 KB items
/// are slower in slabs (73 against 85 M tasks/s), 20 KB even, 24–28 KB
/// 15–25 % faster, 36 KB and 64 KB twice as fast (105–115 against 52–65,
/// and 165 against 65–75); one-way throughput (`transport-bench
/// --subjects queue`) at 48–60 KB even to 28 % faster, below 32 KB within
/// the noise either way.
pub(crate) const SHARED_THRESHOLD: usize = 32 << 10;

/// Slabs one producing process keeps for one queue, at most: that many of
/// its large items may be in the queue or on their way at once; more go
/// inline. The hub holds at most that many of one member's slabs.
pub(crate) const MAX_SLABS: usize = 16;

/// Slabs of other processes a reader keeps mapped, at most.
const READER_CACHE: usize = 32;

/// The seals every slab must carry.
const REQUIRED_SEALS: libc::c_int = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;

/// Of these, at least one: nobody may write but the producer's mapping.
const WRITE_SEALS: libc::c_int = libc::F_SEAL_WRITE | libc::F_SEAL_FUTURE_WRITE;

/// A producer's slab: its memfd and its writable mapping.
pub(crate) struct Slab {
    /// The producer's name for it (its place in the pool).
    tag: u64,
    fd: OwnedFd,
    map: NonNull<u8>,
    size: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; writes go
// only through `fill`, whose caller holds the slab's lease (see `SlabPool`),
// and reads of what was written happen after the writer is done.
unsafe impl Send for Slab {}
// SAFETY: as above.
unsafe impl Sync for Slab {}

impl std::fmt::Debug for Slab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slab")
            .field("tag", &self.tag)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Slab {
    /// A new slab of `size` bytes, mapped for writing, then sealed.
    fn create(tag: u64, size: usize) -> io::Result<Slab> {
        // SAFETY: plain system call with a valid, NUL-terminated name.
        let raw = cvt(unsafe {
            libc::memfd_create(
                c"transport-queue".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        })?;
        // SAFETY: just made; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let len =
            libc::off_t::try_from(size).map_err(|_| io::Error::other("a slab past the file size limit"))?;
        // SAFETY: plain system call on a descriptor this process holds.
        cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len) })?;
        // SAFETY: a new shared mapping of the whole file; nothing else in
        // this process uses the range the kernel picks.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let slab = Slab {
            tag,
            fd,
            map: NonNull::new(map.cast()).ok_or_else(|| io::Error::other("a mapping at address 0"))?,
            size,
        };
        let seals = REQUIRED_SEALS | libc::F_SEAL_FUTURE_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: plain system call on a descriptor this process holds.
        cvt(unsafe { libc::fcntl(slab.fd.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
        Ok(slab)
    }

    /// The producer's name for the slab.
    pub(crate) fn tag(&self) -> u64 {
        self.tag
    }

    /// The slab's descriptor, to send.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    /// Has `fill` write an item of at most `limit` bytes into the slab;
    /// its length.
    ///
    /// # Safety
    /// The caller holds the slab's lease: no other thread writes to it or
    /// reads from it meanwhile.
    unsafe fn fill(&self, limit: usize, fill: &mut Fill<'_>) -> Result<usize, RawSendError> {
        let room = limit.min(self.size);
        // SAFETY: the mapping is `size` bytes, valid for writes, and only
        // this lease holder uses it (the function's contract); another
        // process may read it, never write (the seals).
        let bytes =
            unsafe { std::slice::from_raw_parts_mut(self.map.as_ptr().cast::<MaybeUninit<u8>>(), room) };
        let mut writer = FrameWriter::slice(bytes);
        if let Err(e) = fill(&mut writer) {
            writer.abort();
            return Err(RawSendError::Serialize(e));
        }
        match writer.finish() {
            Ok(len) => Ok(len),
            Err(o) => Err(RawSendError::TooLarge { len: o.len, limit }),
        }
    }

    /// Copies `bytes` (an item serialized elsewhere) to the slab's start.
    ///
    /// # Safety
    /// As [`fill`](Self::fill): the caller holds the slab's lease.
    unsafe fn write(&self, bytes: &[u8]) -> Result<usize, RawSendError> {
        if bytes.len() > self.size {
            return Err(RawSendError::TooLarge {
                len: bytes.len(),
                limit: self.size,
            });
        }
        // SAFETY: the mapping is valid for writes of `size` bytes, which
        // covers `bytes`, and only the lease holder writes to it.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.map.as_ptr(), bytes.len()) };
        Ok(bytes.len())
    }

    /// A copy of the first `len` bytes, which this process wrote.
    fn copy(&self, len: usize) -> QueueFrame {
        let mut frame = AlignedVec::<FRAME_ALIGN>::with_capacity(len);
        // SAFETY: `len` is at most `size` (the caller wrote that much), the
        // mapping is valid for reads of it, and only this process writes to
        // the slab, not while its lease is out.
        let bytes = unsafe { std::slice::from_raw_parts(self.map.as_ptr(), len) };
        frame.extend_from_slice(bytes);
        frame
    }
}

impl Drop for Slab {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `create` with this size, and no
        // reference into it outlives the slab.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.size) };
    }
}

/// An item written into a slab: the slab (its lease) and the item's length.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) slab: Arc<Slab>,
    pub(crate) len: usize,
}

impl Written {
    /// The producer's tag for the slab.
    pub(crate) fn slab_tag(&self) -> u64 {
        self.slab.tag
    }

    /// A copy of the item (for a get in the producing process).
    pub(crate) fn copy(&self) -> QueueFrame {
        self.slab.copy(self.len)
    }
}

/// What a producer made of an item.
#[derive(Debug)]
pub(crate) enum Produced {
    /// Bytes of its own.
    Inline(QueueFrame),
    /// An item in one of the producer's slabs.
    Shared(Written),
}

/// After a large item, the producer serializes this many more items
/// straight into a slab (those that turn out small are copied out of it)
/// before it goes back to serializing into bytes of its own first.
const LARGE_RUN: u32 = 64;

/// The slabs of one producing process for one queue.
#[derive(Debug)]
pub(crate) struct SlabPool {
    /// The slab size: the queue's message limit.
    size: usize,
    slabs: Mutex<Slabs>,
    /// Items left before the producer stops expecting large ones (see
    /// [`LARGE_RUN`]).
    expect_large: AtomicU32,
}

#[derive(Debug, Default)]
struct Slabs {
    all: Vec<Arc<Slab>>,
    /// Tags of the slabs no item is in.
    free: Vec<u64>,
}

impl SlabPool {
    /// A pool for items of at most `limit` bytes, or none where slabs do
    /// not pay (a limit at the threshold) or cannot be mapped whole (a
    /// 32-bit address space).
    pub(crate) fn new(limit: usize) -> Option<SlabPool> {
        let fits = cfg!(target_pointer_width = "64");
        (fits && limit > SHARED_THRESHOLD).then(|| SlabPool {
            size: limit,
            slabs: Mutex::new(Slabs::default()),
            expect_large: AtomicU32::new(0),
        })
    }

    /// Takes a free slab (making one while there are fewer than
    /// [`MAX_SLABS`]): its lease.
    fn take(&self) -> Option<Arc<Slab>> {
        let mut slabs = self.slabs.lock_unpoisoned();
        if let Some(tag) = slabs.free.pop() {
            return slabs.all.get(tag as usize).cloned();
        }
        if slabs.all.len() >= MAX_SLABS {
            return None;
        }
        let tag = slabs.all.len() as u64;
        let slab = Arc::new(Slab::create(tag, self.size).ok()?);
        slabs.all.push(Arc::clone(&slab));
        Some(slab)
    }

    /// The item in slab `tag` was copied out by its consumer: the slab
    /// takes the next one. Tags this pool never lent are ignored.
    pub(crate) fn give_back(&self, tag: u64) {
        let mut slabs = self.slabs.lock_unpoisoned();
        if (tag as usize) < slabs.all.len() && !slabs.free.contains(&tag) {
            slabs.free.push(tag);
        }
    }

    /// Has `fill` write an item of at most `limit` bytes; an item past
    /// [`SHARED_THRESHOLD`] ends up in a slab (inline when no slab is free).
    ///
    /// While large items come (one in the last [`LARGE_RUN`]), `fill`
    /// writes straight into a free slab, and a small item is copied out of
    /// it into bytes of its own: a large item is written once. Otherwise
    /// `fill` writes into bytes of their own, the cheaper path for small
    /// items, and the rare large item is copied into a slab once.
    pub(crate) fn produce(&self, limit: usize, fill: &mut Fill<'_>) -> Result<Produced, RawSendError> {
        let expecting = self.expect_large.load(Ordering::Relaxed);
        let produced = if expecting > 0 {
            self.produce_in_slab(limit, fill)
        } else {
            self.produce_inline(limit, fill)
        }?;
        let next = match &produced {
            Produced::Shared(_) => LARGE_RUN,
            Produced::Inline(frame) if frame.len() > SHARED_THRESHOLD => LARGE_RUN,
            Produced::Inline(_) => expecting.saturating_sub(1),
        };
        if next != expecting {
            self.expect_large.store(next, Ordering::Relaxed);
        }
        Ok(produced)
    }

    /// Writes into a free slab; keeps the item there if it is large.
    fn produce_in_slab(&self, limit: usize, fill: &mut Fill<'_>) -> Result<Produced, RawSendError> {
        let Some(slab) = self.take() else {
            return transport_core::fill_aligned(limit, fill).map(Produced::Inline);
        };
        // SAFETY: `take` gave this thread the slab's lease: it is on no free
        // list and in no item until this returns it.
        let written = unsafe { slab.fill(limit, fill) };
        self.keep_if_large(slab, written, None)
    }

    /// Writes into bytes of its own; moves a large item into a free slab.
    fn produce_inline(&self, limit: usize, fill: &mut Fill<'_>) -> Result<Produced, RawSendError> {
        let frame = transport_core::fill_aligned(limit, fill)?;
        if frame.len() <= SHARED_THRESHOLD {
            return Ok(Produced::Inline(frame));
        }
        let Some(slab) = self.take() else {
            return Ok(Produced::Inline(frame));
        };
        // SAFETY: as in `produce_in_slab`.
        let written = unsafe { slab.write(frame.as_slice()) };
        self.keep_if_large(slab, written, Some(frame))
    }

    /// The slab with an item written into it: kept if the item is large,
    /// freed (the item copied out of it, unless `frame` has it already)
    /// otherwise or if the write failed.
    fn keep_if_large(
        &self,
        slab: Arc<Slab>,
        written: Result<usize, RawSendError>,
        frame: Option<QueueFrame>,
    ) -> Result<Produced, RawSendError> {
        match written {
            Ok(len) if len > SHARED_THRESHOLD => Ok(Produced::Shared(Written { slab, len })),
            Ok(len) => {
                let frame = frame.unwrap_or_else(|| slab.copy(len));
                self.give_back(slab.tag);
                Ok(Produced::Inline(frame))
            }
            Err(e) => {
                self.give_back(slab.tag);
                match frame {
                    Some(frame) => Ok(Produced::Inline(frame)),
                    None => Err(e),
                }
            }
        }
    }
}

/// Checks a descriptor a member sent as the slab of an item of `len` bytes:
/// shared memory, sealed as every slab is, of a size within `limit` that
/// covers the item.
pub(crate) fn check(fd: &OwnedFd, len: u64, limit: usize) -> Result<(), Violation> {
    let raw = fd.as_raw_fd();
    // SAFETY: plain system call on a descriptor this process holds.
    let seals = unsafe { libc::fcntl(raw, libc::F_GET_SEALS) };
    if seals < 0 {
        return Err(Violation::new("a slab that is not shared memory"));
    }
    if seals & REQUIRED_SEALS != REQUIRED_SEALS || seals & WRITE_SEALS == 0 {
        return Err(Violation::new(format!(
            "a slab without the seals that keep it as it is (seals {seals:#x})"
        )));
    }
    let size = file_size(raw).map_err(|e| Violation::new(format!("a slab that cannot be examined: {e}")))?;
    if size > limit as u64 {
        return Err(Violation::new(format!(
            "a slab of {size} bytes, past the limit of {limit}"
        )));
    }
    if len > size {
        return Err(Violation::new(format!(
            "an item of {len} bytes in a slab of {size}"
        )));
    }
    Ok(())
}

/// A regular file's (device, inode, size).
fn stat(fd: RawFd) -> io::Result<(u64, u64, u64)> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` has room for a `stat`; the kernel fills it.
    cvt(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: `fstat` succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(io::Error::other("not a regular file"));
    }
    let size = u64::try_from(st.st_size).map_err(|_| io::Error::other("a negative size"))?;
    Ok((st.st_dev, st.st_ino, size))
}

fn file_size(fd: RawFd) -> io::Result<u64> {
    stat(fd).map(|(_, _, size)| size)
}

/// Another process's slab, mapped for reading.
struct Mapped {
    id: (u64, u64),
    map: NonNull<u8>,
    size: usize,
    /// When it was last used (a count of copies).
    used: u64,
}

// SAFETY: a read-only mapping owned by this value.
unsafe impl Send for Mapped {}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: the mapping was made with this size; nothing points into
        // it once this value is dropped (copies never keep references).
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.size) };
    }
}

/// Copies items out of other processes' slabs, keeping the last
/// [`READER_CACHE`] slabs it read mapped (a slab is mapped once, and its
/// pages stay in the mapping, however many items pass through it).
#[derive(Default)]
pub(crate) struct SlabReader {
    mapped: Vec<Mapped>,
    uses: u64,
}

impl std::fmt::Debug for SlabReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlabReader")
            .field("mapped", &self.mapped.len())
            .finish()
    }
}

impl SlabReader {
    /// Copies the first `len` bytes of the slab `fd` into a buffer of this
    /// process's own. The slab is checked as [`check`] does (within
    /// `limit`). The producer may still write to its slab (only a
    /// misbehaving one would, while the item is out): the copy is made
    /// through raw pointers, never a reference to the shared bytes, and is
    /// what gets validated.
    pub(crate) fn copy_out(&mut self, fd: &OwnedFd, len: u64, limit: usize) -> io::Result<QueueFrame> {
        check(fd, len, limit).map_err(|v| io::Error::other(v.to_string()))?;
        let (dev, ino, size) = stat(fd.as_raw_fd())?;
        let len = usize::try_from(len).map_err(|_| io::Error::other("an item past the address space"))?;
        let size = usize::try_from(size).map_err(|_| io::Error::other("a slab past the address space"))?;
        self.uses += 1;
        let at = match self.mapped.iter().position(|m| m.id == (dev, ino)) {
            Some(at) => at,
            None => self.map(fd, (dev, ino), size)?,
        };
        let m = &mut self.mapped[at];
        m.used = self.uses;
        let mut frame = AlignedVec::<FRAME_ALIGN>::with_capacity(len);
        // SAFETY: `len <= size` (checked), the mapping covers `size` bytes
        // and its size cannot shrink (the seals), and `frame` has room for
        // `len` bytes; the bytes are copied as plain bytes and set as the
        // frame's length only once all are there.
        unsafe {
            std::ptr::copy_nonoverlapping(m.map.as_ptr(), frame.as_mut_ptr(), len);
            frame.set_len(len);
        }
        Ok(frame)
    }

    /// Maps a slab not seen yet (forgetting the least recently used one
    /// past [`READER_CACHE`]); its place.
    fn map(&mut self, fd: &OwnedFd, id: (u64, u64), size: usize) -> io::Result<usize> {
        if size == 0 {
            return Err(io::Error::other("an empty slab"));
        }
        // SAFETY: a new read-only shared mapping of the whole file, whose
        // size is sealed.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mapped = Mapped {
            id,
            map: NonNull::new(map.cast()).ok_or_else(|| io::Error::other("a mapping at address 0"))?,
            size,
            used: self.uses,
        };
        if self.mapped.len() >= READER_CACHE {
            if let Some(oldest) = (0..self.mapped.len()).min_by_key(|&i| self.mapped[i].used) {
                self.mapped.swap_remove(oldest);
            }
        }
        self.mapped.push(mapped);
        Ok(self.mapped.len() - 1)
    }
}

/// A checked slab of another process, as the hub holds it: the
/// descriptor, the producer's tag, the item's length.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) fd: OwnedFd,
    pub(crate) tag: u64,
    pub(crate) len: usize,
}

/// The bytes of a shared item, as the hub holds them.
#[derive(Debug)]
pub(crate) enum Segment {
    /// In a slab of this process.
    Own(Written),
    /// In a member's slab.
    Theirs(Received),
}

impl Segment {
    /// The item's length.
    pub(crate) fn len(&self) -> usize {
        match self {
            Segment::Own(w) => w.len,
            Segment::Theirs(r) => r.len,
        }
    }

    /// The producer's tag for the slab.
    pub(crate) fn tag(&self) -> u64 {
        match self {
            Segment::Own(w) => w.slab.tag(),
            Segment::Theirs(r) => r.tag,
        }
    }

    /// The slab's descriptor.
    pub(crate) fn raw_fd(&self) -> RawFd {
        match self {
            Segment::Own(w) => w.slab.fd.as_raw_fd(),
            Segment::Theirs(r) => r.fd.as_raw_fd(),
        }
    }

    /// A copy of the item in memory of this process's own (a member's slab
    /// through `reader`, checked against `limit`).
    pub(crate) fn copy_out(&self, reader: &mut SlabReader, limit: usize) -> io::Result<QueueFrame> {
        match self {
            Segment::Own(w) => Ok(w.copy()),
            Segment::Theirs(r) => reader.copy_out(&r.fd, r.len as u64, limit),
        }
    }
}

/// A shared item on its way to a member: its segment, and the ticket the
/// member gives back once it copied the item out.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) segment: Segment,
    pub(crate) ticket: u64,
}

impl Outgoing {
    pub(crate) fn new(segment: Segment, ticket: u64) -> Outgoing {
        Outgoing { segment, ticket }
    }
}

impl From<Written> for Segment {
    fn from(w: Written) -> Self {
        Segment::Own(w)
    }
}

impl From<Received> for Segment {
    fn from(r: Received) -> Self {
        Segment::Theirs(r)
    }
}
