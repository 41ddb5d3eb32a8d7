//! The receiving end of a multi-consumer ring: any number of consumers,
//! each message to exactly one of them.

use std::{
    fmt, io,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use rkyv::util::AlignedVec;
use transport_core::{
    Handoff, HandoffError, MalformedFrame, Occupancy, OpenError,
    backend::{FRAME_ALIGN, PollRecv, RawReceiver, RawRecvError, Wait},
};

use super::{
    end::End,
    ring::{AtRead, Ring, holder_of},
    sender::open_end,
    state::{Holder, Kind, SlotState},
};
use crate::{
    channel::{
        chan::{Backoff, Chan, Monitor},
        layout::ROLE_RECEIVER,
        link::Side,
    },
    segment::Attachment,
};

/// The receiving end of a multi-consumer shared-memory channel
/// ([`ShmMpmc`](super::ShmMpmc)).
///
/// A receive claims the oldest published message, copies it out of the
/// ring into an aligned buffer of its own and frees the slot at once, so a
/// consumer that keeps a message long holds up no producer. Clones
/// (`try_clone`, in this process or handed to a child) are further
/// consumers of the same ring: each message goes to exactly one of them,
/// and each consumer gets its share in the order it was sent. `try_clone`
/// is `None` only when the segment's participant table is full. It is
/// `Send` and `Sync`: threads may share one receiver.
///
/// Async runtimes wait through [`PollRecv`], which registers with the
/// process's bridge thread (see the [channel
/// documentation](crate::channel#async-readiness)).
pub struct ShmMpmcReceiver {
    pub(super) end: End,
    me: Holder,
    /// Set once the ring's words were found impossible (reported once as
    /// malformed): every receive after that is `Disconnected`.
    broken: AtomicBool,
    senders: Monitor,
}

/// What one look for a message found.
enum Found {
    Frame(AlignedVec<FRAME_ALIGN>),
    Malformed(MalformedFrame),
    Nothing,
}

/// How many positions one look passes at most (others' claims, dead
/// holders), so that no word a peer writes keeps it going.
const LOOK_TURNS: usize = 256;

impl fmt::Debug for ShmMpmcReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmMpmcReceiver")
            .field("segment", &self.end.ring.chan.seg.name())
            .finish_non_exhaustive()
    }
}

impl ShmMpmcReceiver {
    pub(crate) fn new(ring: Arc<Ring>, att: Attachment) -> ShmMpmcReceiver {
        ShmMpmcReceiver {
            me: holder_of(&att),
            end: End::new(ring, att, Side::Recv),
            broken: AtomicBool::new(false),
            senders: Monitor::senders(),
        }
    }

    /// The name of the channel's shared memory segment.
    pub fn segment_name(&self) -> &str {
        self.end.segment_name()
    }

    fn chan(&self) -> &Chan {
        &self.end.ring.chan
    }

    /// Whether every sender is gone.
    fn senders_gone(&self, timed: bool) -> bool {
        self.senders.gone(self.chan(), timed)
    }

    /// Whether a receive would find something to do now: a message, a slot
    /// to pass, or words to report.
    fn has_data(&self) -> bool {
        let d = self.end.ring.deq().load(Ordering::Acquire);
        !matches!(self.end.ring.at_read(d), AtRead::Empty)
    }

    /// One look: takes the oldest published message, if any.
    ///
    /// Every word is read once and checked (see [`Ring::at_read`]); the
    /// look passes at most [`LOOK_TURNS`] positions.
    fn take(&self) -> Found {
        let ring = &*self.end.ring;
        let deq = ring.deq();
        for _ in 0..LOOK_TURNS {
            let d = deq.load(Ordering::Acquire);
            let (slot, lap) = ring.place(d);
            match ring.at_read(d) {
                AtRead::Take(word) => {
                    if !ring.swap_state(slot, word, SlotState::held(Kind::Reading, lap, self.me)) {
                        continue;
                    }
                    Ring::advance(deq, d);
                    let found = self.copy_out(slot);
                    ring.state(slot)
                        .store(SlotState::free(lap.wrapping_add(1)).encode(), Ordering::SeqCst);
                    ring.wake_producers();
                    return found;
                }
                AtRead::Help => Ring::advance(deq, d),
                AtRead::Empty => return Found::Nothing,
                AtRead::DeadWriter(word) => {
                    // Never published: pass it, freeing the slot for the
                    // next lap.
                    if ring.swap_state(slot, word, SlotState::free(lap.wrapping_add(1))) {
                        Ring::advance(deq, d);
                        ring.wake_producers();
                    }
                }
                AtRead::DeadReader(word) => {
                    // Last lap's message, received by a consumer that died
                    // copying it: the slot is free for this lap.
                    if ring.swap_state(slot, word, SlotState::free(lap)) {
                        ring.wake_producers();
                    }
                }
                AtRead::Broken(why) => {
                    self.broken.store(true, Ordering::Relaxed);
                    return Found::Malformed(MalformedFrame::new(format!(
                        "shared-memory ring `{}`: a slot's state word {why}",
                        self.segment_name()
                    )));
                }
            }
        }
        Found::Nothing
    }

    /// Copies the message of slot `slot`, which this receiver holds, out of
    /// the ring; a length past the limit is malformed.
    fn copy_out(&self, slot: usize) -> Found {
        let ring = &*self.end.ring;
        // Read once: the claim's `SeqCst` exchange made the producer's
        // writes before it published the slot visible.
        let len = ring.len_word(slot).load(Ordering::Relaxed);
        let Some(len) = usize::try_from(len).ok().filter(|&l| l <= ring.limit()) else {
            return Found::Malformed(MalformedFrame::new(format!(
                "shared-memory ring `{}`: a message length of {len} bytes is past the limit of {}",
                self.segment_name(),
                ring.limit()
            )));
        };
        let mut copy = AlignedVec::<FRAME_ALIGN>::with_capacity(len);
        // SAFETY: `len <= limit`, and the slot holds `limit` message bytes.
        // We hold the slot (its word says reading, by us): its producer
        // published it and writes no more, and no other producer writes a
        // slot before it is freed (the crate's trust model: a peer that
        // breaks this protocol is outside it).
        let bytes = unsafe { std::slice::from_raw_parts(ring.data(slot), len) };
        copy.extend_from_slice(bytes);
        Found::Frame(copy)
    }

    fn outcome(&self, timed: bool) -> Option<Result<AlignedVec<FRAME_ALIGN>, RawRecvError>> {
        if self.broken.load(Ordering::Relaxed) {
            return Some(Err(RawRecvError::Disconnected));
        }
        let result = |found| match found {
            Found::Frame(f) => Some(Ok(f)),
            Found::Malformed(e) => Some(Err(RawRecvError::Malformed(e))),
            Found::Nothing => None,
        };
        if let Some(r) = result(self.take()) {
            return Some(r);
        }
        if !self.senders_gone(timed) {
            return None;
        }
        // Whatever was sent before the last sender left is visible now:
        // drain it before saying disconnected.
        Some(result(self.take()).unwrap_or(Err(RawRecvError::Disconnected)))
    }
}

/// A clone is another consumer of the same ring: `None` only when the
/// segment has no participant entry left.
impl transport_core::MultiConsumer for ShmMpmcReceiver {}

impl RawReceiver for ShmMpmcReceiver {
    type Frame = AlignedVec<FRAME_ALIGN>;

    fn recv_frame(&self, wait: Wait) -> Result<AlignedVec<FRAME_ALIGN>, RawRecvError> {
        if let Some(r) = self.outcome(wait == Wait::Never) {
            return r;
        }
        let h = self.chan().header();
        self.chan()
            .wait_for(&h.data_seq, &h.rx_sleeping, wait, Backoff::Eager, |timed| {
                self.outcome(timed)
            })
            .unwrap_or(Err(RawRecvError::NotReady))
    }

    fn try_clone(&self) -> Option<Self> {
        let att = Attachment::join(&self.end.ring.chan.seg, ROLE_RECEIVER).ok()?;
        Some(ShmMpmcReceiver::new(Arc::clone(&self.end.ring), att))
    }

    fn occupancy(&self) -> Option<Occupancy> {
        Some(Occupancy::new(self.end.ring.queued(), Some(self.end.ring.slots)))
    }
}

impl ShmMpmcReceiver {
    /// Whether a receive would make progress: a slot to take, a broken
    /// ring to report, or no sender left (`timed`: looked for against the
    /// clock).
    fn ready(&self, timed: bool) -> bool {
        self.broken.load(Ordering::Relaxed) || self.has_data() || self.senders_gone(timed)
    }
}

impl PollRecv for ShmMpmcReceiver {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.end
            .poll_ready(cx, &self.senders, true, |timed| self.ready(timed))
    }

    fn register_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.end
            .poll_ready(cx, &self.senders, false, |timed| self.ready(timed))
    }

    fn recv_ready_now(&self) -> Option<bool> {
        Some(self.ready(false))
    }
}

impl Handoff for ShmMpmcReceiver {
    const KIND: &'static str = "shm.mpmc.receiver";

    fn prepare(mut self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.end
            .hand_off(cmd, "a shared-memory receiver that was already handed off")
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        let (ring, att) = open_end(payload)?;
        Ok(ShmMpmcReceiver::new(ring, att))
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        crate::segment::child_watch(crate::segment::Kind::Channel)
    }
}
