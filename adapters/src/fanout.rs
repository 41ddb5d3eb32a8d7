//! [`FanOut`]: one waker for a backend end, many tasks behind it.
//!
//! A backend keeps one waker per end and direction (the latest call's, as
//! tokio's `AsyncFd` does), and may forget it once a poll finds the end
//! ready (shared memory disarms its registration). A
//! [`Connection`](crate::AsyncConnection) and an
//! [`AsyncSender`](crate::AsyncSender) are used through `&self`, so several
//! tasks may wait on one at once; each registers here, the backend gets
//! this set's single waker, and a wake-up wakes them all (each then tries
//! again). A poll that finds the end ready wakes the others too, since the
//! backend may no longer hold the set's waker: each looks again, and
//! registers anew if it still has to wait. Without it, the task that
//! registered first would never be woken.

use std::{
    fmt,
    sync::{Arc, Mutex},
    task::{Context, Poll, Wake, Waker},
};
use transport_core::sync::LockExt;

/// The tasks waiting on one direction of one end.
pub(crate) struct FanOut {
    set: Arc<WakerSet>,
    /// A waker that wakes everything in `set`.
    waker: Waker,
}

#[derive(Default)]
struct WakerSet(Mutex<Vec<Waker>>);

impl Wake for WakerSet {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiting = std::mem::take(&mut *self.0.lock_unpoisoned());
        for waker in waiting {
            waker.wake();
        }
    }
}

impl FanOut {
    pub(crate) fn new() -> Self {
        let set = Arc::new(WakerSet::default());
        let waker = Waker::from(Arc::clone(&set));
        FanOut { set, waker }
    }

    /// Registers the task of `cx`, then polls `ready` with the set's waker;
    /// when that finds the end ready, wakes the other tasks waiting.
    pub(crate) fn poll<V>(
        &self,
        cx: &mut Context<'_>,
        ready: impl FnOnce(&mut Context<'_>) -> Poll<V>,
    ) -> Poll<V> {
        {
            let mut waiting = self.set.0.lock_unpoisoned();
            if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
                waiting.push(cx.waker().clone());
            }
        }
        let poll = ready(&mut Context::from_waker(&self.waker));
        if poll.is_ready() {
            let waiting = std::mem::take(&mut *self.set.0.lock_unpoisoned());
            for waker in waiting {
                if !waker.will_wake(cx.waker()) {
                    waker.wake();
                }
            }
        }
        poll
    }
}

impl fmt::Debug for FanOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiting = self.set.0.lock_unpoisoned().len();
        f.debug_struct("FanOut").field("waiting", &waiting).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn every_registered_task_is_woken_once() {
        let fan = FanOut::new();
        let counts: Vec<Arc<Count>> = (0..3).map(|_| Arc::new(Count(AtomicUsize::new(0)))).collect();
        let mut held = None;
        for count in &counts {
            let waker = Waker::from(Arc::clone(count));
            // Twice: a task that polls again is registered once.
            for _ in 0..2 {
                let _ = fan.poll(&mut Context::from_waker(&waker), |cx| {
                    held = Some(cx.waker().clone());
                    Poll::<()>::Pending
                });
            }
        }
        held.expect("the backend got a waker").wake();
        let woken: Vec<usize> = counts.iter().map(|c| c.0.load(Ordering::SeqCst)).collect();
        assert_eq!(woken, [1, 1, 1]);
    }

    #[test]
    fn a_ready_poll_wakes_the_others() {
        let fan = FanOut::new();
        let counts: Vec<Arc<Count>> = (0..3).map(|_| Arc::new(Count(AtomicUsize::new(0)))).collect();
        let wakers: Vec<Waker> = counts.iter().map(|c| Waker::from(Arc::clone(c))).collect();
        for waker in &wakers[..2] {
            let _ = fan.poll(&mut Context::from_waker(waker), |_| Poll::<()>::Pending);
        }
        // The third finds the end ready, and the backend forgets the
        // set's waker: the two waiting are woken all the same, once.
        assert!(
            fan.poll(&mut Context::from_waker(&wakers[2]), |_| Poll::Ready(()))
                .is_ready()
        );
        let woken: Vec<usize> = counts.iter().map(|c| c.0.load(Ordering::SeqCst)).collect();
        assert_eq!(woken, [1, 1, 0]);
        let _ = fan.poll(&mut Context::from_waker(&wakers[0]), |_| Poll::Ready(()));
        let woken: Vec<usize> = counts.iter().map(|c| c.0.load(Ordering::SeqCst)).collect();
        assert_eq!(
            woken,
            [1, 1, 0],
            "a task that was woken and polled is not woken again"
        );
    }
}
