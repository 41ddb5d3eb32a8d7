//! [`LockedState`]: the lock on a queue's state, and the work that waits
//! until it is released: messages to send to members, a wake-up for a
//! local get that waits on the members' channels, async tasks to wake.
//! Nothing slow or foreign (a system call to a member, a task's waker)
//! runs while the state is locked.

use std::{
    ops::{Deref, DerefMut},
    sync::{Condvar, MutexGuard},
};

use transport_core::{
    Wait,
    sync::{Waited, wait_as},
};

use super::state::State;

/// The locked state. Dropping it unlocks, then does the work the state
/// changes left (see the module docs).
pub(crate) struct LockedState<'a> {
    guard: Option<MutexGuard<'a, State>>,
}

impl std::fmt::Debug for LockedState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockedState").finish_non_exhaustive()
    }
}

impl<'a> LockedState<'a> {
    pub(crate) fn new(guard: MutexGuard<'a, State>) -> Self {
        LockedState { guard: Some(guard) }
    }

    /// Waits on `cv` as `wait` allows; `None` once the wait ran out.
    ///
    /// If the state changes left work to do, the lock is released, the
    /// work done, and the state locked again without sleeping: the caller
    /// looks again (as after a spurious wake-up) and waits on its next
    /// call. A condition variable cannot release the lock, run code, and
    /// sleep in one step, and the work must not run under the lock.
    pub(crate) fn wait(
        mut self,
        mutex: &'a std::sync::Mutex<State>,
        cv: &Condvar,
        wait: Wait,
    ) -> Option<Self> {
        let guard = self.guard.take()?;
        if guard.has_deferred() {
            drop(LockedState { guard: Some(guard) });
            return Some(LockedState::new(transport_core::sync::lock_unpoisoned(mutex)));
        }
        match wait_as(cv, guard, wait) {
            (guard, Waited::Woken) => Some(LockedState::new(guard)),
            (guard, Waited::TimedOut) => {
                drop(guard);
                None
            }
        }
    }
}

impl Deref for LockedState<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        self.guard
            .as_ref()
            .expect("a LockedState holds its guard until dropped")
    }
}

impl DerefMut for LockedState<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.guard
            .as_mut()
            .expect("a LockedState holds its guard until dropped")
    }
}

impl Drop for LockedState<'_> {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        if !guard.has_deferred() {
            return;
        }
        let deferred = guard.take_deferred();
        drop(guard);
        deferred.run();
    }
}
