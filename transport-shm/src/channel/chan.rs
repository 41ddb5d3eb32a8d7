//! The channel as both ends see it: the segment, its geometry, and the
//! waiting and liveness logic they share.

use std::{
    hint,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use transport_core::backend::Wait;

use super::{
    config::{ShmConfig, WaitMode},
    layout::{
        ChannelHeader, FLAG_BUSY_POLL, Geometry, LaneCtl, RECORD_HEADER, ROLE_RECEIVER, ROLE_SENDER,
        record_len,
    },
};
use crate::{
    error::SegmentError,
    segment::{Attachment, Kind, Segment},
};

/// How often a waiting end re-checks that its peers are alive.
pub const LIVENESS_PERIOD: Duration = Duration::from_millis(50);
/// How long a blocking-mode end spins before it sleeps.
const SPIN_TIME: Duration = Duration::from_micros(30);
/// How much of that it spins without giving up its CPU; after it, each
/// look follows a yield to any other thread ready to run there, so that
/// where busy threads outnumber the CPUs (a pool's workers and their
/// readers) the waiter does not hold a CPU the thread it waits for needs.
const PURE_SPIN_TIME: Duration = Duration::from_micros(5);
/// How long `poll_*_ready` spins before it registers with the bridge
/// thread, so that a busy exchange never pays the two wake-ups (peer to
/// bridge, bridge to task) of a registered wait.
pub(crate) const POLL_SPIN: Duration = Duration::from_micros(30);

/// The most pauses between two polls of a [`Backoff::Growing`] wait.
const MAX_BACKOFF_PAUSES: u32 = 64;

/// How a spinning wait paces its polls; see [`Chan::wait_for`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backoff {
    /// A poll every two pauses.
    Eager,
    /// Twice the pauses after every empty poll, up to
    /// [`MAX_BACKOFF_PAUSES`].
    Growing,
}

/// A mapped channel.
#[derive(Debug)]
pub(crate) struct Chan {
    pub(crate) seg: Arc<Segment>,
    pub(crate) geo: Geometry,
    pub(crate) busy: bool,
}

impl Chan {
    /// Creates a channel's segment; the creator is its first sender, on
    /// lane 0.
    pub(crate) fn create(cfg: &ShmConfig) -> Result<(Arc<Chan>, Attachment), SegmentError> {
        Self::create_with(cfg, Segment::create)
    }

    /// As [`create`](Self::create), in a heap segment laid out the same way
    /// (for the fuzz targets).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn create_on_heap(cfg: &ShmConfig) -> Result<(Arc<Chan>, Attachment), SegmentError> {
        Self::create_with(cfg, Segment::create_on_heap)
    }

    fn create_with(
        cfg: &ShmConfig,
        segment: fn(Kind, usize, u32) -> Result<Attachment, SegmentError>,
    ) -> Result<(Arc<Chan>, Attachment), SegmentError> {
        let lanes = cfg.max_producers.max(1);
        let capacity = cfg.capacity.map_or(0, |c| c as u64);
        let geo = Geometry::new(lanes, cfg.buffer_bytes, cfg.max_message_size, capacity)?;
        let payload = geo
            .payload_len()
            .ok_or(SegmentError::TooLarge { size: usize::MAX })?;
        let att = segment(Kind::Channel, payload, ROLE_SENDER)?;
        let chan = Chan {
            seg: Arc::clone(att.segment()),
            geo,
            busy: cfg.wait_mode == WaitMode::BusyPoll,
        };
        let h = chan.header();
        h.lanes.store(lanes as u32, Ordering::Relaxed);
        h.flags
            .store(if chan.busy { FLAG_BUSY_POLL } else { 0 }, Ordering::Relaxed);
        h.lane_bytes.store(geo.lane_bytes as u64, Ordering::Relaxed);
        h.watermark.store(geo.watermark as u64, Ordering::Relaxed);
        h.limit.store(geo.limit as u64, Ordering::Relaxed);
        h.capacity.store(capacity, Ordering::Relaxed);
        chan.lane(0)
            .owner
            .store(owner_word(att.index(), att.nonce()), Ordering::Release);
        chan.prefault(0);
        Ok((Arc::new(chan), att))
    }

    /// Maps the channel of an opened segment, checking its geometry.
    pub(crate) fn open(seg: Arc<Segment>) -> Result<Arc<Chan>, SegmentError> {
        let invalid = |reason: &str| SegmentError::Invalid {
            name: seg.name().into(),
            reason: reason.into(),
        };
        if seg.payload_len() < Geometry::ctl_offset() {
            return Err(invalid("it is too small for a channel"));
        }
        // SAFETY: the payload holds at least a ChannelHeader (checked above),
        // is page-aligned, and the header is all atomics.
        let h = unsafe { &*(seg.payload() as *const ChannelHeader) };
        let geo = Geometry {
            lanes: h.lanes.load(Ordering::Relaxed) as usize,
            lane_bytes: h.lane_bytes.load(Ordering::Relaxed) as usize,
            watermark: h.watermark.load(Ordering::Relaxed) as usize,
            limit: h.limit.load(Ordering::Relaxed) as usize,
            capacity: h.capacity.load(Ordering::Relaxed),
        };
        if !geo.fits(seg.payload_len()) {
            return Err(invalid("its channel geometry is inconsistent"));
        }
        let busy = h.flags.load(Ordering::Relaxed) & FLAG_BUSY_POLL != 0;
        Ok(Arc::new(Chan { seg, geo, busy }))
    }

    /// Touches the buffer pages of lane `i`, so the first messages do not
    /// pay a page fault each.
    fn prefault(&self, i: usize) {
        let data = self.lane_data(i);
        for off in (0..self.geo.watermark).step_by(4096) {
            // SAFETY: `off` is below the watermark, inside the lane; nobody
            // else uses the new segment yet, and an atomic store is a
            // well-defined write to shared memory.
            unsafe { (*(data.add(off) as *const AtomicU8)).store(0, Ordering::Relaxed) };
        }
    }

    /// The channel header.
    pub(crate) fn header(&self) -> &ChannelHeader {
        // SAFETY: checked to fit in `create`/`open`; all atomics.
        unsafe { &*(self.seg.payload() as *const ChannelHeader) }
    }

    /// Lane `i`'s control block.
    pub(crate) fn lane(&self, i: usize) -> &LaneCtl {
        assert!(i < self.geo.lanes, "lane {i} out of range");
        // SAFETY: `geo.fits` guarantees `lanes` control blocks after the
        // header, 128-aligned, inside the payload; all atomics.
        unsafe { &*(self.seg.payload().add(Geometry::ctl_offset()) as *const LaneCtl).add(i) }
    }

    /// Lane `i`'s first data byte.
    pub(crate) fn lane_data(&self, i: usize) -> *mut u8 {
        assert!(i < self.geo.lanes, "lane {i} out of range");
        // SAFETY: `geo.fits` guarantees `lanes × lane_bytes` data bytes from
        // `data_offset` inside the payload.
        unsafe {
            self.seg
                .payload()
                .add(self.geo.data_offset() + i * self.geo.lane_bytes)
        }
    }

    /// The record header word at byte `off` of lane `i`.
    ///
    /// # Panics
    /// If `off` is not a record boundary inside the lane (callers compute
    /// offsets from checked positions only, so this is a bug, never peer
    /// input; one predictable branch rather than a misaligned read).
    pub(crate) fn record_header(&self, i: usize, off: usize) -> &AtomicU64 {
        assert!(
            off % 16 == 0 && off + RECORD_HEADER <= self.geo.lane_bytes,
            "record offset {off}"
        );
        // SAFETY: `off` is 16-aligned and a record header's bytes are within
        // the lane (checked above).
        unsafe { &*(self.lane_data(i).add(off) as *const AtomicU64) }
    }

    /// The stamp word of the record at byte `off` of lane `i` (see
    /// [`stamp`](super::layout::stamp)).
    ///
    /// # Panics
    /// As [`record_header`](Self::record_header).
    pub(crate) fn record_stamp(&self, i: usize, off: usize) -> &AtomicU64 {
        assert!(
            off % 16 == 0 && off + RECORD_HEADER <= self.geo.lane_bytes,
            "record offset {off}"
        );
        // SAFETY: as for `record_header`; the stamp is its second word.
        unsafe { &*(self.lane_data(i).add(off + 8) as *const AtomicU64) }
    }

    /// Whether lane `i`'s owner word names a live participant.
    pub(crate) fn owner_alive(&self, owner: u64) -> bool {
        owner != 0
            && self
                .seg
                .participant_alive((owner as u32 as usize).wrapping_sub(1), (owner >> 32) as u32)
    }

    /// Takes a free lane (or one whose producer is gone) for participant
    /// `index` with `nonce`.
    pub(crate) fn claim_lane(&self, index: usize, nonce: u32) -> Option<usize> {
        let me = owner_word(index, nonce);
        (0..self.geo.lanes).find(|&i| {
            let lane = self.lane(i);
            let cur = lane.owner.load(Ordering::Acquire);
            lane.closed.load(Ordering::Acquire) == 0
                && (cur == 0 || !self.owner_alive(cur))
                && lane
                    .owner
                    .compare_exchange(cur, me, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
        })
    }

    /// The lane owned by participant `index` with `nonce`.
    pub(crate) fn find_lane(&self, index: usize, nonce: u32) -> Option<usize> {
        let me = owner_word(index, nonce);
        (0..self.geo.lanes).find(|&i| self.lane(i).owner.load(Ordering::Acquire) == me)
    }

    /// The bytes from position `start` of a lane that its consumer, with its
    /// head at `head`, has released: a lane's worth past the head. Within
    /// one lap of the ring that is everything not queued; at the start of a
    /// new lap, the part of the last lap that the consumer has read.
    pub(crate) fn free(&self, start: u64, head: u64) -> usize {
        let free = head
            .saturating_add(self.geo.lane_bytes as u64)
            .saturating_sub(start);
        usize::try_from(free).unwrap_or(usize::MAX)
    }

    /// Whether a lane whose consumer's head is at `head` has bytes at
    /// position `start` for a record of a `len`-byte message plus a wrap
    /// marker after it. (The message capacity is the sender's to check:
    /// see `ShmSender::ends`.)
    pub(crate) fn room(&self, start: u64, head: u64, len: usize) -> bool {
        self.free(start, head) >= record_len(len) + RECORD_HEADER
    }

    /// Spins for at most [`POLL_SPIN`] until `ready` holds; whether it did.
    pub(crate) fn spin_until(&self, mut ready: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        let mut round = 0u32;
        loop {
            for _ in 0..4 {
                hint::spin_loop();
            }
            if ready() {
                return true;
            }
            round = round.wrapping_add(1);
            if round % 32 == 0 && start.elapsed() >= POLL_SPIN {
                return false;
            }
        }
    }

    /// Tells waiters that a participant left: they re-check who is alive.
    pub(crate) fn depart(&self) {
        let h = self.header();
        h.departures.fetch_add(1, Ordering::SeqCst);
        h.data_seq.fetch_add(1, Ordering::SeqCst);
        self.seg.wake(&h.data_seq, true);
        for i in 0..self.geo.lanes {
            let lane = self.lane(i);
            lane.space_seq.fetch_add(1, Ordering::SeqCst);
            self.seg.wake(&lane.space_seq, true);
        }
    }

    /// Waits as `wait` allows until `poll` gives a result, spinning first
    /// (only spinning in busy-poll mode), then sleeping on `word` with
    /// `sleeping` set, the flag the peer checks after each change (see
    /// [`Chan::wake_sleepers`]). `None` when the wait ran out.
    ///
    /// `backoff` is how a poll while spinning is paced. [`Backoff::Eager`]
    /// polls every few cycles, for a receiver waiting for the next message,
    /// whose latency is the point. [`Backoff::Growing`] doubles the pause
    /// between polls, for a producer waiting for a full ring: its polls read
    /// the consumer's cache line, and each one would make the consumer's
    /// next release fetch that line back; polling less lets the consumer
    /// drain at full speed, and the producer then refills a stretch of ring
    /// without reading it again.
    ///
    /// `poll` is told whether to check the peers' liveness against the
    /// clock: on a non-blocking call's only look, every 64th look while
    /// spinning and every look after a sleep, so a spinning wait does not
    /// read the clock on every look.
    pub(crate) fn wait_for<R>(
        &self,
        word: &AtomicU32,
        sleeping: &AtomicU32,
        wait: Wait,
        backoff: Backoff,
        mut poll: impl FnMut(bool) -> Option<R>,
    ) -> Option<R> {
        if let Some(r) = poll(wait == Wait::Never) {
            return Some(r);
        }
        let deadline = match wait {
            Wait::Never => return None,
            Wait::Until(d) => Some(d),
            Wait::Forever => None,
        };
        let start = Instant::now();
        let mut round = 0u32;
        let mut pauses = 2u32;
        let mut yielding = false;
        loop {
            if yielding {
                thread::yield_now();
            } else {
                for _ in 0..pauses {
                    hint::spin_loop();
                }
            }
            if let Some(r) = poll(round % 64 == 63) {
                return Some(r);
            }
            round = round.wrapping_add(1);
            if backoff == Backoff::Growing {
                pauses = (pauses * 2).min(MAX_BACKOFF_PAUSES);
            }
            // About every hundred pauses, and after every yield: look at
            // the clock.
            if yielding || round % (128 / pauses).max(1) == 0 {
                let now = Instant::now();
                if deadline.is_some_and(|d| now >= d) {
                    return None;
                }
                if !self.busy {
                    let spun = now - start;
                    if spun >= SPIN_TIME {
                        break;
                    }
                    yielding = spun >= PURE_SPIN_TIME;
                }
            }
        }
        loop {
            // The word, then the flag, then the condition: a peer that
            // changes the condition after our look finds the flag and bumps
            // the word past `seq`. Only the peer clears the flag (see
            // `wake_sleepers`); one that is left set after a look that
            // succeeded costs at most one spare wake-up call.
            let seq = word.load(Ordering::SeqCst);
            sleeping.store(1, Ordering::SeqCst);
            if let Some(r) = poll(true) {
                return Some(r);
            }
            let timeout = match deadline {
                None => LIVENESS_PERIOD,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    (d - now).min(LIVENESS_PERIOD)
                }
            };
            self.seg.wait(word, seq, Some(timeout));
        }
    }

    /// Wakes whoever sleeps on `word` if `sleeping` says someone may, after
    /// the caller made the change they wait for (with a `SeqCst` store or
    /// read-modify-write). It claims the flag as it does: while a woken
    /// sleeper is still on its way back to the CPU, the changes after this
    /// one find the flag clear and make no system call, so one sleep costs
    /// one wake-up call rather than one per message until the sleeper runs.
    pub(crate) fn wake_sleepers(&self, word: &AtomicU32, sleeping: &AtomicU32) {
        if sleeping.load(Ordering::SeqCst) != 0 && sleeping.swap(0, Ordering::SeqCst) != 0 {
            word.fetch_add(1, Ordering::SeqCst);
            // All: an end's thread and the async bridge may both sleep here
            // (a task that registered, then blocked), and a wake-up taken by
            // the wrong one would cost the other a liveness period. One
            // waiter or two cost the same call.
            self.seg.wake(word, true);
        }
    }
}

/// A lane owner word.
pub(crate) fn owner_word(index: usize, nonce: u32) -> u64 {
    (u64::from(nonce) << 32) | (index as u64 + 1)
}

/// Watches whether the other side of a channel is still there, without a
/// system call on the fast path: it re-checks when a participant left in an
/// orderly way (a counter in the header) or every [`LIVENESS_PERIOD`] (for
/// participants that were killed). Threads sharing an end share it: its
/// words are atomics, and two threads that check at once only look twice.
#[derive(Debug)]
pub(crate) struct Monitor {
    role: u32,
    /// For a sender: its lane, which the consumer may close.
    lane: Option<usize>,
    /// The header's departure count at the last check.
    departures: AtomicU32,
    /// When the participants were last looked at: nanoseconds after
    /// `since`, plus one; 0 for never.
    checked: AtomicU64,
    since: Instant,
    gone: AtomicBool,
}

impl Monitor {
    /// Watches the participants in `role`.
    pub(crate) fn new(role: u32) -> Monitor {
        Monitor {
            role,
            lane: None,
            departures: AtomicU32::new(u32::MAX),
            checked: AtomicU64::new(0),
            since: Instant::now(),
            gone: AtomicBool::new(false),
        }
    }

    /// Watches the receivers, and whether the receiver closed `lane`.
    pub(crate) fn receivers_of(lane: usize) -> Monitor {
        Monitor {
            lane: Some(lane),
            ..Monitor::new(ROLE_RECEIVER)
        }
    }

    /// Watches the senders.
    pub(crate) fn senders() -> Monitor {
        Monitor::new(ROLE_SENDER)
    }

    /// Makes the next timed [`gone`](Self::gone) look at the participants
    /// again (the bridge thread found them dead).
    pub(crate) fn expire(&self) {
        self.checked.store(0, Ordering::Relaxed);
    }

    /// Whether every participant in the role is gone (or, for a sender, its
    /// lane was closed). Cheap unless a departure happened (closing a lane
    /// counts as one), or `timed` and the period has passed.
    pub(crate) fn gone(&self, chan: &Chan, timed: bool) -> bool {
        if self.gone.load(Ordering::Relaxed) {
            return true;
        }
        let departures = chan.header().departures.load(Ordering::SeqCst);
        let mut check = departures != self.departures.load(Ordering::Relaxed);
        if !check && timed {
            let checked = self.checked.load(Ordering::Relaxed);
            check = checked == 0
                || self.nanos_since(Instant::now()).saturating_sub(checked - 1)
                    >= LIVENESS_PERIOD.as_nanos() as u64;
        }
        if check {
            self.departures.store(departures, Ordering::Relaxed);
            self.checked
                .store(self.nanos_since(Instant::now()) + 1, Ordering::Relaxed);
            let closed = self
                .lane
                .is_some_and(|i| chan.lane(i).closed.load(Ordering::Acquire) != 0);
            if closed || !chan.seg.role_alive(self.role) {
                transport_core::event!(
                    INFO,
                    segment = chan.seg.name(),
                    role = self.role,
                    lane_closed = closed,
                    "shared-memory peers gone: every one in the role left or died"
                );
                self.gone.store(true, Ordering::Relaxed);
            }
        }
        self.gone.load(Ordering::Relaxed)
    }

    /// `now` in nanoseconds after `since` (saturating: centuries away).
    fn nanos_since(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.since).as_nanos()).unwrap_or(u64::MAX - 1)
    }
}
