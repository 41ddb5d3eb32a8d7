//! The ring as every end sees it: the channel's segment, its slots, and
//! what one look at a position finds there.

use std::sync::{Arc, atomic::AtomicU64, atomic::Ordering};

use super::state::{Holder, Kind, SlotState, lap_distance};
use crate::{
    channel::{
        chan::Chan,
        config::{ShmConfig, WaitMode},
        layout::FLAG_MPMC,
    },
    error::SegmentError,
    segment::Attachment,
};

/// Bytes of a slot's header: its state word and the message length.
pub(crate) const SLOT_HEADER: usize = 16;
/// The largest message a multi-consumer channel takes.
pub const MPMC_MAX_MESSAGE_SIZE: usize = 1 << 20;
/// The fewest slots of a channel without a capacity.
const MIN_SLOTS: usize = 16;
/// The most slots of a channel without a capacity.
const MAX_DEFAULT_SLOTS: usize = 4096;
/// The most slots of any channel.
pub(crate) const MAX_SLOTS: usize = 1 << 24;

/// The bytes from one slot to the next, for messages up to `limit` bytes.
pub(crate) fn stride(limit: usize) -> Option<usize> {
    limit.checked_add(SLOT_HEADER + 63).map(|n| n & !63)
}

/// What makes a ring's channel segment: [`Chan::create`], or a heap one
/// for the fuzz targets.
pub(crate) type MakeChannel = fn(&ShmConfig) -> Result<(Arc<Chan>, Attachment), SegmentError>;

/// A mapped multi-consumer ring.
#[derive(Debug)]
pub(crate) struct Ring {
    pub(crate) chan: Arc<Chan>,
    /// How many slots.
    pub(crate) slots: usize,
    /// Bytes from one slot to the next.
    stride: usize,
}

/// What a producer finds at the position it would write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtWrite {
    /// The slot is free for this position: claim it (the word as read).
    Claim(u64),
    /// Another producer took the position: move the shared position on.
    Help,
    /// The slot still holds the last lap's message: the ring is full.
    Full,
    /// The slot is held by a participant that died: free it (the word as
    /// read).
    Dead(u64),
    /// The words are no ring's.
    Broken(&'static str),
}

/// What a consumer finds at the position it would read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtRead {
    /// A published message: claim it (the word as read).
    Take(u64),
    /// Another consumer took the position: move the shared position on.
    Help,
    /// Nothing published here yet.
    Empty,
    /// A producer that died left the slot half written: skip it (the word
    /// as read).
    DeadWriter(u64),
    /// A consumer that died still holds last lap's message: free it (the
    /// word as read).
    DeadReader(u64),
    /// The words are no ring's.
    Broken(&'static str),
}

impl Ring {
    /// Creates a ring for `cfg` in a segment that `channel` makes (a
    /// channel's, or a heap one for the fuzz targets): the creator is its
    /// first sender.
    pub(crate) fn create(cfg: &ShmConfig, channel: MakeChannel) -> Result<(Ring, Attachment), SegmentError> {
        let limit = cfg.max_message_size.min(MPMC_MAX_MESSAGE_SIZE);
        let too_large = SegmentError::TooLarge { size: limit };
        let stride = stride(limit).ok_or(too_large)?;
        let slots = match cfg.capacity {
            Some(c) => c,
            None => (cfg.buffer_bytes / stride).clamp(MIN_SLOTS, MAX_DEFAULT_SLOTS),
        };
        let bytes = slots
            .checked_mul(stride)
            .ok_or(SegmentError::TooLarge { size: usize::MAX })?;
        let ring_cfg = ShmConfig {
            capacity: Some(slots),
            max_message_size: limit,
            buffer_bytes: bytes,
            max_producers: 1,
            wait_mode: WaitMode::Blocking,
            untrusted: false,
        };
        let (chan, att) = channel(&ring_cfg)?;
        chan.header().flags.store(FLAG_MPMC, Ordering::Release);
        let ring = Ring { chan, slots, stride };
        // Every slot free for lap 0 (the word a new segment's zeroed bytes
        // already hold, written so the layout does not rely on it). No other
        // process has the segment yet: its name leaves this one only in a
        // hand-off, after this.
        for i in 0..slots {
            ring.state(i)
                .store(SlotState::free(0).encode(), Ordering::Relaxed);
        }
        std::sync::atomic::fence(Ordering::SeqCst);
        Ok((ring, att))
    }

    /// Maps the ring of an opened channel, checking its geometry.
    pub(crate) fn open(chan: Arc<Chan>) -> Result<Ring, SegmentError> {
        let invalid = |reason: &str| SegmentError::Invalid {
            name: chan.seg.name().into(),
            reason: reason.into(),
        };
        if chan.header().flags.load(Ordering::Acquire) != FLAG_MPMC {
            return Err(invalid("it is not a multi-consumer channel"));
        }
        let g = chan.geo;
        let slots = usize::try_from(g.capacity).unwrap_or(usize::MAX);
        let stride = stride(g.limit).ok_or_else(|| invalid("its message size is impossible"))?;
        let fits = g.lanes == 1
            && (1..=MAX_SLOTS).contains(&slots)
            && g.limit <= MPMC_MAX_MESSAGE_SIZE
            && slots.checked_mul(stride).is_some_and(|b| b <= g.lane_bytes);
        if !fits {
            return Err(invalid("its ring geometry is inconsistent"));
        }
        Ok(Ring { chan, slots, stride })
    }

    /// The largest message.
    pub(crate) fn limit(&self) -> usize {
        self.chan.geo.limit
    }

    /// The next position to write (shared, a hint: producers help it on).
    pub(crate) fn enq(&self) -> &AtomicU64 {
        &self.chan.lane(0).tail
    }

    /// The next position to read (shared, a hint: consumers help it on).
    pub(crate) fn deq(&self) -> &AtomicU64 {
        &self.chan.lane(0).head
    }

    /// The slot and lap of position `p`.
    pub(crate) fn place(&self, p: u64) -> (usize, u64) {
        let n = self.slots as u64;
        ((p % n) as usize, p / n)
    }

    fn slot(&self, i: usize) -> *mut u8 {
        assert!(i < self.slots, "slot {i} out of range");
        // SAFETY: `open`/`create` checked that `slots × stride` bytes fit in
        // lane 0's data, and `i < slots`.
        unsafe { self.chan.lane_data(0).add(i * self.stride) }
    }

    /// Slot `i`'s state word.
    pub(crate) fn state(&self, i: usize) -> &AtomicU64 {
        // SAFETY: a slot starts 64-aligned (lane data is page-aligned, the
        // stride a multiple of 64) with its header inside the ring.
        unsafe { &*(self.slot(i) as *const AtomicU64) }
    }

    /// Slot `i`'s message length word.
    pub(crate) fn len_word(&self, i: usize) -> &AtomicU64 {
        // SAFETY: as for `state`; the length is the second word.
        unsafe { &*(self.slot(i).add(8) as *const AtomicU64) }
    }

    /// Slot `i`'s message bytes: `limit` of them, 16-aligned.
    pub(crate) fn data(&self, i: usize) -> *mut u8 {
        // SAFETY: the stride holds the header and `limit` bytes.
        unsafe { self.slot(i).add(SLOT_HEADER) }
    }

    /// Whether `holder` is a live participant.
    fn alive(&self, holder: Option<Holder>) -> bool {
        holder.is_some_and(|h| {
            self.chan
                .seg
                .participant_alive_masked(h.index, u32::from(h.nonce), 0xFFFF)
        })
    }

    /// One look at position `p` for a producer.
    pub(crate) fn at_write(&self, p: u64) -> AtWrite {
        let (slot, lap) = self.place(p);
        let word = self.state(slot).load(Ordering::Acquire);
        let s = match SlotState::decode(word) {
            Ok(s) => s,
            Err(e) => return AtWrite::Broken(e),
        };
        match (s.kind, lap_distance(s.lap, lap)) {
            (Kind::Free, 0) => AtWrite::Claim(word),
            (_, 1..) | (Kind::Writing | Kind::Full | Kind::Reading, 0) => AtWrite::Help,
            (Kind::Full, -1) => AtWrite::Full,
            (Kind::Writing | Kind::Reading, -1) => {
                if self.alive(s.holder) {
                    AtWrite::Full
                } else {
                    AtWrite::Dead(word)
                }
            }
            _ => AtWrite::Broken("a slot is behind the position to write"),
        }
    }

    /// One look at position `d` for a consumer.
    pub(crate) fn at_read(&self, d: u64) -> AtRead {
        let (slot, lap) = self.place(d);
        let word = self.state(slot).load(Ordering::Acquire);
        let s = match SlotState::decode(word) {
            Ok(s) => s,
            Err(e) => return AtRead::Broken(e),
        };
        match (s.kind, lap_distance(s.lap, lap)) {
            (Kind::Full, 0) => AtRead::Take(word),
            (Kind::Reading, 0) | (_, 1..) => AtRead::Help,
            (Kind::Free, 0) => AtRead::Empty,
            (Kind::Writing, 0) => {
                if self.alive(s.holder) {
                    AtRead::Empty
                } else {
                    AtRead::DeadWriter(word)
                }
            }
            (Kind::Reading, -1) => {
                if self.alive(s.holder) {
                    AtRead::Empty
                } else {
                    AtRead::DeadReader(word)
                }
            }
            _ => AtRead::Broken("a slot is behind the position to read"),
        }
    }

    /// Sets slot `slot`'s word from `from` to `to`; whether it was `from`.
    pub(crate) fn swap_state(&self, slot: usize, from: u64, to: SlotState) -> bool {
        self.state(slot)
            .compare_exchange(from, to.encode(), Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
    }

    /// Moves the shared position `word` from `p` to `p + 1`, unless someone
    /// already did.
    pub(crate) fn advance(word: &AtomicU64, p: u64) {
        let _ = word.compare_exchange(p, p.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed);
    }

    /// Wakes the consumers that sleep (a message, or a slot skipped).
    pub(crate) fn wake_consumers(&self) {
        let h = self.chan.header();
        self.chan.wake_sleepers(&h.data_seq, &h.rx_sleeping);
    }

    /// Wakes the producers that sleep (a slot freed).
    pub(crate) fn wake_producers(&self) {
        let l = self.chan.lane(0);
        self.chan.wake_sleepers(&l.space_seq, &l.tx_sleeping);
    }

    /// Messages queued, about (the positions move while they are read):
    /// published or being written, not yet taken.
    pub(crate) fn queued(&self) -> usize {
        let d = self.deq().load(Ordering::Acquire);
        let e = self.enq().load(Ordering::Acquire);
        usize::try_from(e.saturating_sub(d))
            .unwrap_or(usize::MAX)
            .min(self.slots)
    }
}

/// The holder word of an attachment.
pub(crate) fn holder_of(att: &Attachment) -> Holder {
    Holder {
        index: att.index(),
        nonce: att.nonce() as u16,
    }
}
