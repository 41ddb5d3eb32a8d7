//! [`WakerList`]: the wakers of the async tasks waiting on one thing.

use std::task::Waker;

/// The wakers of the async tasks waiting on one thing (an item, room), one
/// per waiting party, after crossbeam-channel's `waker.rs`.
///
/// Each party (a handle, a future) registers under a key of its own; a
/// later poll by the same party replaces its waker instead of adding one,
/// and a party that stops waiting (is dropped) unregisters. The list has
/// no lock of its own: it lives in the state its owner already locks.
/// Waking is two steps when that lock is held ([`take_all`](Self::take_all)
/// or [`take_one`](Self::take_one) under the lock, `wake` after releasing
/// it), so a woken task never runs into the lock its waker still holds.
///
/// ```
/// use std::task::Waker;
/// use transport_core::sync::WakerList;
///
/// let mut waiting = WakerList::new();
/// waiting.register(1, Waker::noop());
/// waiting.register(1, Waker::noop()); // the same party polled again
/// waiting.register(2, Waker::noop());
/// assert_eq!(waiting.len(), 2);
/// let woken = waiting.take_all(); // under the lock
/// assert!(waiting.is_empty());
/// woken.into_iter().for_each(Waker::wake); // after releasing it
/// ```
#[derive(Debug, Default)]
pub struct WakerList {
    entries: Vec<(u64, Waker)>,
}

impl WakerList {
    /// An empty list.
    pub const fn new() -> Self {
        WakerList { entries: Vec::new() }
    }

    /// Registers `waker` for party `key`, replacing its earlier waker (a
    /// party waits for one thing at a time).
    pub fn register(&mut self, key: u64, waker: &Waker) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, w)) => w.clone_from(waker),
            None => self.entries.push((key, waker.clone())),
        }
    }

    /// Forgets party `key`'s waker (it stopped waiting); whether it had one.
    pub fn unregister(&mut self, key: u64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| *k != key);
        self.entries.len() != before
    }

    /// Whether party `key` has a waker registered.
    pub fn contains(&self, key: u64) -> bool {
        self.entries.iter().any(|(k, _)| *k == key)
    }

    /// How many parties wait.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes every waker, to wake once the caller's lock is released
    /// (everyone can proceed: an end, a state every waiter must see).
    pub fn take_all(&mut self) -> Vec<Waker> {
        self.entries.drain(..).map(|(_, w)| w).collect()
    }

    /// Moves every waker to `out` (as [`take_all`](Self::take_all), into a
    /// list the caller keeps).
    pub fn take_all_into(&mut self, out: &mut Vec<Waker>) {
        if !self.entries.is_empty() {
            out.extend(self.entries.drain(..).map(|(_, w)| w));
        }
    }

    /// Takes the waker of the party that waited longest, to wake once the
    /// caller's lock is released (one item, room for one).
    pub fn take_one(&mut self) -> Option<Waker> {
        if self.entries.is_empty() {
            None
        } else {
            Some(self.entries.remove(0).1)
        }
    }

    /// Wakes every party now (for a caller that holds no lock the tasks
    /// need).
    pub fn wake_all(&mut self) {
        for waker in self.take_all() {
            waker.wake();
        }
    }

    /// Wakes the party that waited longest now; whether there was one.
    pub fn wake_one(&mut self) -> bool {
        self.take_one().map(Waker::wake).is_some()
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        task::Wake,
    };

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        (count, waker)
    }

    #[test]
    fn one_waker_per_party() {
        let (a, wa) = counter();
        let (b, wb) = counter();
        let mut list = WakerList::new();
        list.register(1, &wa);
        list.register(1, &wb);
        assert_eq!(list.len(), 1, "a second poll replaces the first waker");
        assert!(list.wake_one());
        assert_eq!(a.0.load(Ordering::Relaxed), 0);
        assert_eq!(b.0.load(Ordering::Relaxed), 1);
        assert!(!list.wake_one());
    }

    #[test]
    fn wake_one_takes_the_oldest_and_unregister_forgets() {
        let (a, wa) = counter();
        let (b, wb) = counter();
        let mut list = WakerList::new();
        list.register(7, &wa);
        list.register(8, &wb);
        assert!(list.contains(8));
        assert!(list.unregister(8));
        assert!(!list.unregister(8));
        list.register(8, &wb);
        if let Some(waker) = list.take_one() {
            waker.wake();
        }
        assert_eq!(a.0.load(Ordering::Relaxed), 1);
        list.wake_all();
        assert_eq!(b.0.load(Ordering::Relaxed), 1);
        assert!(list.is_empty());
    }
}
