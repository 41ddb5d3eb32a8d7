//! [`Signal`]: "something changed" for threads and async tasks at once.
//!
//! An end's threads wait on a condition variable and its async task on a
//! waker; whatever may let them make progress (a message in the client's
//! channel, a credit report, a peer leaving) calls [`Signal::notify`], which
//! wakes all of them. A `Signal` is also a [`Wake`], so it is the waker an
//! end gives the client's channels when it polls them: a message arriving
//! there wakes the end's threads and task directly.

use std::{
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Wake, Waker},
    time::{Duration, Instant},
};

use transport_core::{
    Wait,
    sync::{LockExt, wait_as},
};

/// A generation counter with a condition variable and one async waker.
#[derive(Debug)]
pub(crate) struct Signal {
    state: Mutex<State>,
    changed: Condvar,
    /// The generation, readable without the lock.
    seen: AtomicU64,
    /// How long a spinning wait looks before it sleeps, in nanoseconds.
    spin: AtomicU64,
}

/// How long a spinning wait looks for a notification before it sleeps, at
/// first: a thread that has not gone to sleep needs no wake-up from the
/// client's thread (a futex call there, and a scheduler wake-up here, which
/// on a virtual machine costs tens of microseconds).
const SPIN_START: Duration = Duration::from_micros(50);

/// The least and the most a spinning wait looks before it sleeps. The spin
/// adapts between them: a wait that slept and still ended within `SPIN_MAX`
/// of its start lengthens it (to a quarter more than that wait: a reply
/// through the server, or a JetStream store, keeps a rhythm the next wait is
/// likely to repeat), and one that ended later, or not at all, halves it, so
/// an end whose messages come seldom spins little and costs the machine
/// little.
const SPIN_MIN: Duration = Duration::from_micros(10);
const SPIN_MAX: Duration = Duration::from_micros(400);

#[derive(Debug, Default)]
struct State {
    generation: u64,
    task: Option<Waker>,
    /// Threads asleep on the condition variable: a notification with none
    /// skips the wake-up (a system call), which the client's thread would
    /// otherwise make for every message it hands over.
    sleepers: usize,
}

impl Signal {
    pub(crate) fn new() -> Self {
        Signal {
            state: Mutex::default(),
            changed: Condvar::new(),
            seen: AtomicU64::new(0),
            spin: AtomicU64::new(nanos(SPIN_START)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock_unpoisoned()
    }

    /// The current generation: read it before checking for progress, then
    /// [`wait`](Self::wait) with it, and no notification is lost.
    pub(crate) fn generation(&self) -> u64 {
        // The atomic copy: one that lags a notification in progress only
        // makes the next wait return at once.
        self.seen.load(Ordering::Acquire)
    }

    /// Wakes every waiting thread and the registered task.
    pub(crate) fn notify(&self) {
        let (task, sleepers) = {
            let mut state = self.lock();
            state.generation = state.generation.wrapping_add(1);
            self.seen.store(state.generation, Ordering::Release);
            (state.task.take(), state.sleepers)
        };
        // A thread goes to sleep only with the lock held and the old
        // generation seen, so one that is not counted here sees the new one.
        if sleepers > 0 {
            self.changed.notify_all();
        }
        if let Some(task) = task {
            task.wake();
        }
    }

    /// Waits until the generation differs from `seen` or `deadline` passes
    /// (`None`: no deadline). False when the deadline passed first.
    pub(crate) fn wait(&self, seen: u64, deadline: Option<Instant>) -> bool {
        let mut state = self.lock();
        while state.generation == seen {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            state.sleepers += 1;
            let wait = deadline.map_or(Wait::Forever, Wait::Until);
            state = wait_as(&self.changed, state, wait).0;
            state.sleepers -= 1;
        }
        true
    }

    /// As [`wait`](Self::wait), looking for the notification for a while
    /// first (how long adapts to how long the waits before took) before
    /// sleeping.
    pub(crate) fn wait_spinning(&self, seen: u64, deadline: Option<Instant>) -> bool {
        let start = Instant::now();
        let budget = self.spin_budget();
        let spin_end = deadline.map_or(start + budget, |d| d.min(start + budget));
        while Instant::now() < spin_end {
            if self.seen.load(Ordering::Acquire) != seen {
                return true;
            }
            std::thread::yield_now();
        }
        let notified = self.wait(seen, deadline);
        self.adapt(budget, notified.then(|| start.elapsed()));
        notified
    }

    /// The current spin budget.
    fn spin_budget(&self) -> Duration {
        Duration::from_nanos(self.spin.load(Ordering::Relaxed))
    }

    /// Lengthens the spin after a wait that ended within [`SPIN_MAX`] of its
    /// start (`waited`), shortens it after a longer one or a deadline.
    fn adapt(&self, budget: Duration, waited: Option<Duration>) {
        let next = match waited {
            Some(waited) if waited <= SPIN_MAX => (waited * 5 / 4).min(SPIN_MAX),
            _ => (budget / 2).max(SPIN_MIN),
        };
        self.spin.store(nanos(next), Ordering::Relaxed);
    }

    /// Registers the task to wake at the next notification (the latest
    /// registration wins, as with tokio's `AsyncFd`).
    pub(crate) fn register(&self, waker: &Waker) {
        let mut state = self.lock();
        match &state.task {
            Some(task) if task.will_wake(waker) => {}
            _ => state.task = Some(waker.clone()),
        }
    }
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}

/// `duration` in nanoseconds (the spin's bounds fit many times over).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The waker that notifies `signal`.
pub(crate) fn waker(signal: &Arc<Signal>) -> Waker {
    Waker::from(Arc::clone(signal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{thread, time::Duration};

    #[test]
    fn a_notification_between_check_and_wait_is_not_lost() {
        let signal = Arc::new(Signal::new());
        let seen = signal.generation();
        signal.notify();
        assert!(signal.wait(seen, Some(Instant::now() + Duration::from_secs(5))));
    }

    #[test]
    fn the_waker_wakes_a_waiting_thread() {
        let signal = Arc::new(Signal::new());
        let seen = signal.generation();
        let w = waker(&signal);
        let t = thread::spawn(move || w.wake());
        assert!(signal.wait(seen, Some(Instant::now() + Duration::from_secs(60))));
        t.join().unwrap();
    }

    #[test]
    fn the_spin_follows_the_waits() {
        let signal = Signal::new();
        assert_eq!(signal.spin_budget(), SPIN_START);
        signal.adapt(SPIN_START, Some(Duration::from_micros(80)));
        assert_eq!(signal.spin_budget(), Duration::from_micros(100));
        signal.adapt(signal.spin_budget(), Some(Duration::from_millis(3)));
        assert_eq!(signal.spin_budget(), Duration::from_micros(50));
        signal.adapt(signal.spin_budget(), Some(SPIN_MAX));
        assert_eq!(signal.spin_budget(), SPIN_MAX);
        for _ in 0..20 {
            signal.adapt(signal.spin_budget(), None);
        }
        assert_eq!(signal.spin_budget(), SPIN_MIN);
    }

    #[test]
    fn a_wait_ends_at_its_deadline() {
        let signal = Signal::new();
        let seen = signal.generation();
        assert!(!signal.wait(seen, Some(Instant::now() + Duration::from_millis(10))));
    }
}
