//! The receiving end: the single consumer of every lane.

use std::{
    fmt, io,
    process::Command,
    sync::{Arc, Mutex, OnceLock, atomic::Ordering},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use transport_core::{
    Handoff, HandoffError, MalformedFrame, Occupancy, OpenError,
    backend::{PollRecv, RawReceiver, RawRecvError, Wait},
    sync::LockExt,
};

use super::{
    chan::{Backoff, Chan, Monitor},
    frame::{RxShared, ShmFrame},
    layout::{self, RECORD_HEADER, WRAP, record_len},
    link::{Link, Probe, Side},
};
use crate::segment::{Attachment, Kind, Segment, Token};

/// The receiving end of a shared-memory channel.
///
/// [`recv_frame`](RawReceiver::recv_frame) returns an [`ShmFrame`] that
/// reads the message in place; the typed receiver validates it with
/// bytecheck before handing it out. It is `Send` and `Sync`: threads may
/// share one receiver, each message going to one of them (a look at the
/// lanes is made under a lock, never held while waiting); frames may be
/// dropped on any thread.
///
/// Async runtimes wait through [`PollRecv`], which registers with the
/// process's bridge thread (see the [module documentation](super#async-readiness)).
pub struct ShmReceiver {
    rx: Arc<RxShared>,
    att: Option<Attachment>,
    /// Where this receiver reads, taken for one look at the lanes at a
    /// time.
    state: Mutex<RecvState>,
    untrusted: bool,
    senders: Monitor,
    /// The registration with the bridge thread, made on first use.
    link: OnceLock<Arc<Link>>,
}

/// The lanes as their consumer reads them.
#[derive(Debug)]
struct RecvState {
    /// Per lane: the next position to read.
    read: Vec<u64>,
    /// Per lane: the tail as last read.
    tails: Vec<u64>,
    /// Per lane, the producer's `jump_from` as read with the tail above.
    jumps: Vec<u64>,
    /// Per lane: closed, because its words were impossible.
    closed: Vec<bool>,
    /// Per lane: messages taken from it, by every receiver it had (the
    /// lane's `received` count: see `count.rs`).
    received: Vec<u64>,
    /// How many lanes are closed.
    closed_count: usize,
    /// Why a lane was closed when the receiver opened, to report once.
    opening_fault: Option<String>,
    next: usize,
    /// Whether the last blocking receive found its message on its first
    /// look, without waiting, with more behind it: the producer is
    /// streaming (see [`SLIP`]).
    streaming: bool,
    /// Whether the last frame a look handed out had more behind it: it
    /// came from records an earlier look had found, or the tail this look
    /// read published more than it.
    more_behind: bool,
}

/// How long a streaming receiver that has read every record it knew of
/// waits before it reads the producer's tail again.
///
/// A consumer that reads each record as soon as it is published works on
/// the producer's cache lines while the producer writes them: the tail it
/// reads, and the lines the record and the next one share, which its
/// prefetcher fetches ahead. Each of those reads takes the line from the
/// producer, whose next locked instruction (its end's lock, once per
/// send) then waits for the line to come back: measured with the 256 B
/// quote between two pinned processes, such a consumer *halved* the
/// producer's rate (4 M msgs/s, against 9 M for a validating consumer,
/// which is slower and so stays behind). Waiting this long, once the
/// consumer has caught up, lets the producer get some records ahead; the
/// next look then finds them at once. Only a receive whose predecessor
/// found its message at once, with more published behind it, waits: one
/// that waited for its message (a request and its reply), or found it
/// alone, never does, so round trips pay nothing for it.
///
/// Measured (`transport-bench --subjects shm --modes
/// busy-poll,validated,unchecked`, 3 repetitions a run, interleaved runs,
/// counted only where the machine's two CPUs were in their "near" state):
/// at 200 ns the unchecked consumer still kept up closely enough to slow
/// the producer (6.2–6.6 M msgs/s against 10.1–11.2 M validated); at 1 µs
/// unchecked ÷ validated 0.94–1.06 (median 1.00, six runs); at 2 µs
/// 1.01–1.14 (six runs), some 15 records ahead at that rate. The 64 B
/// and 4 KiB streams, against 200 ns: within 1–4 % (16.5–18.4 against
/// 18.1–18.9 M msgs/s, and 7.1–7.9 against 7.7–8.0 M); round trips the
/// same.
const SLIP: Duration = Duration::from_micros(2);

impl fmt::Debug for ShmReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmReceiver")
            .field("segment", &self.rx.chan.seg.name())
            .field("untrusted", &self.untrusted)
            .finish_non_exhaustive()
    }
}

/// What one look at the lanes found.
enum Found {
    Frame(ShmFrame),
    Malformed(MalformedFrame),
    Nothing,
}

impl ShmReceiver {
    pub(crate) fn new(chan: Arc<Chan>, att: Attachment, untrusted: bool) -> ShmReceiver {
        let lanes = chan.geo.lanes;
        // Each lane's head, read once: where this receiver starts reading.
        // One that is not at a record boundary closes its lane at once.
        let heads: Vec<u64> = (0..lanes)
            .map(|i| chan.lane(i).head.load(Ordering::Acquire))
            .collect();
        let closed: Vec<bool> = heads.iter().map(|h| h % 16 != 0).collect();
        let opening_fault = heads.iter().position(|h| h % 16 != 0).map(|i| {
            format!(
                "lane {i} starts at position {:#x}, not at a record boundary",
                heads[i]
            )
        });
        let closed_count = closed.iter().filter(|&&c| c).count();
        for (i, &c) in closed.iter().enumerate() {
            if c {
                chan.lane(i).closed.store(1, Ordering::SeqCst);
            }
        }
        if closed_count > 0 {
            // The lanes' producers look again.
            chan.depart();
        }
        // The count goes on from the receiver before (a peer's word, used
        // only for counting).
        let received = (0..lanes)
            .map(|i| chan.lane(i).received.load(Ordering::Acquire))
            .collect();
        let state = RecvState {
            read: heads.clone(),
            tails: heads.clone(),
            jumps: vec![0; lanes],
            closed,
            received,
            closed_count,
            opening_fault,
            next: 0,
            streaming: false,
            more_behind: false,
        };
        ShmReceiver {
            rx: Arc::new(RxShared::new(chan, &heads)),
            att: Some(att),
            state: Mutex::new(state),
            untrusted,
            senders: Monitor::senders(),
            link: OnceLock::new(),
        }
    }

    /// The name of the channel's shared memory segment.
    pub fn segment_name(&self) -> &str {
        self.rx.chan.seg.name()
    }

    /// Whether messages are copied out of shared memory before validation.
    pub fn is_untrusted(&self) -> bool {
        self.untrusted
    }

    /// Waits until a message is ready or the channel is disconnected, without
    /// taking it; false when `wait` ran out. Threads wait here; async tasks
    /// use [`PollRecv`] instead.
    pub fn wait_ready(&self, wait: Wait) -> bool {
        let chan = &*self.rx.chan;
        let h = chan.header();
        chan.wait_for(&h.data_seq, &h.rx_sleeping, wait, Backoff::Eager, |timed| {
            let st = self.state.lock_unpoisoned();
            (self.has_data(&st) || self.senders_gone(&st, timed)).then_some(())
        })
        .is_some()
    }

    /// The channel (for tests and the fuzz targets).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn chan(&self) -> &Arc<Chan> {
        &self.rx.chan
    }

    /// Whether the next blocking receive slips (for tests).
    #[cfg(test)]
    pub(crate) fn streaming(&self) -> bool {
        self.state.lock_unpoisoned().streaming
    }

    /// Releases parked out of order (for tests and the fuzz targets).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn parked(&self) -> usize {
        self.rx.parked()
    }

    /// Uses `bridge` for async readiness instead of the process's.
    #[cfg(test)]
    pub(crate) fn use_bridge(&self, bridge: &'static super::bridge::Bridge) {
        let link = Link::new(bridge, &self.rx.chan, Side::Recv);
        assert!(self.link.set(link).is_ok(), "the receiver has a bridge already");
    }

    /// Whether an open lane's tail is not where this receiver reads (data,
    /// or words to find impossible), or a lane closed at open is still to
    /// be reported.
    fn has_data(&self, st: &RecvState) -> bool {
        (0..st.read.len())
            .any(|i| !st.closed[i] && self.rx.chan.lane(i).tail.load(Ordering::Acquire) != st.read[i])
            || (st.closed_count != 0 && st.opening_fault.is_some())
    }

    /// Whether every sender is gone, or every lane closed.
    fn senders_gone(&self, st: &RecvState, timed: bool) -> bool {
        st.closed_count == st.closed.len() || self.senders.gone(&self.rx.chan, timed)
    }

    /// Closes lane `i`, whose words are impossible for the reason given: it
    /// is never read again, and its producer is told (the lane's `closed`
    /// word, and a departure so that it looks).
    fn close_lane(&self, st: &mut RecvState, i: usize, reason: String) -> Found {
        let chan = &*self.rx.chan;
        st.closed[i] = true;
        st.closed_count += 1;
        chan.lane(i).closed.store(1, Ordering::SeqCst);
        chan.depart();
        Found::Malformed(MalformedFrame::new(reason))
    }

    /// Looks at every open lane once, starting after the last one served.
    ///
    /// Every word of shared memory is read once into a local and checked
    /// before it is used (see the layout's "What a receiver accepts"); a
    /// lane whose words are impossible is closed. The walk on a lane is
    /// bounded: a wrap or jump moves to a lap's start, where neither may be,
    /// so one look passes at most one of them before it returns. With
    /// `slip`, the first lane found caught up waits [`SLIP`] before its
    /// tail is read again.
    fn poll(&self, st: &mut RecvState, mut slip: bool) -> Found {
        if st.closed_count != 0 {
            if let Some(reason) = st.opening_fault.take() {
                return Found::Malformed(MalformedFrame::new(reason));
            }
        }
        let chan = &*self.rx.chan;
        let g = chan.geo;
        let lane_bytes = g.lane_bytes as u64;
        let lanes = g.lanes;
        let first = st.next;
        for k in 0..lanes {
            let i = (first + k) % lanes;
            if st.closed[i] {
                continue;
            }
            let mut r = st.read[i];
            let fresh = r == st.tails[i];
            if fresh {
                if slip {
                    // Once per look, however many lanes are caught up.
                    wait_briefly(SLIP);
                    slip = false;
                }
                let t = chan.lane(i).tail.load(Ordering::Acquire);
                if t == r {
                    continue;
                }
                if let Some(why) = g.impossible_tail(r, t) {
                    return self.close_lane(
                        st,
                        i,
                        format!("lane {i}'s tail {t:#x} {why} (read up to {r:#x})"),
                    );
                }
                st.tails[i] = t;
                // Published by the tail just acquired; read here, with it,
                // not per record, to stay off the producer's cache line.
                st.jumps[i] = chan.lane(i).jump_from.load(Ordering::Relaxed);
                fetch_published(chan, i, r, t, st.jumps[i]);
            }
            let tail = st.tails[i];
            let jump_from = st.jumps[i];
            while r < tail {
                let off = (r % lane_bytes) as usize;
                // Where the producer started over early, the bytes at `off`
                // may already belong to the next lap's first record: the
                // jump reads as a wrap, without looking at them. (Never at
                // a lap's start, where a producer cannot jump from.)
                let word = if r == jump_from && off != 0 {
                    WRAP
                } else {
                    let word = chan.record_header(i, off).load(Ordering::Relaxed);
                    let stamp = chan.record_stamp(i, off).load(Ordering::Relaxed);
                    if stamp != layout::stamp(r) {
                        return self.close_lane(
                            st,
                            i,
                            format!("lane {i} has no record at position {r:#x} (its stamp is {stamp:#x})"),
                        );
                    }
                    word
                };
                if word == WRAP {
                    let next = r + (lane_bytes - off as u64);
                    if off == 0 || next > tail {
                        return self.close_lane(
                            st,
                            i,
                            format!(
                                "lane {i} wraps at position {r:#x}, which its tail {tail:#x} does not pass"
                            ),
                        );
                    }
                    st.read[i] = next;
                    self.rx.release(i, r, next);
                    r = next;
                    continue;
                }
                let valid = usize::try_from(word)
                    .ok()
                    .filter(|&len| len <= g.limit && off + record_len(len) <= g.lane_bytes)
                    .filter(|&len| r + record_len(len) as u64 <= tail);
                let Some(len) = valid else {
                    return self.close_lane(
                        st,
                        i,
                        format!("lane {i} holds a record header of {word:#x} at offset {off}"),
                    );
                };
                let end = r + record_len(len) as u64;
                st.read[i] = end;
                st.more_behind = !fresh || end < tail;
                st.next = if lanes > 1 { i + 1 } else { 0 };
                st.received[i] = st.received[i].wrapping_add(1);
                chan.lane(i).received.store(st.received[i], Ordering::Release);
                // SAFETY: off + RECORD_HEADER + len is within the lane (checked
                // above), so the pointer range is mapped; off is a multiple of
                // 16 (every position is), so the pointer is 16-aligned.
                let ptr = unsafe { chan.lane_data(i).add(off + RECORD_HEADER) };
                // SAFETY: as above.
                unsafe { touch_lines(ptr, len) };
                let frame = if self.untrusted {
                    // SAFETY: mapped, as above.
                    let copy = unsafe { ShmFrame::copied(ptr, len) };
                    self.rx.release(i, r, end);
                    copy
                } else {
                    // SAFETY: the record [r, end) was published (tail acquired
                    // above), is unreleased, and is released only by this
                    // frame's drop (the read position moved past it under the
                    // state's lock, so no other look hands it out); the bytes
                    // are inside it.
                    unsafe { ShmFrame::in_place(Arc::clone(&self.rx), i, r, end, ptr, len) }
                };
                return Found::Frame(frame);
            }
        }
        Found::Nothing
    }

    /// One look, then a drain if the senders are gone. `first` is a
    /// blocking receive's first look: it slips (see [`SLIP`]) if the
    /// producer is streaming, and records whether it found a message.
    fn outcome(&self, timed: bool, first: bool) -> Option<Result<ShmFrame, RawRecvError>> {
        let mut st = self.state.lock_unpoisoned();
        let slip = first && st.streaming;
        let found = self.poll(&mut st, slip);
        if first {
            // A single message found at once is a reply that came before
            // the look, not a stream: counting it would make the next
            // receive slip, find its reply there at once after the slip,
            // and so slip on every round trip.
            st.streaming = matches!(found, Found::Frame(_)) && st.more_behind;
        }
        match found {
            Found::Frame(f) => Some(Ok(f)),
            Found::Malformed(e) => Some(Err(RawRecvError::Malformed(e))),
            Found::Nothing => {
                if self.senders_gone(&st, timed) {
                    // Whatever was sent before the last sender left is
                    // visible now: drain it before saying disconnected.
                    match self.poll(&mut st, false) {
                        Found::Frame(f) => Some(Ok(f)),
                        Found::Malformed(e) => Some(Err(RawRecvError::Malformed(e))),
                        Found::Nothing => Some(Err(RawRecvError::Disconnected)),
                    }
                } else {
                    None
                }
            }
        }
    }
}

/// Fetches the first lines of what lane `i` of `chan` holds from `r` to the
/// tail `t` just read (from the next lap's start if the producer jumped at
/// `r`; `jump` is the lane's last jump), all at once, before the first
/// record's header is read: that header is among them, so its line no
/// longer comes alone before the rest. Any words give a range inside the
/// lane.
fn fetch_published(chan: &Chan, i: usize, r: u64, t: u64, jump: u64) {
    let lane_bytes = chan.geo.lane_bytes as u64;
    let from = if r == jump && r % lane_bytes != 0 {
        r + (lane_bytes - r % lane_bytes)
    } else {
        r
    };
    let off = (from % lane_bytes) as usize;
    let n = usize::try_from(t.saturating_sub(from)).map_or(0, |n| n.min(chan.geo.lane_bytes - off));
    // SAFETY: `off + n` is at most the lane's length, and the lane is
    // mapped.
    unsafe { touch_lines(chan.lane_data(i).add(off), n) };
}

/// Loads one byte of each cache line of the first [`TOUCH_BYTES`] of
/// `len` bytes at `ptr`, all at once, so that their transfers from the
/// producer's cache overlap: read as an archive, the lines would come one
/// after another (the root is at the end and points back to the rest).
/// Measured on round trips of the 256 B quote (`cargo xtask bench
/// --subjects shm --modes validated,unchecked`, two runs each way): p50
/// 0.94–1.03 µs with it, 1.17–1.35 µs without. Called on the range a new
/// tail publishes too, before the first header is read: unchecked p50
/// 0.58–0.60 µs against 0.63–0.71 µs with the per-record call alone (three
/// interleaved pairs, one machine state).
///
/// # Safety
/// `ptr..ptr + len` is mapped memory.
unsafe fn touch_lines(ptr: *const u8, len: usize) {
    let mut acc = 0u8;
    let mut at = 0;
    while at < len.min(TOUCH_BYTES) {
        // SAFETY: `at < len`, within the range the caller vouches for;
        // AtomicU8 has the layout of u8 and no alignment to keep.
        acc ^= unsafe { (*(ptr.add(at) as *const std::sync::atomic::AtomicU8)).load(Ordering::Relaxed) };
        at += 64;
    }
    std::hint::black_box(acc);
}

/// How much of a record [`touch_lines`] fetches ahead; past it the
/// hardware's own prefetcher follows a sequential read.
const TOUCH_BYTES: usize = 1024;

/// Spins for about `time` (a few clock reads), without giving up the CPU.
fn wait_briefly(time: Duration) {
    let until = Instant::now() + time;
    while Instant::now() < until {
        for _ in 0..4 {
            std::hint::spin_loop();
        }
    }
}

impl RawReceiver for ShmReceiver {
    type Frame = ShmFrame;

    /// The messages waiting in every lane and the capacity per producer,
    /// approximate (see the [module documentation](super#occupancy)).
    fn occupancy(&self) -> Option<Occupancy> {
        Some(self.rx.chan.occupancy())
    }

    fn recv_frame(&self, wait: Wait) -> Result<ShmFrame, RawRecvError> {
        // A look that passes a wrap stops at the tail it had read, which a
        // record after the wrap may be beyond; `wait_for`'s first look reads
        // the tail again, so a non-blocking call sees that record too.
        if let Some(r) = self.outcome(wait == Wait::Never, wait != Wait::Never) {
            return r;
        }
        let chan = &*self.rx.chan;
        let h = chan.header();
        chan.wait_for(&h.data_seq, &h.rx_sleeping, wait, Backoff::Eager, |timed| {
            self.outcome(timed, false)
        })
        .unwrap_or(Err(RawRecvError::NotReady))
    }
}

impl ShmReceiver {
    /// An async task's wait for data (see [`PollRecv`]): look, spin (with
    /// `spin`) as a blocking receive does, then register with the bridge
    /// and look once more, so a change in between is not missed.
    fn poll_ready_with(&self, cx: &mut Context<'_>, spin: bool) -> Poll<io::Result<()>> {
        let chan = &self.rx.chan;
        let link = match Link::get(&self.link, chan, Side::Recv) {
            Ok(link) => link,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if link.take_peer_dead() {
            self.senders.expire();
        }
        let ready = |timed| {
            let st = self.state.lock_unpoisoned();
            self.has_data(&st) || self.senders_gone(&st, timed)
        };
        if ready(true) || (spin && link.spin_until(|| ready(false))) {
            link.disarm();
            return Poll::Ready(Ok(()));
        }
        // A closed lane counts with its tail as it is now: its producer
        // writing on wakes the task for nothing, but never makes it look
        // ready for ever.
        let read_sum = {
            let st = self.state.lock_unpoisoned();
            (0..st.read.len()).fold(0u64, |sum, i| {
                let at = if st.closed[i] {
                    chan.lane(i).tail.load(Ordering::Acquire)
                } else {
                    st.read[i]
                };
                sum.wrapping_add(at)
            })
        };
        if let Err(e) = link.arm(cx.waker(), Probe::Recv { read_sum }) {
            return Poll::Ready(Err(e));
        }
        // Registered: anything from now on wakes the task. Look again for
        // what came before.
        if ready(false) {
            link.disarm();
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }
}

impl PollRecv for ShmReceiver {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready_with(cx, true)
    }

    fn register_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready_with(cx, false)
    }

    fn recv_ready_now(&self) -> Option<bool> {
        let st = self.state.lock_unpoisoned();
        Some(self.has_data(&st) || self.senders_gone(&st, false))
    }
}

impl Drop for ShmReceiver {
    fn drop(&mut self) {
        if let Some(link) = self.link.get() {
            link.forget();
        }
        if let Some(att) = self.att.take() {
            drop(att);
            self.rx.chan.depart();
        }
    }
}

impl Handoff for ShmReceiver {
    const KIND: &'static str = "shm.receiver";

    fn prepare(mut self, cmd: &mut Command) -> Result<String, HandoffError> {
        // Every in-place frame holds a reference to `rx`; only this
        // receiver holds another.
        if Arc::strong_count(&self.rx) != 1 {
            return Err(HandoffError::Unsupported {
                what: "a shared-memory receiver whose received messages are still alive",
            });
        }
        let att = self.att.take().ok_or(HandoffError::Unsupported {
            what: "a shared-memory receiver that was already handed off",
        })?;
        let token = att.hand_off(cmd).map_err(|e| HandoffError::Io {
            what: format!("shared memory segment `{}`", self.rx.chan.seg.name()),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(format!("{}:{token}", if self.untrusted { "u" } else { "t" }))
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        let (untrusted, token) = match payload.split_once(':') {
            Some(("u", t)) => (true, t),
            Some(("t", t)) => (false, t),
            _ => {
                return Err(OpenError::malformed(format!(
                    "`{payload}` is not a shared-memory receiver token"
                )));
            }
        };
        let token: Token = token.parse().map_err(OpenError::malformed)?;
        // The channel is checked before the hand-off is claimed: a failed
        // open leaves it to the right process.
        let segment = Segment::open(&token.name, Kind::Channel)?;
        let chan = Chan::open(Arc::clone(&segment))?;
        let att = Attachment::claim_in(segment, &token)?;
        Ok(ShmReceiver::new(chan, att, untrusted))
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        crate::segment::child_watch(crate::segment::Kind::Channel)
    }
}

#[cfg(test)]
mod tests;
