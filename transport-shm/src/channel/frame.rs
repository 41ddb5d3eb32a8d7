//! A received message, held in its lane until dropped, or copied out.

use std::{
    collections::BTreeMap,
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering},
    },
};
use transport_core::sync::LockExt;

use rkyv::util::AlignedVec;
use transport_core::backend::{FRAME_ALIGN, Frame};

use super::chan::Chan;

/// What the receiver and its frames share: the channel, each lane's head,
/// and the releases that arrived out of order.
#[derive(Debug)]
pub(crate) struct RxShared {
    pub(crate) chan: Arc<Chan>,
    /// Per lane: the first position not yet released. This is the head;
    /// the lane's shared word is only ever written from it, never read back
    /// (a peer may rewrite that word: it costs the peer its room, never
    /// this process a release).
    heads: Box<[AtomicU64]>,
    /// Per lane: start → end of records released before an earlier one.
    /// Each entry is a record that was handed out (or a wrap the receiver
    /// passed) and not yet covered by the head, so the map holds at most
    /// the frames alive at once plus a wrap per lap they span.
    pending: Mutex<Vec<BTreeMap<u64, u64>>>,
    pending_count: AtomicUsize,
}

impl RxShared {
    /// The state of a receiver whose lanes' heads are `heads` (read once
    /// and checked when it opened).
    pub(crate) fn new(chan: Arc<Chan>, heads: &[u64]) -> RxShared {
        let lanes = chan.geo.lanes;
        RxShared {
            chan,
            heads: heads.iter().map(|&h| AtomicU64::new(h)).collect(),
            pending: Mutex::new(vec![BTreeMap::new(); lanes]),
            pending_count: AtomicUsize::new(0),
        }
    }

    /// Gives the bytes [start, end) of `lane` back to its producer. Frames
    /// may be dropped in any order and on any thread: the head moves only
    /// over released records.
    ///
    /// One record starts at each head position and its frame is released
    /// once, so only the release of the record at the head moves the head
    /// here, with a plain load and store; one that finds another position
    /// parks its record under the lock, and whoever moves the head onto a
    /// parked record moves it on. The one read-modify-write is the swap
    /// that publishes the head (as the old compare-and-swap on the shared
    /// word was): it orders the head before `pending_count` is read,
    /// against a release that parks (it counts, then looks at the head
    /// after the shared word), and before the producer's sleeping flag.
    pub(crate) fn release(&self, lane: usize, start: u64, end: u64) {
        let head = &self.heads[lane];
        let advanced = head.load(Ordering::Acquire) == start;
        if advanced {
            head.store(end, Ordering::Release);
        }
        self.publish(lane);
        if !advanced || self.pending_count.load(Ordering::SeqCst) != 0 {
            let mut pending = self.pending.lock_unpoisoned();
            if !advanced {
                pending[lane].insert(start, end);
                self.pending_count.fetch_add(1, Ordering::SeqCst);
            }
            for (l, map) in pending.iter_mut().enumerate() {
                if map.is_empty() {
                    continue;
                }
                // Synchronises with the last publication of this head: a
                // release that moved it (and read no parked count) swapped
                // the shared word after its store.
                self.chan.lane(l).head.load(Ordering::SeqCst);
                let mut moved = false;
                loop {
                    let h = self.heads[l].load(Ordering::Acquire);
                    let Some(end) = map.remove(&h) else { break };
                    // The record at `h` is parked: nobody else moves the
                    // head from there.
                    self.heads[l].store(end, Ordering::Release);
                    self.pending_count.fetch_sub(1, Ordering::SeqCst);
                    moved = true;
                }
                if moved {
                    self.publish(l);
                    if l != lane && !self.chan.busy {
                        let ctl = self.chan.lane(l);
                        self.chan.wake_sleepers(&ctl.space_seq, &ctl.tx_sleeping);
                    }
                }
            }
        }
        if !self.chan.busy {
            let ctl = self.chan.lane(lane);
            self.chan.wake_sleepers(&ctl.space_seq, &ctl.tx_sleeping);
        }
    }

    /// Writes lane `lane`'s head to its shared word. Two threads that
    /// released records may publish in either order: a swap that takes out
    /// a newer publication synchronises with it, so the head read after
    /// the swap is at least that new, and is published in turn; the word
    /// ends at the newest head.
    fn publish(&self, lane: usize) {
        let word = &self.chan.lane(lane).head;
        let head = &self.heads[lane];
        let mut h = head.load(Ordering::Acquire);
        loop {
            word.swap(h, Ordering::SeqCst);
            let now = head.load(Ordering::Acquire);
            if now == h {
                break;
            }
            h = now;
        }
    }

    /// The records of every lane released out of order and not yet under
    /// their head (for tests and the fuzz targets).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn parked(&self) -> usize {
        self.pending_count.load(Ordering::SeqCst)
    }
}

/// The bytes of one received message.
///
/// By default it reads the message where the sender wrote it and holds that
/// part of the ring until it is dropped (the sender cannot reuse it before).
/// In untrusted mode it is a private, aligned copy.
pub struct ShmFrame(Inner);

enum Inner {
    InPlace {
        rx: Arc<RxShared>,
        lane: usize,
        start: u64,
        end: u64,
        ptr: *const u8,
        len: usize,
    },
    Copied(AlignedVec<FRAME_ALIGN>),
}

// SAFETY: the pointer refers to the mapping that `rx` keeps alive, and the
// bytes are never written while the frame lives (see the `Frame` impl), so
// the frame can move to, and be read from, any thread.
unsafe impl Send for ShmFrame {}
// SAFETY: as above; `&ShmFrame` only gives shared access to immutable bytes.
unsafe impl Sync for ShmFrame {}

impl fmt::Debug for ShmFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, len) = match &self.0 {
            Inner::InPlace { len, .. } => ("in place", *len),
            Inner::Copied(v) => ("copied", v.len()),
        };
        f.debug_struct("ShmFrame")
            .field("kind", &kind)
            .field("len", &len)
            .finish()
    }
}

impl ShmFrame {
    /// A frame over `len` bytes at `ptr` in `lane`, whose record spans
    /// [start, end).
    ///
    /// # Safety
    /// `ptr..ptr + len` lies in the lane's data, inside the published and
    /// unreleased record [start, end), which nobody writes until this frame
    /// releases it.
    pub(crate) unsafe fn in_place(
        rx: Arc<RxShared>,
        lane: usize,
        start: u64,
        end: u64,
        ptr: *const u8,
        len: usize,
    ) -> Self {
        ShmFrame(Inner::InPlace {
            rx,
            lane,
            start,
            end,
            ptr,
            len,
        })
    }

    /// A private copy of `len` bytes at `ptr`, read with atomic loads so that
    /// a peer writing them at the same time cannot cause a data race. Bytes
    /// before the first 8-aligned address are read one by one: no load is
    /// ever misaligned, whatever `ptr` is.
    ///
    /// # Safety
    /// `ptr..ptr + len` is mapped memory.
    pub(crate) unsafe fn copied(ptr: *const u8, len: usize) -> Self {
        let mut copy = AlignedVec::<FRAME_ALIGN>::with_capacity(len);
        let head = ptr.align_offset(8).min(len);
        let byte = |i: usize| {
            // SAFETY: `i < len`, within the range the caller vouches for;
            // AtomicU8 has the layout of u8 and no alignment to keep.
            unsafe { (*(ptr.add(i) as *const AtomicU8)).load(Ordering::Relaxed) }
        };
        for i in 0..head {
            copy.push(byte(i));
        }
        let words = (len - head) / 8;
        for w in 0..words {
            // SAFETY: within the range; `ptr + head` is 8-aligned, so every
            // word is; AtomicU64 has the layout of u64.
            let v = unsafe { (*(ptr.add(head + w * 8) as *const AtomicU64)).load(Ordering::Relaxed) };
            copy.extend_from_slice(&v.to_ne_bytes());
        }
        for i in head + words * 8..len {
            copy.push(byte(i));
        }
        ShmFrame(Inner::Copied(copy))
    }

    /// Whether the frame reads shared memory in place (not a copy).
    pub fn is_in_place(&self) -> bool {
        matches!(self.0, Inner::InPlace { .. })
    }
}

// SAFETY: an in-place frame's bytes lie in a record the producer published
// (a release store of the lane's tail, acquired by the receiver) and cannot
// reuse before this frame releases it on drop: the producer only writes past
// its tail and below the head, and the head moves past this record only in
// `Drop`. So the slice is the same at every call and, under the trust model
// (peers follow the protocol; a dead peer writes nothing), nobody writes it.
// A copied frame owns its buffer.
unsafe impl Frame for ShmFrame {
    fn bytes(&self) -> &[u8] {
        match &self.0 {
            // SAFETY: see the impl's comment; `rx` keeps the mapping alive.
            Inner::InPlace { ptr, len, .. } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
            Inner::Copied(v) => v.as_slice(),
        }
    }
}

impl Drop for ShmFrame {
    fn drop(&mut self) {
        if let Inner::InPlace {
            rx, lane, start, end, ..
        } = &self.0
        {
            rx.release(*lane, *start, *end);
        }
    }
}
