//! The header at the start of every segment: what the segment holds, and the
//! table of its participants with their liveness.
//!
//! Every field is an atomic: a segment is read by processes that may die at
//! any instruction, and by cleanup code that trusts nothing in it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::{liveness::Identity, sys};

/// Written last when a segment is ready: "tshmSEG" and the layout version
/// (`5`). Each layout has its own, so code built for another layout (an
/// older build of this crate on the same machine) never reads this one's
/// participant table as its own, and this code never judges theirs.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"tshmSEG5");

/// Whether `magic` is that of a segment of this crate, of any layout.
pub(crate) fn is_magic_of_any_layout(magic: u64) -> bool {
    magic.to_le_bytes()[..7] == *b"tshmSEG"
}
/// The layout version; a segment of another version is refused.
pub(crate) const VERSION: u32 = 5;
/// How many participants (process × role) one segment tracks.
pub(crate) const MAX_PARTICIPANTS: usize = 64;
/// Where the payload starts: the header is padded to a page.
pub(crate) const PAYLOAD_OFFSET: usize = 4096;

/// A participant entry's state (the low 8 bits of its state word; the high
/// 32 bits are a nonce that tells reservations apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Unused.
    Free,
    /// Handed to a child that has not opened it yet; the handing process
    /// (and the child, once its pid is known) keep it alive.
    Pending,
    /// In use by a process.
    Active,
    /// Being taken or claimed right now.
    Busy,
}

impl State {
    fn from_word(word: u64) -> State {
        match word & 0xFF {
            0 => State::Free,
            1 => State::Pending,
            2 => State::Active,
            _ => State::Busy,
        }
    }

    fn code(self) -> u64 {
        match self {
            State::Free => 0,
            State::Pending => 1,
            State::Active => 2,
            State::Busy => 0xFF,
        }
    }
}

/// Packs a state word.
pub(crate) fn word(state: State, nonce: u32) -> u64 {
    (u64::from(nonce) << 32) | state.code()
}

/// One participant: a process using the segment in some role.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Participant {
    state: AtomicU64,
    /// The child a pending entry was handed to: the entry's nonce in the
    /// high 32 bits, the child's process id in the low ones (0 until a
    /// child of the handing command started; see `sys::record_child_pid`).
    child: AtomicU64,
    /// That child's start time (0: unknown).
    child_start: AtomicU64,
    holder_start: AtomicU64,
    start: AtomicU64,
    role: AtomicU32,
    holder_pid: AtomicU32,
    pid: AtomicU32,
    /// The last process the handing command spawned after the first (a
    /// command spawned twice): its claim is told "already used".
    late_child: AtomicU32,
}

/// Why a claim failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClaimError {
    /// No pending hand-off with that nonce is there.
    Gone,
    /// Another process claimed it, or the command was spawned again and
    /// its first child has it.
    AlreadyUsed,
    /// It was handed to another process (its pid, 0 if that child has not
    /// started).
    NotTheChild(u32),
}

impl Participant {
    /// The state and nonce.
    pub(crate) fn state(&self) -> (State, u32) {
        let w = self.state.load(Ordering::Acquire);
        (State::from_word(w), (w >> 32) as u32)
    }

    /// The role the owner of the segment gave this participant.
    pub(crate) fn role(&self) -> u32 {
        self.role.load(Ordering::Acquire)
    }

    /// Takes a free entry for `role`: active for `me`, or pending held by
    /// `me`. True if it was free.
    pub(crate) fn take(&self, role: u32, me: Identity, state: State, nonce: u32) -> bool {
        let busy = word(State::Pending, 0) | 0xFF;
        // Mark busy first so nobody reads half-written identities as live.
        let Ok(_) = self
            .state
            .compare_exchange(0, busy, Ordering::AcqRel, Ordering::Relaxed)
            .or_else(|cur| {
                if State::from_word(cur) == State::Free {
                    self.state
                        .compare_exchange(cur, busy, Ordering::AcqRel, Ordering::Relaxed)
                } else {
                    Err(cur)
                }
            })
        else {
            return false;
        };
        self.role.store(role, Ordering::Relaxed);
        let child = if state == State::Pending {
            u64::from(nonce) << 32
        } else {
            0
        };
        self.child.store(child, Ordering::Relaxed);
        self.child_start.store(0, Ordering::Relaxed);
        self.late_child.store(0, Ordering::Relaxed);
        self.holder_pid.store(me.pid, Ordering::Relaxed);
        self.holder_start.store(me.start, Ordering::Relaxed);
        self.pid.store(me.pid, Ordering::Relaxed);
        self.start.store(me.start, Ordering::Relaxed);
        self.state.store(word(state, nonce), Ordering::Release);
        true
    }

    /// Records `pid`, started at `start` (0: unknown), as the child the
    /// pending entry with `nonce` was handed to, where the system could not
    /// before the child ran (see `sys::RECORDS_CHILD_PID`): from then on
    /// the entry lives as long as that child, not as long as the handing
    /// process, and only that child may claim it. Does nothing if the
    /// entry was claimed or freed, or a child is recorded already.
    pub(crate) fn record_child(&self, nonce: u32, pid: u32, start: u64) -> bool {
        if self.state() != (State::Pending, nonce) || pid == 0 {
            return false;
        }
        let unknown = u64::from(nonce) << 32;
        // The start first, so the pid is never read with another child's
        // start; put back if the pid cannot be recorded.
        if start != 0
            && self
                .child_start
                .compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        let recorded = self
            .child
            .compare_exchange(
                unknown,
                unknown | u64::from(pid),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok();
        if !recorded && start != 0 {
            let _ = self
                .child_start
                .compare_exchange(start, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
        recorded
    }

    /// Turns the pending entry with `nonce` into an active one for `me`,
    /// if `me` is the child it was handed to (where the system records
    /// children before they run, see `sys::RECORDS_CHILD_PID`, or the
    /// child was recorded since: `record_child`). A failed claim changes
    /// nothing, so the real child's claim still works after it.
    pub(crate) fn claim(&self, nonce: u32, me: Identity) -> Result<(), ClaimError> {
        let pending = word(State::Pending, nonce);
        let child = self.child.load(Ordering::Acquire);
        if (child >> 32) as u32 == nonce && (sys::RECORDS_CHILD_PID || child as u32 != 0) {
            let pid = child as u32;
            if pid != me.pid {
                let late = self.late_child.load(Ordering::Acquire);
                return Err(if pid != 0 && late == me.pid {
                    ClaimError::AlreadyUsed
                } else {
                    ClaimError::NotTheChild(pid)
                });
            }
            // The same pid: the same process, unless the pid was
            // reused after that child died.
            let start = self.child_start.load(Ordering::Acquire);
            if start != 0 && start != me.start {
                return Err(ClaimError::NotTheChild(pid));
            }
        }
        let cur = self.state.load(Ordering::Acquire);
        if cur != pending {
            let same_nonce = (cur >> 32) as u32 == nonce;
            return Err(if same_nonce && State::from_word(cur) != State::Free {
                ClaimError::AlreadyUsed
            } else {
                ClaimError::Gone
            });
        }
        // A claimed entry is live through its holder until it is active.
        if self
            .state
            .compare_exchange(pending, pending | 0x80, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return Err(ClaimError::AlreadyUsed);
        }
        self.pid.store(me.pid, Ordering::Relaxed);
        self.start.store(me.start, Ordering::Relaxed);
        self.state.store(word(State::Active, nonce), Ordering::Release);
        Ok(())
    }

    /// Turns this process's active entry into a pending one held by `me`,
    /// for a child to claim with the same nonce.
    pub(crate) fn hand_off(&self, nonce: u32, me: Identity) -> bool {
        let active = word(State::Active, nonce);
        let busy = word(State::Pending, nonce) | 0x80;
        if self
            .state
            .compare_exchange(active, busy, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.child.store(u64::from(nonce) << 32, Ordering::Relaxed);
        self.child_start.store(0, Ordering::Relaxed);
        self.late_child.store(0, Ordering::Relaxed);
        self.holder_pid.store(me.pid, Ordering::Relaxed);
        self.holder_start.store(me.start, Ordering::Relaxed);
        self.state.store(word(State::Pending, nonce), Ordering::Release);
        true
    }

    /// Frees the entry if it still holds `expected` (a word read earlier).
    pub(crate) fn free_if(&self, expected: (State, u32)) -> bool {
        let (state, nonce) = expected;
        self.state
            .compare_exchange(word(state, nonce), 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// Whether this is an active entry of `me`.
    pub(crate) fn is_active_of(&self, me: Identity) -> bool {
        self.state().0 == State::Active
            && self.pid.load(Ordering::Relaxed) == me.pid
            && self.start.load(Ordering::Relaxed) == me.start
    }

    /// Whether this is a pending entry held by `me` whose child never
    /// started (no pid recorded): on Unix the pid is recorded before the
    /// child runs, so its `Command` was never spawned.
    pub(crate) fn is_unspawned_hand_off_of(&self, me: Identity) -> Option<(State, u32)> {
        let st = self.state();
        let unspawned = st.0 == State::Pending
            && self.child.load(Ordering::Acquire) as u32 == 0
            && self.holder_pid.load(Ordering::Relaxed) == me.pid
            && self.holder_start.load(Ordering::Relaxed) == me.start;
        unspawned.then_some(st)
    }

    /// The words a child of the handing command records itself in (see
    /// `sys::record_child_pid`).
    pub(crate) fn child_slots(&self) -> sys::ChildSlots<'_> {
        sys::ChildSlots {
            child: &self.child,
            start: &self.child_start,
            late: &self.late_child,
        }
    }

    /// Whether the process(es) behind this entry are alive: the owner of an
    /// active entry; the child (once known) or else the holder of a pending
    /// one. Entries being written count as alive.
    pub(crate) fn is_alive(&self) -> bool {
        let w = self.state.load(Ordering::Acquire);
        if w & 0xFF == 0xFF || w & 0x80 != 0 {
            // Being taken or claimed: the writer is alive right now, or
            // died in the middle of it; the holder decides.
            return Identity {
                pid: self.holder_pid.load(Ordering::Relaxed),
                start: self.holder_start.load(Ordering::Relaxed),
            }
            .is_alive()
                || self.child_is_alive();
        }
        match State::from_word(w) {
            State::Free | State::Busy => false,
            State::Active => Identity {
                pid: self.pid.load(Ordering::Relaxed),
                start: self.start.load(Ordering::Relaxed),
            }
            .is_alive(),
            State::Pending => {
                if self.child.load(Ordering::Acquire) as u32 != 0 {
                    self.child_is_alive()
                } else {
                    Identity {
                        pid: self.holder_pid.load(Ordering::Relaxed),
                        start: self.holder_start.load(Ordering::Relaxed),
                    }
                    .is_alive()
                }
            }
        }
    }

    fn child_is_alive(&self) -> bool {
        let pid = self.child.load(Ordering::Acquire) as u32;
        let start = self.child_start.load(Ordering::Acquire);
        match start {
            0 => pid != 0 && sys::process_start(pid).is_some(),
            _ => Identity { pid, start }.is_alive(),
        }
    }
}

/// The segment header.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) magic: AtomicU64,
    pub(crate) version: AtomicU32,
    pub(crate) kind: AtomicU32,
    pub(crate) size: AtomicU64,
    pub(crate) creator_pid: AtomicU32,
    _pad: AtomicU32,
    pub(crate) creator_start: AtomicU64,
    pub(crate) wait_buckets: [AtomicU32; sys::WAIT_BUCKETS],
    pub(crate) participants: [Participant; MAX_PARTICIPANTS],
}

const _: () = assert!(std::mem::size_of::<Header>() <= PAYLOAD_OFFSET);
const _: () = assert!(std::mem::size_of::<Participant>() == 56);

impl Header {
    /// Whether any participant is alive.
    pub(crate) fn any_alive(&self) -> bool {
        self.participants.iter().any(Participant::is_alive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Participant {
        Participant {
            state: AtomicU64::new(0),
            child: AtomicU64::new(0),
            child_start: AtomicU64::new(0),
            holder_start: AtomicU64::new(0),
            start: AtomicU64::new(0),
            role: AtomicU32::new(0),
            holder_pid: AtomicU32::new(0),
            pid: AtomicU32::new(0),
            late_child: AtomicU32::new(0),
        }
    }

    #[test]
    fn a_recorded_child_alone_may_claim_and_keeps_the_entry_alive() {
        let me = Identity::current();
        let p = empty();
        assert!(p.take(1, me, State::Pending, 7));
        // The child's pid: this process, so that it is alive and may claim.
        assert!(!p.record_child(8, me.pid, me.start), "another hand-off's nonce");
        assert!(p.record_child(7, me.pid, me.start));
        assert!(!p.record_child(7, me.pid + 1, 0), "a child is recorded already");
        assert!(p.is_alive());
        let stranger = Identity {
            pid: me.pid + 1,
            start: me.start,
        };
        assert_eq!(p.claim(7, stranger), Err(ClaimError::NotTheChild(me.pid)));
        assert_eq!(p.claim(7, me), Ok(()));
        assert_eq!(p.state(), (State::Active, 7));
        assert!(!p.record_child(7, me.pid, me.start), "claimed already");
    }

    #[test]
    fn a_pending_entry_whose_recorded_child_is_gone_is_dead() {
        let me = Identity::current();
        let p = empty();
        assert!(p.take(1, me, State::Pending, 7));
        assert!(p.is_alive(), "held by this process");
        // A start time no process has: the child has exited (or the pid is
        // another process's now).
        assert!(p.record_child(7, me.pid, me.start ^ 1));
        assert!(!p.is_alive());
    }
}
