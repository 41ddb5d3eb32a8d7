//! The sending end: one producer on one lane.

use std::{
    cell::{Cell, OnceCell},
    fmt, io,
    mem::MaybeUninit,
    process::Command,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll},
};

use transport_core::{
    Fill, FrameWriter, Handoff, HandoffError, OpenError, PollSend, RawSendError, RawSender, Wait,
};

use super::{
    chan::{Backoff, Chan, Monitor},
    layout::{RECORD_HEADER, ROLE_SENDER, WRAP, record_len},
    link::{Link, Probe, Side},
};
use crate::segment::{Attachment, Kind, Token};

/// The sending end of a shared-memory channel.
///
/// It owns one lane (a single-producer ring) of the channel, so a send
/// never takes a lock: it waits for room, lets rkyv serialize the message
/// straight into the lane, and publishes it with one atomic store (plus, in
/// blocking mode, a wake-up call only if the receiver is asleep).
///
/// It is `Send` but not `Sync`: to send from several threads of a
/// multi-producer channel, give each its own clone (`try_clone`), which owns
/// its own lane.
///
/// Async runtimes wait for room through [`PollSend`], which registers with
/// the process's bridge thread (see the [module
/// documentation](super#async-readiness)).
pub struct ShmSender {
    chan: Arc<Chan>,
    att: Option<Attachment>,
    lane: usize,
    multi: bool,
    /// Our copy of the lane's tail (we are its only writer).
    tail: Cell<u64>,
    /// The consumer's head as last read.
    head: Cell<u64>,
    /// Messages sent through this sender.
    sent: Cell<u64>,
    /// Where each of the last messages ends, by message number modulo the
    /// table's length (the channel's message capacity): message `n` may go
    /// once message `n - capacity` is released, that is once the consumer's
    /// head has reached `ends[n % capacity]`. So the capacity costs the
    /// consumer nothing: it only moves its head, as it must anyway. Empty
    /// when the channel has no message capacity, or one that the lane's
    /// bytes always reach first.
    ends: Box<[Cell<u64>]>,
    /// Whether a send that finds the ring full waits for a stretch of room
    /// (see `send_frame`): only where a sixteenth of the ring is many
    /// messages, so that polling less often cannot let the consumer run dry.
    stretch: bool,
    sends: Cell<u32>,
    /// The tail position at which to look for a drained lane next.
    wrap_check: Cell<u64>,
    /// The last early wrap: from this position to that one, nothing is
    /// queued, whatever the consumer's head says until it passes the jump.
    gap: Cell<(u64, u64)>,
    receivers: Monitor,
    /// The registration with the bridge thread, made on first use.
    link: OnceCell<Arc<Link>>,
}

impl fmt::Debug for ShmSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmSender")
            .field("segment", &self.chan.seg.name())
            .field("lane", &self.lane)
            .finish_non_exhaustive()
    }
}

impl ShmSender {
    pub(crate) fn new(chan: Arc<Chan>, att: Attachment, lane: usize, multi: bool) -> ShmSender {
        let l = chan.lane(lane);
        let tail = l.tail.load(Ordering::Acquire);
        let g = chan.geo;
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
        ShmSender {
            head: Cell::new(l.head.load(Ordering::Acquire)),
            ends: (0..table).map(|_| Cell::new(tail)).collect(),
            stretch: (table == 0 || table >= 256) && g.lane_bytes >= 64 << 10,
            chan,
            att: Some(att),
            lane,
            multi,
            tail: Cell::new(tail),
            sent: Cell::new(0),
            sends: Cell::new(0),
            wrap_check: Cell::new(tail + EARLY_WRAP as u64),
            gap: Cell::new((0, 0)),
            receivers: Monitor::receivers(),
            link: OnceCell::new(),
        }
    }

    /// The name of the channel's shared memory segment.
    pub fn segment_name(&self) -> &str {
        self.chan.seg.name()
    }

    /// Waits until a message of any allowed size fits, or every receiver is
    /// gone, without sending; false when `wait` ran out. The thread that
    /// owns the sender waits here; async tasks use [`PollSend`] instead.
    pub fn wait_writable(&self, wait: Wait) -> bool {
        let chan = &*self.chan;
        let lane = chan.lane(self.lane);
        let start = self.tail.get();
        chan.wait_for(&lane.space_seq, &lane.tx_sleeping, wait, Backoff::Growing, || {
            self.reload();
            (self.room(start) || self.receivers.gone(chan, true)).then_some(())
        })
        .is_some()
    }

    /// Whether there is room at `start` for a record of the full size limit
    /// plus a wrap marker after it, and the message capacity allows one
    /// more.
    fn room(&self, start: u64) -> bool {
        let head = self.head();
        self.chan.room(start, head) && head >= self.min_head(0)
    }

    /// As [`ShmSender::room`], with a stretch more: a sixteenth of the
    /// lane's bytes and of the message capacity.
    fn room_for_batch(&self, start: u64) -> bool {
        let head = self.head();
        self.chan.room_for_batch(start, head) && head >= self.min_head(self.ends.len() / 16)
    }

    /// The consumer's head as last read. A head still at an early wrap's
    /// start is, in effect, at its end: the bytes skipped were never queued.
    fn head(&self) -> u64 {
        let (from, to) = self.gap.get();
        if self.head.get() == from {
            to
        } else {
            self.head.get()
        }
    }

    /// The head the consumer must have reached for `ahead + 1` more
    /// messages to fit the message capacity (0 when it has none).
    fn min_head(&self, ahead: usize) -> u64 {
        if self.ends.is_empty() {
            return 0;
        }
        let n = self.sent.get() as usize + ahead;
        self.ends[n % self.ends.len()].get()
    }

    /// Uses `bridge` for async readiness instead of the process's.
    #[cfg(test)]
    pub(crate) fn use_bridge(&self, bridge: &'static super::bridge::Bridge) {
        let link = Link::new(bridge, &self.chan, Side::Send(self.lane));
        assert!(self.link.set(link).is_ok(), "the sender has a bridge already");
    }

    fn writable(&self, start: u64, timed: bool) -> bool {
        self.reload();
        self.room(start) || self.receivers.gone(&self.chan, timed)
    }

    fn reload(&self) {
        let l = self.chan.lane(self.lane);
        self.head.set(l.head.load(Ordering::Acquire));
    }
}

/// How far into its lane a sender may get before it starts over at offset 0
/// when it finds the lane drained.
const EARLY_WRAP: usize = 64 << 10;
/// How often (in bytes sent) a sender past `EARLY_WRAP` looks again.
const WRAP_RECHECK: usize = 256 << 10;
/// How many times a send that found the ring full looks for a stretch of
/// room before one record's room will do.
const REFILL_POLLS: u32 = 16;

impl RawSender for ShmSender {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        let chan = &*self.chan;
        let g = chan.geo;
        let lane = chan.lane(self.lane);
        // A departure is seen at once; a killed receiver every 256 sends
        // (and whenever the ring is full), so a send into a ring with room
        // still learns of it in bounded time without a clock read per send.
        let n = self.sends.get().wrapping_add(1);
        self.sends.set(n);
        if self.receivers.gone(chan, n % 256 == 0) {
            return Err(RawSendError::Disconnected);
        }
        // Invariant: the tail's offset is at most the watermark (a commit that
        // passes it wraps at once), so a full-size record fits from here.
        let mut start = self.tail.get();
        let off = (start % g.lane_bytes as u64) as usize;
        // A lane the consumer has drained starts over at offset 0 once its
        // tail is past `EARLY_WRAP`: traffic that drains the lane more often
        // than it fills it (request/response) stays in the lane's first
        // pages, hot in cache and TLB, while a stream that keeps it busy uses
        // the whole buffer. The consumer's head is read for this at most once
        // per `WRAP_RECHECK` bytes sent.
        let mut jump = None;
        if off >= EARLY_WRAP && start >= self.wrap_check.get() {
            self.reload();
            if self.head.get() == start {
                let to = start + (g.lane_bytes - off) as u64;
                jump = Some((start, to));
                start = to;
            } else {
                self.wrap_check.set(start + WRAP_RECHECK as u64);
            }
        }
        // After a jump the lane is drained: every byte is released, so a
        // full-size record fits at offset 0 without asking `room`.
        if jump.is_none() && !self.room(start) {
            self.reload();
            if !self.room(start) {
                // The ring is full: this producer is faster than its
                // consumer. Wait for a stretch of room rather than for one
                // record's, for a while: each look reads the consumer's
                // cache line, and its next release has to fetch it back,
                // which slows the consumer that is the bottleneck already.
                // After the stretch, the next sends need no look at all. A
                // consumer that keeps its messages (so the stretch does not
                // come) costs `REFILL_POLLS` looks, after which one record's
                // room is enough (at once for a `try_send`; and long before
                // a blocking-mode sender sleeps).
                let mut looks = 0u32;
                let ready = chan.wait_for(&lane.space_seq, &lane.tx_sleeping, wait, Backoff::Growing, || {
                    self.reload();
                    looks += 1;
                    let enough = !self.stretch || looks > REFILL_POLLS || wait == Wait::Never;
                    if self.room_for_batch(start) || (enough && self.room(start)) {
                        Some(Ok(()))
                    } else if self.receivers.gone(chan, true) {
                        Some(Err(RawSendError::Disconnected))
                    } else {
                        None
                    }
                });
                match ready {
                    Some(Ok(())) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Err(RawSendError::NotReady),
                }
            }
        }
        let soff = (start % g.lane_bytes as u64) as usize;
        // SAFETY: `room` guarantees that the record region [start, start +
        // record_len(limit)) is released by the consumer and lies within the
        // lane without wrapping (soff <= watermark, and lane_bytes leaves room
        // for a full record and a marker past the watermark). No other process writes it:
        // this sender owns the lane, and the consumer reads it only after the
        // tail store that publishes it. The bytes are treated as
        // uninitialised.
        let slot = unsafe {
            std::slice::from_raw_parts_mut(
                chan.lane_data(self.lane).add(soff + RECORD_HEADER) as *mut MaybeUninit<u8>,
                g.limit,
            )
        };
        let mut writer = FrameWriter::slice(slot);
        if let Err(e) = fill(&mut writer) {
            writer.abort();
            return Err(RawSendError::Serialize(e));
        }
        let len = writer.finish().map_err(|o| RawSendError::TooLarge {
            len: o.len,
            limit: o.limit,
        })?;
        if let Some((from, to)) = jump {
            // Published by the tail store below, like the record; a send that
            // failed above left no trace of the jump.
            lane.jump_from.store(from, Ordering::Relaxed);
            self.gap.set((from, to));
            self.wrap_check.set(to + EARLY_WRAP as u64);
        }
        chan.record_header(self.lane, soff)
            .store(len as u64, Ordering::Relaxed);
        let mut new_tail = start + record_len(len) as u64;
        let end_off = (new_tail % g.lane_bytes as u64) as usize;
        if end_off > g.watermark {
            // Wrap now, so the receiver passes the wrap as soon as it has read
            // this record. `room` kept a record header's worth of space free
            // past the record for this marker.
            chan.record_header(self.lane, end_off)
                .store(WRAP, Ordering::Relaxed);
            new_tail += (g.lane_bytes - end_off) as u64;
        }
        self.tail.set(new_tail);
        if !self.ends.is_empty() {
            let n = self.sent.get() as usize % self.ends.len();
            // The record's own end, before any wrap marker: releasing the
            // message moves the head exactly there.
            self.ends[n].set(start + record_len(len) as u64);
        }
        self.sent.set(self.sent.get() + 1);
        if chan.busy {
            lane.tail.store(new_tail, Ordering::Release);
        } else {
            // SeqCst orders the store before the sleeper check (a receiver
            // flags itself asleep, then re-checks the tail).
            lane.tail.store(new_tail, Ordering::SeqCst);
            let h = chan.header();
            chan.wake_sleepers(&h.data_seq, &h.rx_sleeping);
        }
        Ok(())
    }

    fn max_message_size(&self) -> usize {
        self.chan.geo.limit
    }

    fn try_clone(&self) -> Option<Self> {
        if !self.multi {
            return None;
        }
        let att = Attachment::join(&self.chan.seg, ROLE_SENDER).ok()?;
        let lane = self.chan.claim_lane(att.index(), att.nonce())?;
        Some(ShmSender::new(Arc::clone(&self.chan), att, lane, true))
    }
}

impl PollSend for ShmSender {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let chan = &self.chan;
        let link = match Link::get(&self.link, chan, Side::Send(self.lane)) {
            Ok(link) => link,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if link.take_peer_dead() {
            self.receivers.expire();
        }
        let start = self.tail.get();
        if self.writable(start, true) || chan.spin_until(|| self.writable(start, false)) {
            link.disarm();
            return Poll::Ready(Ok(()));
        }
        let probe = Probe::Send {
            start,
            min_head: self.min_head(0),
        };
        if let Err(e) = link.arm(cx.waker(), probe) {
            return Poll::Ready(Err(e));
        }
        // Registered: anything from now on wakes the task. Look again for
        // what came before.
        if self.writable(start, false) {
            link.disarm();
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }
}

impl Drop for ShmSender {
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

impl Handoff for ShmSender {
    const KIND: &'static str = "shm.sender";

    fn prepare(mut self, cmd: &mut Command) -> Result<String, HandoffError> {
        let att = self.att.take().ok_or(HandoffError::Unsupported {
            what: "a shared-memory sender that was already handed off",
        })?;
        let token = att.hand_off(cmd).map_err(|e| HandoffError::Io {
            what: format!("shared memory segment `{}`", self.chan.seg.name()),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(format!("{}:{}", if self.multi { "m" } else { "s" }, token))
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        let (multi, token) = match payload.split_once(':') {
            Some(("m", t)) => (true, t),
            Some(("s", t)) => (false, t),
            _ => {
                return Err(OpenError::malformed(format!(
                    "`{payload}` is not a shared-memory sender token"
                )));
            }
        };
        let token: Token = token.parse().map_err(OpenError::malformed)?;
        let att = Attachment::claim(&token, Kind::Channel)?;
        let chan = Chan::open(Arc::clone(att.segment()))?;
        let lane = chan
            .find_lane(att.index(), att.nonce())
            .ok_or_else(|| OpenError::Gone {
                what: format!(
                    "the lane of sender {} of shared memory segment `{}`",
                    token.index, token.name
                ),
            })?;
        Ok(ShmSender::new(chan, att, lane, multi))
    }
}
