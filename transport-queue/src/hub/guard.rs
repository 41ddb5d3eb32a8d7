//! The lock on a queue's state, and the work that waits until it is
//! released: messages to send to members, a wake-up for a local get that
//! waits on the members' channels, async tasks to wake. Nothing slow or
//! foreign runs while the state is locked.

use std::{
    ops::{Deref, DerefMut},
    sync::{Condvar, MutexGuard, PoisonError},
    task::Waker,
};

use transport_core::Wait;

use super::State;

/// Wakers of async tasks waiting on the handles of this process, one per
/// handle: the latest poll on a handle replaces its waker.
#[derive(Debug, Default)]
pub(crate) struct Wakers(Vec<(u64, Waker)>);

impl Wakers {
    /// Registers `waker` for handle `end`.
    pub(crate) fn register(&mut self, end: u64, waker: &Waker) {
        match self.0.iter_mut().find(|(e, _)| *e == end) {
            Some((_, w)) => w.clone_from(waker),
            None => self.0.push((end, waker.clone())),
        }
    }

    /// Forgets the waker of handle `end` (the handle is gone).
    pub(crate) fn remove(&mut self, end: u64) {
        self.0.retain(|(e, _)| *e != end);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Moves every waker to `out`, to be woken once the lock is released.
    pub(crate) fn take_into(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.0.drain(..).map(|(_, w)| w));
    }
}

/// The locked state. Dropping it unlocks, then wakes the tasks the state
/// changes made ready.
pub(crate) struct Locked<'a> {
    guard: Option<MutexGuard<'a, State>>,
}

impl std::fmt::Debug for Locked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locked").finish_non_exhaustive()
    }
}

impl<'a> Locked<'a> {
    pub(crate) fn new(guard: MutexGuard<'a, State>) -> Self {
        Locked { guard: Some(guard) }
    }

    /// Waits on `cv` as `wait` allows; `None` once the wait ran out. Tasks
    /// to wake are woken first, still under the lock, and queued messages
    /// are left to the members' writer threads (a wait cannot unlock and
    /// sleep as two steps).
    pub(crate) fn wait(mut self, cv: &Condvar, wait: Wait) -> Option<Locked<'a>> {
        let mut guard = self.guard.take()?;
        for waker in std::mem::take(&mut guard.to_wake) {
            waker.wake();
        }
        for outbox in std::mem::take(&mut guard.to_flush) {
            outbox.hand_over();
        }
        if let Some(ctl) = guard.lead.take_poke() {
            ctl.wake();
        }
        let guard = match wait.remaining() {
            None => cv.wait(guard).unwrap_or_else(PoisonError::into_inner),
            Some(left) if left.is_zero() => return None,
            Some(left) => {
                let (guard, _) = cv
                    .wait_timeout(guard, left)
                    .unwrap_or_else(PoisonError::into_inner);
                guard
            }
        };
        Some(Locked::new(guard))
    }
}

impl Deref for Locked<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        self.guard
            .as_ref()
            .expect("a Locked holds its guard until dropped")
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.guard
            .as_mut()
            .expect("a Locked holds its guard until dropped")
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let poke = guard.lead.take_poke();
        if guard.to_wake.is_empty() && guard.to_flush.is_empty() && poke.is_none() {
            return;
        }
        let wake = std::mem::take(&mut guard.to_wake);
        let flush = std::mem::take(&mut guard.to_flush);
        drop(guard);
        if let Some(ctl) = poke {
            ctl.wake();
        }
        for outbox in flush {
            outbox.flush();
        }
        for waker in wake {
            waker.wake();
        }
    }
}
