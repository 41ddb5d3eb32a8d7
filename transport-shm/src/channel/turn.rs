//! `Turn`: an end's own state, which one thread at a time takes, for as
//! long as a [`Wait`] allows.

use std::{
    hint,
    ops::{Deref, DerefMut},
    sync::{
        Condvar, Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering, fence},
    },
    time::Instant,
};

use transport_core::{
    backend::Wait,
    sync::{LockExt, wait_as},
};

use super::chan::POLL_SPIN;

/// The state an end changes as it sends or receives (where it writes or
/// reads, what it last saw of its peer), behind one lock that threads
/// sharing the end take in turn.
///
/// A thread alone on the end pays for one uncontended lock and unlock and
/// one fence. One that finds the state taken spins for a moment (a turn
/// is usually one message's copy), then sleeps until the holder lets go or
/// its wait runs out: a `try_send` from one thread never waits for a
/// blocking send of another to find room.
///
/// A panic while the state is held (a message's serializer may panic)
/// leaves it as consistent as at any release: the ends change it only
/// where a step is complete, so poison is ignored.
#[derive(Debug)]
pub(crate) struct Turn<T> {
    state: Mutex<T>,
    /// Threads that sleep on `freed` for the state.
    sleepers: AtomicUsize,
    gate: Mutex<()>,
    freed: Condvar,
}

/// The state, taken; given back on drop.
pub(crate) struct Taken<'a, T> {
    guard: Option<MutexGuard<'a, T>>,
    turn: &'a Turn<T>,
}

impl<T> Turn<T> {
    pub(crate) fn new(state: T) -> Turn<T> {
        Turn {
            state: Mutex::new(state),
            sleepers: AtomicUsize::new(0),
            gate: Mutex::new(()),
            freed: Condvar::new(),
        }
    }

    /// The state, if no other thread holds it now.
    pub(crate) fn try_take(&self) -> Option<Taken<'_, T>> {
        self.state.try_lock_unpoisoned().map(|g| self.taken(g))
    }

    /// The state, waiting as `wait` allows for a thread that holds it;
    /// `None` when the wait ran out first.
    pub(crate) fn take(&self, wait: Wait) -> Option<Taken<'_, T>> {
        if let Some(taken) = self.try_take() {
            return Some(taken);
        }
        if wait == Wait::Forever {
            return Some(self.taken(self.state.lock_unpoisoned()));
        }
        let start = Instant::now();
        let mut round = 0u32;
        loop {
            for _ in 0..8 {
                hint::spin_loop();
            }
            if let Some(taken) = self.try_take() {
                return Some(taken);
            }
            round = round.wrapping_add(1);
            if round % 32 == 0 && start.elapsed() >= POLL_SPIN {
                break;
            }
        }
        if wait.expired() {
            return None;
        }
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        // Pairs with the fence in `Taken::drop`: either that release sees
        // this sleeper, or the look below sees the state free.
        fence(Ordering::SeqCst);
        let taken = loop {
            let gate = self.gate.lock_unpoisoned();
            if let Some(taken) = self.try_take() {
                break Some(taken);
            }
            let (gate, waited) = wait_as(&self.freed, gate, wait);
            drop(gate);
            if waited.timed_out() || wait.expired() {
                break self.try_take();
            }
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        taken
    }

    fn taken<'a>(&'a self, guard: MutexGuard<'a, T>) -> Taken<'a, T> {
        Taken {
            guard: Some(guard),
            turn: self,
        }
    }
}

impl<T> Deref for Taken<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.guard.as_deref().expect("the state is held until drop")
    }
}

impl<T> DerefMut for Taken<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_deref_mut().expect("the state is held until drop")
    }
}

impl<T> Drop for Taken<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        // Pairs with the fence in `Turn::take`: a thread that counted
        // itself as a sleeper before this release is woken, one that
        // counts itself after it finds the state free.
        fence(Ordering::SeqCst);
        if self.turn.sleepers.load(Ordering::Relaxed) != 0 {
            let _gate = self.turn.gate.lock_unpoisoned();
            self.turn.freed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::mpsc,
        time::{Duration, Instant},
    };

    use transport_core::backend::Wait;

    use super::Turn;

    #[test]
    fn a_held_turn_is_refused_to_a_try_and_given_once_released() {
        let turn = Turn::new(0u32);
        let held = turn.take(Wait::Never).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                assert!(turn.take(Wait::Never).is_none());
                tx.send(()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(30);
                let mut taken = turn.take(Wait::Until(deadline)).expect("released in time");
                *taken += 1;
            });
            rx.recv_timeout(Duration::from_secs(30)).unwrap();
            drop(held);
            waiter.join().unwrap();
        });
        assert_eq!(*turn.take(Wait::Never).unwrap(), 1);
    }

    #[test]
    fn a_deadline_ends_the_wait_for_a_held_turn() {
        let turn = Turn::new(());
        let _held = turn.take(Wait::Forever).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                let deadline = Instant::now() + Duration::from_millis(20);
                assert!(turn.take(Wait::Until(deadline)).is_none());
            });
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "many rounds on four threads: slow under Miri")]
    fn threads_taking_turns_lose_no_update() {
        let turn = Turn::new(0u64);
        std::thread::scope(|s| {
            for i in 0..4 {
                let turn = &turn;
                s.spawn(move || {
                    for n in 0..20_000u32 {
                        let wait = match (n + i) % 3 {
                            0 => Wait::Never,
                            1 => Wait::Until(Instant::now() + Duration::from_secs(30)),
                            _ => Wait::Forever,
                        };
                        loop {
                            if let Some(mut t) = turn.take(wait) {
                                *t += 1;
                                break;
                            }
                        }
                    }
                });
            }
        });
        assert_eq!(*turn.take(Wait::Never).unwrap(), 80_000);
    }
}
