//! The sending end: one producer on one lane.

use std::{
    fmt, io,
    marker::PhantomData,
    mem::{self, MaybeUninit},
    process::Command,
    sync::{Arc, OnceLock, atomic::Ordering},
    task::{Context, Poll},
};

use transport_core::{
    Handoff, HandoffError, Occupancy, OpenError,
    backend::{Fill, FrameWriter, PollSend, RawSendError, RawSender, Wait},
};

use super::{
    chan::{Backoff, Chan, Monitor},
    layout::{Geometry, RECORD_HEADER, ROLE_SENDER, WRAP, record_len, stamp},
    link::{Link, Probe, Side},
    turn::Turn,
    variant::{Multi, Producers, Single},
};
use crate::{
    error::SegmentError,
    segment::{Attachment, Kind, Segment, Token},
};

/// The sending end of a shared-memory channel.
///
/// It owns one lane (a single-producer ring) of the channel: a send waits
/// for room, lets rkyv serialize the message straight into the lane, and
/// publishes it with one atomic store (plus, in blocking mode, a wake-up
/// call only if the receiver is asleep).
///
/// It is `Send` and `Sync`: threads may share one sender (`&tx` in scoped
/// threads, an `Arc`), and take turns on its lane, each send whole; a
/// thread alone on it pays one uncontended lock per send. Threads that
/// send much at once do better with a clone each (`try_clone`, on a
/// multi-producer channel), which owns a lane of its own.
///
/// `P` says how many producers the channel takes: [`Single`] (the
/// default: [`Shm`](super::Shm), [`raw_channel`](super::raw_channel)) or
/// [`Multi`] ([`ShmMpsc`](super::ShmMpsc),
/// [`raw_mpsc_channel`](super::raw_mpsc_channel)). Only a
/// `ShmSender<Multi>` clones: on the other, `try_clone` of the typed sender
/// does not compile.
///
/// Async runtimes wait for room through [`PollSend`], which registers with
/// the process's bridge thread (see the [module
/// documentation](super#async-readiness)).
pub struct ShmSender<P = Single> {
    chan: Arc<Chan>,
    att: Option<Attachment>,
    lane: usize,
    producers: PhantomData<fn() -> P>,
    /// Whether a send that finds the ring full waits for a stretch of room
    /// (see `send_frame`): only where a sixteenth of the ring is many
    /// messages, so that polling less often cannot let the consumer run dry.
    stretch: bool,
    /// What a send changes, taken by one thread at a time.
    state: Turn<SendState>,
    receivers: Monitor,
    /// The registration with the bridge thread, made on first use.
    link: OnceLock<Arc<Link>>,
}

/// The lane as its producer keeps it, between sends.
#[derive(Debug)]
struct SendState {
    /// Our copy of the lane's tail (we are its only writer).
    tail: u64,
    /// The consumer's head as last read.
    head: u64,
    /// Messages published on the lane, by every owner it had: the lane's
    /// `sent` count (see `count.rs`), which only this sender writes.
    published: u64,
    /// Where each of the last messages ends, by message number modulo the
    /// table's length (the channel's message capacity): message `n` may go
    /// once message `n - capacity` is released, that is once the consumer's
    /// head has reached `ends[n % capacity]`. So the capacity costs the
    /// consumer nothing: it only moves its head, as it must anyway. Empty
    /// when the channel has no message capacity, or one that the lane's
    /// bytes always reach first.
    ends: Box<[u64]>,
    /// The place in `ends` of the next message this sender writes: the
    /// messages it sent modulo the table's length (0 when it is empty),
    /// kept as sends go rather than divided for on every send.
    slot: usize,
    sends: u32,
    /// The tail position at which to look for a drained lane next.
    wrap_check: u64,
    /// The last early wrap: from this position to that one, nothing is
    /// queued, whatever the consumer's head says until it passes the jump.
    gap: (u64, u64),
    /// The length of the last message this sender wrote: what a send waits
    /// room for before it serializes the next one.
    expect: usize,
    /// The part of a message that did not fit the room there was when it
    /// was serialized, until the room comes (kept for its allocation).
    spill: Vec<u8>,
    /// Set when the consumer's head word was impossible: the receiver broke
    /// the protocol (or someone wrote over its word), so the channel is
    /// treated as disconnected.
    head_broken: bool,
}

impl SendState {
    /// The consumer's head as last read. A head still at an early wrap's
    /// start is, in effect, at its end: the bytes skipped were never queued.
    fn head(&self) -> u64 {
        let (from, to) = self.gap;
        if self.head == from { to } else { self.head }
    }

    /// The head the consumer must have reached for `ahead + 1` more
    /// messages to fit the message capacity (0 when it has none).
    fn min_head(&self, ahead: usize) -> u64 {
        let len = self.ends.len();
        if len == 0 {
            return 0;
        }
        // `slot < len`: one comparison on the usual path (`ahead` is 0 or
        // a sixteenth of the table), a division only past the table's end.
        let i = if ahead < len - self.slot {
            self.slot + ahead
        } else {
            (self.slot + ahead) % len
        };
        self.ends[i]
    }

    /// Notes that a message ending at `end` was written: the next one's
    /// place in `ends`.
    fn note_sent(&mut self, end: u64) {
        if let Some(slot) = self.ends.get_mut(self.slot) {
            *slot = end;
            self.slot += 1;
            if self.slot == self.ends.len() {
                self.slot = 0;
            }
        }
    }
}

impl<P> fmt::Debug for ShmSender<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmSender")
            .field("segment", &self.chan.seg.name())
            .field("lane", &self.lane)
            .finish_non_exhaustive()
    }
}

impl<P: Producers> ShmSender<P> {
    /// The sender on `lane`, which `att` owns. The lane's tail and head are
    /// read once and checked: a tail this sender would write from must be
    /// a record boundary within the watermark (every write stays in the
    /// lane from there).
    pub(crate) fn new(chan: Arc<Chan>, att: Attachment, lane: usize) -> Result<Self, SegmentError> {
        let l = chan.lane(lane);
        let tail = l.tail.load(Ordering::Acquire);
        let head = l.head.load(Ordering::Acquire);
        let g = chan.geo;
        if tail % 16 != 0
            || tail % g.lane_bytes as u64 > g.watermark as u64
            || !plausible_head(&g, tail, head)
        {
            return Err(SegmentError::Invalid {
                name: chan.seg.name().into(),
                reason: format!("lane {lane}'s tail {tail:#x} and head {head:#x} are not a ring's"),
            });
        }
        // A lane holds fewer than this many records (the smallest is 16
        // bytes); a capacity at least as large never binds.
        let most = (g.lane_bytes / record_len(0)) as u64;
        let table = if g.capacity == 0 || g.capacity >= most {
            0
        } else {
            g.capacity as usize
        };
        // Messages a previous owner of the lane left queued are not known
        // one by one: count them as ending at the tail, so this sender waits
        // for all of them to be released before it fills the capacity.
        // The lane's message count goes on from the last owner's; a drained
        // lane's is the receiver's (a producer killed between its count and
        // its tail left its count one ahead).
        let published = if head == tail {
            l.received.load(Ordering::Acquire)
        } else {
            l.sent.load(Ordering::Acquire)
        };
        let state = SendState {
            tail,
            head,
            published,
            ends: vec![tail; table].into_boxed_slice(),
            slot: 0,
            sends: 0,
            wrap_check: tail + EARLY_WRAP as u64,
            gap: (0, 0),
            expect: 0,
            spill: Vec::new(),
            head_broken: false,
        };
        Ok(ShmSender {
            stretch: (table == 0 || table >= 256) && g.lane_bytes >= 64 << 10,
            chan,
            att: Some(att),
            lane,
            producers: PhantomData,
            state: Turn::new(state),
            receivers: Monitor::receivers_of(lane),
            link: OnceLock::new(),
        })
    }

    /// Whether every receiver is gone, the receiver closed this lane, or
    /// its head word was impossible.
    fn receivers_gone(&self, st: &SendState, timed: bool) -> bool {
        st.head_broken || self.receivers.gone(&self.chan, timed)
    }

    /// The name of the channel's shared memory segment.
    pub fn segment_name(&self) -> &str {
        self.chan.seg.name()
    }

    /// Waits until a message of any allowed size fits, or every receiver is
    /// gone, without sending; false when `wait` ran out (also while
    /// another thread sending on this sender kept it). Threads wait here;
    /// async tasks use [`PollSend`] instead.
    pub fn wait_writable(&self, wait: Wait) -> bool {
        let Some(mut st) = self.state.take(wait) else {
            return false;
        };
        let start = st.tail;
        !matches!(
            self.wait_room(&mut st, wait, |this, st| this.room(st, start)),
            Err(RawSendError::NotReady)
        )
    }

    /// Whether there is room at `start` for a record of the full size limit
    /// plus a wrap marker after it, and the message capacity allows one
    /// more.
    fn room(&self, st: &SendState, start: u64) -> bool {
        self.fits(st, start, self.chan.geo.limit)
    }

    /// Whether a message of `len` bytes fits at `start`: a record of it plus
    /// a wrap marker after it, and the message capacity allows one more.
    fn fits(&self, st: &SendState, start: u64, len: usize) -> bool {
        self.fits_more(st, start, len, 0, 0)
    }

    /// As [`ShmSender::fits`], with a stretch more: a sixteenth of the
    /// queued bytes the lane allows and of the message capacity.
    fn fits_stretch(&self, st: &SendState, start: u64, len: usize) -> bool {
        self.fits_more(st, start, len, self.chan.geo.watermark / 16, st.ends.len() / 16)
    }

    /// Whether a message of `len` bytes fits at `start` with `bytes` more
    /// free after it, and the message capacity allows `messages` more.
    fn fits_more(&self, st: &SendState, start: u64, len: usize, bytes: usize, messages: usize) -> bool {
        let head = st.head();
        self.chan.free(start, head) >= record_len(len) + RECORD_HEADER + bytes
            && head >= st.min_head(messages)
    }

    /// The message size a send waits room for before it serializes: the
    /// last message's (see `send_frame`).
    fn want(&self, st: &SendState) -> usize {
        st.expect.min(self.chan.geo.limit)
    }

    /// Uses `bridge` for async readiness instead of the process's.
    #[cfg(test)]
    pub(crate) fn use_bridge(&self, bridge: &'static super::bridge::Bridge) {
        let link = Link::new(bridge, &self.chan, Side::Send(self.lane));
        assert!(self.link.set(link).is_ok(), "the sender has a bridge already");
    }

    /// Whether a send would get past its wait for room (for a message like
    /// the last one), or every receiver is gone. A larger message may still
    /// find too little room and give `NotReady`; the next look then asks
    /// for its size, so an async sender never spins.
    fn writable(&self, st: &mut SendState, start: u64, timed: bool) -> bool {
        self.reload(st);
        self.fits(st, start, self.want(st)) || self.receivers_gone(st, timed)
    }

    /// Waits as `wait` allows until `ready` holds (looking again at the
    /// consumer's head before each call), or every receiver is gone.
    fn wait_room(
        &self,
        st: &mut SendState,
        wait: Wait,
        mut ready: impl FnMut(&Self, &SendState) -> bool,
    ) -> Result<(), RawSendError> {
        let chan = &*self.chan;
        let lane = chan.lane(self.lane);
        let found = chan.wait_for(
            &lane.space_seq,
            &lane.tx_sleeping,
            wait,
            Backoff::Growing,
            |timed| {
                self.reload(st);
                if ready(self, st) {
                    Some(Ok(()))
                } else if self.receivers_gone(st, timed) {
                    Some(Err(RawSendError::Disconnected))
                } else {
                    None
                }
            },
        );
        found.unwrap_or(Err(RawSendError::NotReady))
    }

    /// Reads the consumer's head again. One that no consumer could have
    /// written is not taken: the receiver counts as gone.
    fn reload(&self, st: &mut SendState) {
        let l = self.chan.lane(self.lane);
        let head = l.head.load(Ordering::Acquire);
        if plausible_head(&self.chan.geo, st.tail, head) {
            st.head = head;
        } else {
            st.head_broken = true;
        }
    }

    /// A send with the lane's state taken: see [`RawSender::send_frame`].
    /// Its steps: check the receivers, place the record, wait for the room
    /// the last message needed, serialize the message (in place, the rest
    /// aside until its room comes), then publish the record.
    fn send_taken(&self, st: &mut SendState, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        // A departure is seen at once; a killed receiver every 256 sends
        // (and whenever the ring is full), so a send into a ring with room
        // still learns of it in bounded time without a clock read per send.
        st.sends = st.sends.wrapping_add(1);
        if self.receivers_gone(st, st.sends % 256 == 0) {
            return Err(RawSendError::Disconnected);
        }
        let place = self.place(st);
        self.wait_for_expected_room(st, &place, wait)?;
        let len = self.write(st, &place, wait, fill)?;
        self.publish(st, &place, len);
        Ok(())
    }

    /// Where the next record goes: at the tail, or at offset 0 of the next
    /// lap when the lane is drained past [`EARLY_WRAP`].
    ///
    /// Invariant: the tail's offset is at most the watermark (a commit that
    /// passes it wraps at once), so a full-size record fits from there.
    fn place(&self, st: &mut SendState) -> Place {
        let g = self.chan.geo;
        let start = st.tail;
        let off = (start % g.lane_bytes as u64) as usize;
        // A lane the consumer has drained starts over at offset 0 once its
        // tail is past `EARLY_WRAP`: traffic that drains the lane more often
        // than it fills it (request/response) stays in the lane's first
        // pages, hot in cache and TLB, while a stream that keeps it busy uses
        // the whole buffer. The consumer's head is read for this at most once
        // per `WRAP_RECHECK` bytes sent.
        if off >= EARLY_WRAP && start >= st.wrap_check {
            self.reload(st);
            if st.head == start {
                let to = start + (g.lane_bytes - off) as u64;
                return Place {
                    start: to,
                    jump: Some((start, to)),
                };
            }
            st.wrap_check = start + WRAP_RECHECK as u64;
        }
        Place { start, jump: None }
    }

    /// Waits for room for the last message's size before serializing.
    ///
    /// The size limit's would be safe for any message, but at the start of
    /// each lap of the ring it would wait for the consumer to drain the
    /// whole ring, as a full-size record needs everything the last lap
    /// used. A message larger than the room writes what fits in place, the
    /// rest aside, and waits in [`write`](Self::write) for the room it
    /// needs. After a jump the lane is drained: every byte is released, so
    /// a full-size record fits at offset 0 without asking.
    fn wait_for_expected_room(
        &self,
        st: &mut SendState,
        place: &Place,
        wait: Wait,
    ) -> Result<(), RawSendError> {
        let (start, want) = (place.start, self.want(st));
        if place.jump.is_some() || self.fits(st, start, want) {
            return Ok(());
        }
        self.reload(st);
        if self.fits(st, start, want) {
            return Ok(());
        }
        // The ring is full: this producer is faster than its consumer. Wait
        // for a stretch of room rather than for one record's, for a while:
        // each look reads the consumer's cache line, and its next release
        // has to fetch it back, which slows the consumer that is the
        // bottleneck already. After the stretch, the next sends need no look
        // at all. A consumer that keeps its messages (so the stretch does
        // not come) costs `REFILL_POLLS` looks, after which one record's room
        // is enough (at once for a `try_send`; and long before a
        // blocking-mode sender sleeps).
        let mut looks = 0u32;
        self.wait_room(st, wait, |this, st| {
            looks += 1;
            let enough = !this.stretch || looks > REFILL_POLLS || wait == Wait::Never;
            this.fits_stretch(st, start, want) || (enough && this.fits(st, start, want))
        })
    }

    /// Serializes the message at `place`: what fits the room there is now
    /// goes in place, the rest aside, copied after it once its room comes.
    /// The message's length.
    fn write(
        &self,
        st: &mut SendState,
        place: &Place,
        wait: Wait,
        fill: &mut Fill<'_>,
    ) -> Result<usize, RawSendError> {
        let chan = &*self.chan;
        let g = chan.geo;
        let start = place.start;
        let free = if place.jump.is_some() {
            g.lane_bytes
        } else {
            chan.free(start, st.head())
        };
        // Message bytes that fit now: the record's header and a wrap marker
        // after it take two headers, and records are padded to 16.
        let room = (free.saturating_sub(2 * RECORD_HEADER) & !15).min(g.limit);
        let soff = place.offset(&g);
        // SAFETY: the bytes [start, start + RECORD_HEADER + room) are
        // released by the consumer (`free` counts only released bytes) and lie
        // within the lane without wrapping (soff <= watermark, and lane_bytes
        // leaves room for a full record and a marker past the watermark). No
        // other process writes them: this sender owns the lane, no other
        // thread sends on it while `st` is taken, and the consumer reads them
        // only after the tail store that publishes them. The bytes are
        // treated as uninitialised.
        let slot = unsafe {
            std::slice::from_raw_parts_mut(
                chan.lane_data(self.lane).add(soff + RECORD_HEADER) as *mut MaybeUninit<u8>,
                room,
            )
        };
        let mut spill = mem::take(&mut st.spill);
        let mut writer = if room == g.limit {
            FrameWriter::slice(slot)
        } else {
            FrameWriter::slice_spilling(slot, &mut spill, g.limit)
        };
        let filled = fill(&mut writer);
        let len = match filled {
            Err(e) => {
                writer.abort();
                Err(RawSendError::Serialize(e))
            }
            Ok(()) => writer.finish().map_err(RawSendError::from),
        };
        let len = match len {
            Ok(len) => len,
            Err(e) => {
                st.spill = spill;
                return Err(e);
            }
        };
        st.expect = len;
        if len > room {
            // Serialized, but only `room` bytes of it are in place. Wait for
            // the room the rest needs, then copy it after them.
            let waited = self.wait_room(st, wait, |this, st| this.fits(st, start, len));
            if let Err(e) = waited {
                spill.clear();
                st.spill = spill;
                return Err(e);
            }
            debug_assert_eq!(spill.len(), len - room);
            // SAFETY: `fits(start, len)` holds, so [start, start +
            // record_len(len) + RECORD_HEADER) is released and within the lane
            // (len <= limit), and written by this sender alone, as above;
            // `spill` holds exactly the message bytes from `room` to `len`.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    spill.as_ptr(),
                    chan.lane_data(self.lane).add(soff + RECORD_HEADER + room),
                    spill.len(),
                );
            }
            spill.clear();
        }
        st.spill = spill;
        Ok(len)
    }

    /// Publishes the record of `len` bytes written at `place`: the jump to
    /// it, its header and stamp, a wrap marker when it ends past the
    /// watermark, then the tail, and wakes a sleeping receiver.
    fn publish(&self, st: &mut SendState, place: &Place, len: usize) {
        let chan = &*self.chan;
        let g = chan.geo;
        let lane = chan.lane(self.lane);
        let (start, soff) = (place.start, place.offset(&g));
        if let Some((from, to)) = place.jump {
            // Published by the tail store below, like the record; a send that
            // failed before this left no trace of the jump.
            lane.jump_from.store(from, Ordering::Relaxed);
            st.gap = (from, to);
            st.wrap_check = to + EARLY_WRAP as u64;
        }
        chan.record_header(self.lane, soff)
            .store(len as u64, Ordering::Relaxed);
        chan.record_stamp(self.lane, soff)
            .store(stamp(start), Ordering::Relaxed);
        let mut new_tail = start + record_len(len) as u64;
        let end_off = (new_tail % g.lane_bytes as u64) as usize;
        if end_off > g.watermark {
            // Wrap now, so the receiver passes the wrap as soon as it has read
            // this record. `room` kept a record header's worth of space free
            // past the record for this marker.
            chan.record_header(self.lane, end_off)
                .store(WRAP, Ordering::Relaxed);
            chan.record_stamp(self.lane, end_off)
                .store(stamp(new_tail), Ordering::Relaxed);
            new_tail += (g.lane_bytes - end_off) as u64;
        }
        st.tail = new_tail;
        // The record's own end, before any wrap marker: releasing the
        // message moves the head exactly there.
        st.note_sent(start + record_len(len) as u64);
        // Counted before the tail publishes the message: a receiver never
        // takes a message its count does not hold yet (see `count.rs`).
        st.published = st.published.wrapping_add(1);
        lane.sent.store(st.published, Ordering::Relaxed);
        if chan.busy {
            lane.tail.store(new_tail, Ordering::Release);
        } else {
            // SeqCst orders the store before the sleeper check (a receiver
            // flags itself asleep, then re-checks the tail).
            lane.tail.store(new_tail, Ordering::SeqCst);
            let h = chan.header();
            chan.wake_sleepers(&h.data_seq, &h.rx_sleeping);
        }
    }
}

/// Where one send puts its record, decided before it serializes.
#[derive(Clone, Copy, Debug)]
struct Place {
    /// The record's position in the lane.
    start: u64,
    /// The early wrap this send makes to get there (from, to), published
    /// with the record.
    jump: Option<(u64, u64)>,
}

impl Place {
    /// The record's offset in the lane.
    fn offset(&self, g: &Geometry) -> usize {
        (self.start % g.lane_bytes as u64) as usize
    }
}

/// Whether `head` can be a consumer's head for a producer whose tail is at
/// `tail`: a record boundary, not ahead of the tail, and less than two
/// lanes' bytes behind it (records take at most a lane's bytes past the
/// head; a wrap marker moves the tail to the next lap).
fn plausible_head(g: &Geometry, tail: u64, head: u64) -> bool {
    head % 16 == 0 && head <= tail && tail - head < 2 * g.lane_bytes as u64
}

/// How far into its lane a sender may get before it starts over at offset 0
/// when it finds the lane drained.
const EARLY_WRAP: usize = 64 << 10;
/// How often (in bytes sent) a sender past `EARLY_WRAP` looks again.
const WRAP_RECHECK: usize = 256 << 10;
/// How many times a send that found the ring full looks for a stretch of
/// room before one record's room will do.
const REFILL_POLLS: u32 = 16;

/// A clone takes another producer lane of the channel: `try_clone` is
/// `None` once every lane the channel was made with
/// ([`ShmConfig::max_producers`](crate::ShmConfig::max_producers)) is
/// taken. A single-producer sender (`ShmSender<Single>`) is not
/// `MultiProducer`: cloning it does not compile.
impl transport_core::MultiProducer for ShmSender<Multi> {}

impl<P: Producers> RawSender for ShmSender<P> {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        // Another thread sending on this sender holds the lane for one
        // message: waiting for it is waiting for room.
        let mut st = self.state.take(wait).ok_or(RawSendError::NotReady)?;
        self.send_taken(&mut st, wait, fill)
    }

    fn max_message_size(&self) -> usize {
        self.chan.geo.limit
    }

    /// The messages waiting in every lane and the capacity per producer,
    /// approximate (see the [module documentation](super#occupancy)).
    fn occupancy(&self) -> Option<Occupancy> {
        Some(self.chan.occupancy())
    }

    /// Another producer lane, on a multi-producer channel; `None` on a
    /// single-producer one (generic code over any backend clones through
    /// here; the typed `try_clone` does not compile for it).
    fn try_clone(&self) -> Option<Self> {
        if !P::MULTI {
            return None;
        }
        let att = Attachment::join(&self.chan.seg, ROLE_SENDER).ok()?;
        let lane = self.chan.claim_lane(att.index(), att.nonce())?;
        ShmSender::new(Arc::clone(&self.chan), att, lane).ok()
    }
}

impl<P: Producers> PollSend for ShmSender<P> {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let chan = &self.chan;
        let link = match Link::get(&self.link, chan, Side::Send(self.lane)) {
            Ok(link) => link,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if link.take_peer_dead() {
            self.receivers.expire();
        }
        let Some(mut st) = self.state.take(Wait::Never) else {
            // Another thread is in a send on this sender (which may wait
            // for room): look again after the runtime's other tasks.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        };
        let st = &mut *st;
        let start = st.tail;
        if self.writable(st, start, true) || link.spin_until(|| self.writable(st, start, false)) {
            link.disarm();
            return Poll::Ready(Ok(()));
        }
        let probe = Probe::Send {
            start,
            len: self.want(st),
            min_head: st.min_head(0),
        };
        if let Err(e) = link.arm(cx.waker(), probe) {
            return Poll::Ready(Err(e));
        }
        // Registered: anything from now on wakes the task. Look again for
        // what came before.
        if self.writable(st, start, false) {
            link.disarm();
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }
}
impl<P> Drop for ShmSender<P> {
    fn drop(&mut self) {
        if let Some(link) = self.link.get() {
            link.forget();
        }
        if let Some(att) = self.att.take() {
            drop(att);
            self.chan.depart();
        }
    }
}

impl<P: Producers> Handoff for ShmSender<P> {
    const KIND: &'static str = P::SENDER_KIND;

    fn prepare(mut self, cmd: &mut Command) -> Result<String, HandoffError> {
        let att = self.att.take().ok_or(HandoffError::Unsupported {
            what: "a shared-memory sender that was already handed off",
        })?;
        let token = att.hand_off(cmd).map_err(|e| HandoffError::Io {
            what: format!("shared memory segment `{}`", self.chan.seg.name()),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(format!("{}:{}", if P::MULTI { "m" } else { "s" }, token))
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        // The kind told the producers apart already; the letter is checked
        // as well, so a payload of the other kind is refused, not misread.
        let token = match payload.split_once(':') {
            Some(("m", t)) if P::MULTI => t,
            Some(("s", t)) if !P::MULTI => t,
            _ => {
                return Err(OpenError::malformed(format!(
                    "`{payload}` is not a token of a {}-producer shared-memory sender",
                    if P::MULTI { "multi" } else { "single" }
                )));
            }
        };
        let token: Token = token.parse().map_err(OpenError::malformed)?;
        // The channel is checked before the hand-off is claimed: a failed
        // open leaves it to the right process.
        let segment = Segment::open(&token.name, Kind::Channel)?;
        let chan = Chan::open(Arc::clone(&segment))?;
        let att = Attachment::claim_in(segment, &token)?;
        let lane = chan
            .find_lane(att.index(), att.nonce())
            .ok_or_else(|| OpenError::Gone {
                what: format!(
                    "the lane of sender {} of shared memory segment `{}`",
                    token.index, token.name
                ),
            })?;
        Ok(ShmSender::new(chan, att, lane)?)
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        crate::segment::child_watch(crate::segment::Kind::Channel)
    }
}

#[cfg(test)]
mod tests;
