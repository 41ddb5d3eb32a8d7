//! An end's registration with the bridge thread: which word wakes it, who
//! counts as its sleepers, and how to tell it is ready without a wake-up.

use std::{
    fmt, io,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    task::Waker,
};

use super::{
    bridge::Bridge,
    chan::Chan,
    layout::{ROLE_RECEIVER, ROLE_SENDER},
};

/// Which side of a channel an end is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The receiver.
    Recv,
    /// The sender on this lane.
    Send(usize),
}

/// What an end looked like when it armed, so the bridge can tell it is
/// ready without a wake-up from the peer (busy-poll peers send none).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Probe {
    /// The sum of the receiver's read positions over its lanes: data waits
    /// when the sum of the lanes' tails differs (each read position is at
    /// most its lane's tail, and tails only grow).
    Recv { read_sum: u64 },
    /// The sender's tail, the message size it waits room for, and the head
    /// the consumer must reach for the message capacity.
    Send { start: u64, len: usize, min_head: u64 },
    /// Ready only when the word changes: an end of a multi-consumer ring,
    /// which never busy-polls, so its peers always bump the word.
    Word,
}

/// An end's registration with the bridge, shared by the end and the
/// bridge's table.
pub(crate) struct Link {
    bridge: &'static Bridge,
    pub(super) chan: Arc<Chan>,
    side: Side,
    /// Whether the bridge's table holds this link (written under its lock).
    pub(super) armed: AtomicBool,
    /// Set by the bridge when it found every peer dead.
    pub(super) peer_dead: AtomicBool,
    /// Set when a look's spin ran out with the end not ready; cleared
    /// when it is found ready. See [`Link::spin_until`].
    quiet: AtomicBool,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("segment", &self.chan.seg.name())
            .field("side", &self.side)
            .field("armed", &self.armed)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// The link in `cell`, made for the end (`chan`, `side`) on first use.
    ///
    /// # Errors
    /// When the bridge cannot be set up (Windows: no event).
    pub(crate) fn get<'a>(
        cell: &'a OnceLock<Arc<Link>>,
        chan: &Arc<Chan>,
        side: Side,
    ) -> io::Result<&'a Arc<Link>> {
        if let Some(link) = cell.get() {
            return Ok(link);
        }
        let link = Link::new(Bridge::global()?, chan, side);
        Ok(cell.get_or_init(|| link))
    }

    /// A link of the end (`chan`, `side`) with `bridge`.
    pub(crate) fn new(bridge: &'static Bridge, chan: &Arc<Chan>, side: Side) -> Arc<Link> {
        Arc::new(Link {
            bridge,
            chan: Arc::clone(chan),
            side,
            armed: AtomicBool::new(false),
            peer_dead: AtomicBool::new(false),
            quiet: AtomicBool::new(false),
        })
    }

    /// The word the peer bumps to wake this end.
    pub(super) fn word(&self) -> &AtomicU32 {
        match self.side {
            Side::Recv => &self.chan.header().data_seq,
            Side::Send(lane) => &self.chan.lane(lane).space_seq,
        }
    }

    /// This end's sleeping flag, which the peer checks and clears.
    pub(super) fn sleeping(&self) -> &AtomicU32 {
        match self.side {
            Side::Recv => &self.chan.header().rx_sleeping,
            Side::Send(lane) => &self.chan.lane(lane).tx_sleeping,
        }
    }

    /// Whether any peer of this end is alive (reads `/proc` or the like).
    pub(super) fn peer_alive(&self) -> bool {
        let role = match self.side {
            Side::Recv => ROLE_SENDER,
            Side::Send(_) => ROLE_RECEIVER,
        };
        self.chan.seg.role_alive(role)
    }

    /// Whether `probe` says this end is ready.
    pub(super) fn ready(&self, probe: Probe) -> bool {
        let chan = &*self.chan;
        match probe {
            Probe::Recv { read_sum } => {
                let tails = (0..chan.geo.lanes).fold(0u64, |sum, i| {
                    sum.wrapping_add(chan.lane(i).tail.load(Ordering::Acquire))
                });
                tails != read_sum
            }
            Probe::Send { start, len, min_head } => {
                let Side::Send(lane) = self.side else {
                    return false;
                };
                let head = chan.lane(lane).head.load(Ordering::Acquire);
                chan.room(start, head, len) && head >= min_head
            }
            Probe::Word => false,
        }
    }

    /// Asks the bridge to wake `waker` when this end may be ready. The
    /// caller looks again afterwards: a change after this call wakes.
    ///
    /// # Errors
    /// When the bridge thread cannot be started.
    pub(crate) fn arm(self: &Arc<Self>, waker: &Waker, probe: Probe) -> io::Result<()> {
        self.bridge.arm(self, waker, probe)
    }

    /// Spins as [`Chan::spin_until`] does (so that a busy exchange never
    /// pays the bridge's two wake-ups), unless this end's last spin ran
    /// out without it becoming ready since: an end that stays idle (one of
    /// many a `Select` looks at, say) is looked at once and registers, and
    /// costs no spin on every look, which held up the look at the end that
    /// was ready. Whether `ready` came to hold.
    pub(crate) fn spin_until(&self, ready: impl FnMut() -> bool) -> bool {
        if self.quiet.load(Ordering::Relaxed) {
            return false;
        }
        let got = self.chan.spin_until(ready);
        if !got {
            self.quiet.store(true, Ordering::Relaxed);
        }
        got
    }

    /// Whether this end's last spin ran out and it was not ready since.
    #[cfg(test)]
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet.load(Ordering::Relaxed)
    }

    /// Withdraws this end's registration, if any: it is ready without the
    /// bridge's help (so its next look spins again).
    pub(crate) fn disarm(&self) {
        self.quiet.store(false, Ordering::Relaxed);
        if self.armed.load(Ordering::SeqCst) {
            self.bridge.disarm(self);
        }
    }

    /// Withdraws this end's registration for good (the end is dropped), and
    /// waits until the bridge holds none of its mapping.
    pub(crate) fn forget(self: &Arc<Self>) {
        if self.armed.load(Ordering::SeqCst) || Arc::strong_count(self) > 1 {
            self.bridge.forget(self);
        }
    }

    /// Whether the bridge found the peers dead since the last call.
    pub(crate) fn take_peer_dead(&self) -> bool {
        // A plain load first: the swap is for the rare case.
        self.peer_dead.load(Ordering::Relaxed) && self.peer_dead.swap(false, Ordering::SeqCst)
    }

    /// Undoes arming (with the bridge's lock held).
    pub(super) fn release(&self) {
        // The sleeping flag stays: another waiter of this end may rely on
        // it, and the peer clears it with its next wake-up.
        self.armed.store(false, Ordering::SeqCst);
    }
}
