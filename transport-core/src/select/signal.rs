//! [`Signal`]: the waker a blocking wait gives every receiver it waits on.

use std::{
    sync::{Condvar, Mutex},
    task::Wake,
};

use crate::{
    sync::{LockExt, Waited, wait_as},
    wait::Wait,
};

/// A count of wake-ups and a condition variable: a receiver's backend wakes
/// it like any task's waker, and the waiting thread sleeps on it.
///
/// The waiter reads the count before it polls the receivers, then sleeps
/// only while the count is unchanged, so a wake-up that comes between a
/// poll and the sleep is not lost.
#[derive(Debug, Default)]
pub(super) struct Signal {
    wakes: Mutex<u64>,
    woken: Condvar,
}

impl Signal {
    /// The wake-ups so far.
    pub(super) fn seen(&self) -> u64 {
        *self.wakes.lock_unpoisoned()
    }

    /// Sleeps until a wake-up after `seen`, or until `wait` runs out.
    pub(super) fn sleep_past(&self, seen: u64, wait: Wait) -> Waited {
        let mut wakes = self.wakes.lock_unpoisoned();
        while *wakes == seen {
            let (guard, waited) = wait_as(&self.woken, wakes, wait);
            wakes = guard;
            if waited.timed_out() && *wakes == seen {
                return Waited::TimedOut;
            }
        }
        Waited::Woken
    }
}

impl Wake for Signal {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        let mut wakes = self.wakes.lock_unpoisoned();
        *wakes = wakes.wrapping_add(1);
        drop(wakes);
        self.woken.notify_all();
    }
}
