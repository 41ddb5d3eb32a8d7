//! The robust process-shared lock every guarded object uses.
//!
//! The lock word holds its owner: the owner's participant entry index + 1
//! in bits 0–7 and the low 23 bits of the entry's nonce in bits 8–30; bit 31
//! says someone may be asleep on it. Unlocking swaps in 0 and wakes a
//! sleeper only if that bit was set, so an uncontended lock and unlock are
//! one atomic each, with no system call.
//!
//! Robustness: a waiter that has waited for [`LIVENESS_PERIOD`] checks
//! whether the owner named in the word is still alive (its process id and
//! start time). If the owner died, or left, while holding the lock, the
//! waiter takes the word over with one compare-and-swap and is told that the
//! previous owner died; exactly one waiter wins, and nobody deadlocks.

use std::{
    error::Error,
    fmt, hint,
    sync::atomic::{AtomicU32, Ordering},
    time::Instant,
};

use crate::{channel::LIVENESS_PERIOD, shared::object::Object};

const CONTENDED: u32 = 1 << 31;
/// The nonce bits a lock word keeps.
pub(crate) const NONCE_MASK: u32 = 0x7F_FFFF;
const SPINS: u32 = 4000;

/// How a lock was acquired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acquired {
    /// From a live owner or a free lock.
    Clean,
    /// From an owner that died holding it.
    OwnerDied,
}

fn owner_alive(obj: &Object, word: u32) -> bool {
    let index = (word & 0xFF) as usize;
    index != 0
        && obj
            .segment()
            .participant_alive_masked(index - 1, (word >> 8) & NONCE_MASK, NONCE_MASK)
}

/// Tries once to take a free lock.
pub(crate) fn try_lock(obj: &Object, word: &AtomicU32) -> bool {
    word.compare_exchange(0, obj.owner_word(), Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
}

/// Takes the lock, waiting until `deadline` at most; `None` on time-out.
pub(crate) fn lock(obj: &Object, word: &AtomicU32, deadline: Option<Instant>) -> Option<Acquired> {
    let me = obj.owner_word();
    // Spin with a growing pause between looks: a waiter that reads the
    // word less often lets the holder keep its cache lines longer.
    let mut pause = 1u32;
    let mut spun = 0u32;
    while spun < SPINS {
        let cur = word.load(Ordering::Relaxed);
        if cur == 0 {
            if word
                .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Some(Acquired::Clean);
            }
        } else if cur & CONTENDED != 0 {
            break;
        }
        for _ in 0..pause {
            hint::spin_loop();
        }
        spun += pause;
        pause = (pause * 2).min(64);
    }
    let started = Instant::now();
    let mut next_check = started + LIVENESS_PERIOD;
    loop {
        let cur = word.load(Ordering::Relaxed);
        if cur == 0 {
            // Others may be asleep: keep the bit so our unlock wakes them.
            if word
                .compare_exchange(0, me | CONTENDED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Some(Acquired::Clean);
            }
            continue;
        }
        if cur & CONTENDED == 0
            && word
                .compare_exchange(cur, cur | CONTENDED, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            continue;
        }
        let cur = cur | CONTENDED;
        let now = Instant::now();
        if now >= next_check {
            next_check = now + LIVENESS_PERIOD;
            if !owner_alive(obj, cur) {
                if word
                    .compare_exchange(cur, me | CONTENDED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Some(Acquired::OwnerDied);
                }
                continue;
            }
        }
        let mut timeout = next_check.saturating_duration_since(now);
        if let Some(d) = deadline {
            if now >= d {
                return None;
            }
            timeout = timeout.min(d - now);
        }
        obj.segment().wait(word, cur, Some(timeout));
    }
}

/// Releases the lock.
pub(crate) fn unlock(obj: &Object, word: &AtomicU32) {
    if word.swap(0, Ordering::Release) & CONTENDED != 0 {
        obj.segment().wake(word, false);
    }
}

/// A lock was taken over from a holder that died (or left) while holding
/// it: the data it guards may be half-updated. The guard is inside; take it
/// with [`into_guard`](Self::into_guard) to inspect and repair the data.
/// Later lockers are not told again.
pub struct OwnerDied<G> {
    guard: G,
}

impl<G> OwnerDied<G> {
    pub(crate) fn new(guard: G) -> Self {
        OwnerDied { guard }
    }

    /// The guard: the lock is held.
    pub fn into_guard(self) -> G {
        self.guard
    }

    /// The guard, by reference.
    pub fn guard(&self) -> &G {
        &self.guard
    }

    /// The guard, by mutable reference.
    pub fn guard_mut(&mut self) -> &mut G {
        &mut self.guard
    }

    /// The error without its guard: the lock is released, and the error
    /// no longer borrows the lock, so it can go up with `?`
    /// (`counter.lock().map_err(OwnerDied::unlocked)?`). Later lockers are
    /// not told that the data may be inconsistent: whoever handles this
    /// error must.
    pub fn unlocked(self) -> OwnerDied<()> {
        drop(self.guard);
        OwnerDied { guard: () }
    }
}

impl<G> fmt::Debug for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnerDied").finish_non_exhaustive()
    }
}

impl<G> fmt::Display for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the previous holder of the lock died while holding it; the guarded data may be inconsistent",
        )
    }
}

impl<G> Error for OwnerDied<G> {}

/// Why a timed lock gave no guard.
pub enum LockTimeoutError<G> {
    /// The lock was still held at the deadline.
    Timeout,
    /// The lock was taken over from a dead holder (the guard is inside).
    OwnerDied(OwnerDied<G>),
}

impl<G> LockTimeoutError<G> {
    /// Whether the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, LockTimeoutError::Timeout)
    }
}

impl<G> fmt::Debug for LockTimeoutError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockTimeoutError::Timeout => f.write_str("Timeout"),
            LockTimeoutError::OwnerDied(e) => e.fmt(f),
        }
    }
}

impl<G> fmt::Display for LockTimeoutError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockTimeoutError::Timeout => f.write_str("timed out waiting for the lock"),
            LockTimeoutError::OwnerDied(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<G> Error for LockTimeoutError<G> {}

/// Runs a lock attempt and wraps the guard as the outcome requires.
pub(crate) fn outcome<G>(
    acquired: Option<Acquired>,
    guard: impl FnOnce() -> G,
) -> Result<G, LockTimeoutError<G>> {
    match acquired {
        None => Err(LockTimeoutError::Timeout),
        Some(Acquired::Clean) => Ok(guard()),
        Some(Acquired::OwnerDied) => Err(LockTimeoutError::OwnerDied(OwnerDied::new(guard()))),
    }
}

/// The untimed form of [`outcome`].
pub(crate) fn outcome_forever<G>(
    acquired: Option<Acquired>,
    guard: impl FnOnce() -> G,
) -> Result<G, OwnerDied<G>> {
    match outcome(acquired, guard) {
        Ok(g) => Ok(g),
        Err(LockTimeoutError::OwnerDied(e)) => Err(e),
        Err(LockTimeoutError::Timeout) => unreachable!("a lock without a deadline does not time out"),
    }
}
