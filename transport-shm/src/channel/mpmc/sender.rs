//! The sending end of a multi-consumer ring: any number of producers.

use std::{
    fmt, io,
    mem::MaybeUninit,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    task::{Context, Poll},
};

use transport_core::{
    Handoff, HandoffError, Occupancy, OpenError,
    backend::{Fill, FrameWriter, PollSend, RawSendError, RawSender, Wait},
};

use super::{
    end::End,
    ring::{AtWrite, Ring, holder_of},
    state::{Holder, Kind, SlotState},
};
use crate::{
    channel::{
        chan::{Backoff, Chan, Monitor},
        layout::{ROLE_RECEIVER, ROLE_SENDER},
        link::Side,
    },
    segment::{Attachment, Kind as SegmentKind, Segment, Token},
};

/// The sending end of a multi-consumer shared-memory channel
/// ([`ShmMpmc`](super::ShmMpmc)).
///
/// A send claims the next slot of the ring, lets rkyv serialize the message
/// straight into it, and publishes it with one atomic store (plus a wake-up
/// call only if a consumer is asleep). Clones are further producers of the
/// same ring: `try_clone` is `None` only when the segment's participant
/// table is full. It is `Send` and `Sync`: threads may share one sender.
///
/// Async runtimes wait for room through [`PollSend`], which registers with
/// the process's bridge thread (see the [channel
/// documentation](crate::channel#async-readiness)).
pub struct ShmMpmcSender {
    pub(super) end: End,
    me: Holder,
    sends: AtomicU32,
    /// Set once the ring's words were found impossible: every send after
    /// that is `Disconnected`.
    broken: AtomicBool,
    receivers: Monitor,
}

/// What a producer's look for a slot found.
enum Claim {
    /// Position `p` is ours to write.
    Got(u64),
    /// The ring is full (or the look ran out of turns).
    NotYet,
    /// The ring's words are impossible.
    Broken(&'static str),
}

/// How many positions one look passes at most (others' claims, dead
/// holders), so that no word a peer writes keeps it going.
const LOOK_TURNS: usize = 256;

impl fmt::Debug for ShmMpmcSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmMpmcSender")
            .field("segment", &self.end.ring.chan.seg.name())
            .finish_non_exhaustive()
    }
}

impl ShmMpmcSender {
    pub(crate) fn new(ring: Arc<Ring>, att: Attachment) -> ShmMpmcSender {
        ShmMpmcSender {
            me: holder_of(&att),
            end: End::new(ring, att, Side::Send(0)),
            sends: AtomicU32::new(0),
            broken: AtomicBool::new(false),
            receivers: Monitor::new(ROLE_RECEIVER),
        }
    }

    /// The name of the channel's shared memory segment.
    pub fn segment_name(&self) -> &str {
        self.end.segment_name()
    }

    fn chan(&self) -> &Chan {
        &self.end.ring.chan
    }

    /// Whether every receiver is gone, or the ring broken.
    fn receivers_gone(&self, timed: bool) -> bool {
        self.broken.load(Ordering::Relaxed) || self.receivers.gone(self.chan(), timed)
    }

    /// One look for a slot to write: claims it if there is one.
    fn claim(&self) -> Claim {
        let ring = &*self.end.ring;
        let enq = ring.enq();
        for _ in 0..LOOK_TURNS {
            let p = enq.load(Ordering::Acquire);
            let (slot, lap) = ring.place(p);
            match ring.at_write(p) {
                AtWrite::Claim(word) => {
                    if ring.swap_state(slot, word, SlotState::held(Kind::Writing, lap, self.me)) {
                        Ring::advance(enq, p);
                        return Claim::Got(p);
                    }
                }
                AtWrite::Help => Ring::advance(enq, p),
                AtWrite::Full => return Claim::NotYet,
                AtWrite::Dead(word) => {
                    // Last lap's holder died: a producer's message was never
                    // published, a consumer's was received. Either way the
                    // slot is free for this lap; a consumer at the old
                    // position passes it.
                    if ring.swap_state(slot, word, SlotState::free(lap)) {
                        ring.wake_consumers();
                    }
                }
                AtWrite::Broken(why) => return Claim::Broken(why),
            }
        }
        Claim::NotYet
    }

    /// Whether a send would find a slot now (without claiming it), or
    /// every receiver is gone.
    fn writable(&self, timed: bool) -> bool {
        let p = self.end.ring.enq().load(Ordering::Acquire);
        !matches!(self.end.ring.at_write(p), AtWrite::Full) || self.receivers_gone(timed)
    }

    /// Marks the ring broken for this sender, for the reason given.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn broke(&self, why: &str) -> RawSendError {
        transport_core::event!(
            WARN,
            segment = self.segment_name(),
            reason = why,
            "shared-memory ring words impossible: the sender counts its receivers as gone"
        );
        self.broken.store(true, Ordering::Relaxed);
        RawSendError::Disconnected
    }

    /// Waits as `wait` allows until a slot is claimed.
    fn claim_slot(&self, wait: Wait) -> Result<u64, RawSendError> {
        let l = self.chan().lane(0);
        self.chan()
            .wait_for(
                &l.space_seq,
                &l.tx_sleeping,
                wait,
                Backoff::Growing,
                |timed| match self.claim() {
                    Claim::Got(p) => Some(Ok(p)),
                    Claim::Broken(why) => Some(Err(self.broke(why))),
                    Claim::NotYet => self
                        .receivers_gone(timed)
                        .then_some(Err(RawSendError::Disconnected)),
                },
            )
            .unwrap_or(Err(RawSendError::NotReady))
    }
}

/// A clone is another producer of the same ring: `None` only when the
/// segment has no participant entry left.
impl transport_core::MultiProducer for ShmMpmcSender {}

impl RawSender for ShmMpmcSender {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        // A departure is seen at once; a killed receiver every 256 sends
        // (and whenever the ring is full).
        let sends = self.sends.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if self.receivers_gone(sends % 256 == 0) {
            return Err(RawSendError::Disconnected);
        }
        let p = self.claim_slot(wait)?;
        let ring = &*self.end.ring;
        let (slot, lap) = ring.place(p);
        // SAFETY: slot `slot` holds `limit` message bytes (checked at
        // create/open), and they are ours alone: we hold the slot (its word
        // says writing, by us), consumers read it only once it is full, and
        // producers write only slots they claimed. Treated as uninitialised.
        let bytes =
            unsafe { std::slice::from_raw_parts_mut(ring.data(slot) as *mut MaybeUninit<u8>, ring.limit()) };
        let mut writer = FrameWriter::slice(bytes);
        let len = match fill(&mut writer) {
            Err(e) => {
                writer.abort();
                Err(RawSendError::Serialize(e))
            }
            Ok(()) => writer.finish().map_err(RawSendError::from),
        };
        let len = match len {
            Ok(len) => len,
            Err(e) => {
                // Nothing was published: the slot goes free for the next
                // lap, and a consumer waiting at this position passes it.
                ring.state(slot)
                    .store(SlotState::free(lap.wrapping_add(1)).encode(), Ordering::SeqCst);
                ring.wake_consumers();
                ring.wake_producers();
                return Err(e);
            }
        };
        ring.len_word(slot).store(len as u64, Ordering::Relaxed);
        // SeqCst orders the store before the sleeper check (a consumer
        // flags itself asleep, then looks again).
        ring.state(slot)
            .store(SlotState::full(lap).encode(), Ordering::SeqCst);
        ring.wake_consumers();
        Ok(())
    }

    fn send_bytes(&self, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        // The length is known: refuse before taking a position (see the
        // module docs on failed sends).
        if bytes.len() > self.end.ring.limit() {
            return Err(RawSendError::TooLarge {
                len: bytes.len(),
                limit: self.end.ring.limit(),
            });
        }
        self.send_frame(wait, &mut |w| {
            w.write_bytes(bytes);
            Ok(())
        })
    }

    fn max_message_size(&self) -> usize {
        self.end.ring.limit()
    }

    fn try_clone(&self) -> Option<Self> {
        let att = Attachment::join(&self.end.ring.chan.seg, ROLE_SENDER).ok()?;
        Some(ShmMpmcSender::new(Arc::clone(&self.end.ring), att))
    }

    fn occupancy(&self) -> Option<Occupancy> {
        Some(Occupancy::new(self.end.ring.queued(), Some(self.end.ring.slots)))
    }
}

impl PollSend for ShmMpmcSender {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.end
            .poll_ready(cx, &self.receivers, true, |timed| self.writable(timed))
    }
}

impl Handoff for ShmMpmcSender {
    const KIND: &'static str = "shm.mpmc.sender";

    fn prepare(mut self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.end
            .hand_off(cmd, "a shared-memory sender that was already handed off")
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        let (ring, att) = open_end(payload)?;
        Ok(ShmMpmcSender::new(ring, att))
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        crate::segment::child_watch(crate::segment::Kind::Channel)
    }
}

/// Opens the ring and claims the end a hand-off token names. The ring is
/// checked before the hand-off is claimed: a failed open leaves it to the
/// right process.
pub(super) fn open_end(payload: &str) -> Result<(Arc<Ring>, Attachment), OpenError> {
    let token: Token = payload.parse().map_err(OpenError::malformed)?;
    let segment = Segment::open(&token.name, SegmentKind::Channel)?;
    let chan = Chan::open(Arc::clone(&segment))?;
    let ring = Ring::open(chan)?;
    let att = Attachment::claim_in(segment, &token)?;
    Ok((Arc::new(ring), att))
}
