//! [`SharedCondvar`]: a process-shared condition variable.

use std::{
    marker::PhantomData,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use super::lock::{self, OwnerDied};
use crate::{
    error::SegmentError,
    shared::{
        GuardOf,
        object::{Object, ObjectKind, Shape},
        object_handle,
    },
};

/// A process-shared condition variable (Python's `multiprocessing.Condition`
/// without its own lock): it waits with any guard of this crate's locks
/// ([`SharedMutex`](crate::SharedMutex), [`SharedValue`](crate::SharedValue),
/// [`SharedArray`](crate::SharedArray)).
///
/// It is a sequence word: a notification bumps it and wakes sleepers; a
/// waiter that read it before unlocking cannot miss a notification. Wake-ups
/// may be spurious: wait in a loop that re-checks the condition.
///
/// ```
/// use std::time::Duration;
/// use transport_shm::{SharedCondvar, SharedValue};
///
/// let ready = SharedValue::new(0u32).unwrap();
/// let cv = SharedCondvar::new().unwrap();
/// let guard = ready.lock().unwrap();
/// // Nobody notifies here, so the wait times out and gives the lock back.
/// let (guard, timed_out) = cv.wait_timeout(guard, Duration::from_millis(10)).unwrap();
/// assert!(timed_out);
/// assert_eq!(*guard, 0);
/// ```
pub struct SharedCondvar {
    obj: Arc<Object>,
    _type: PhantomData<()>,
}

object_handle!(
    SharedCondvar,
    "shm.condvar",
    Shape::of::<()>(ObjectKind::Condvar, 0),
    typed = None
);

impl SharedCondvar {
    /// A new condition variable in its own segment.
    ///
    /// # Errors
    /// [`SegmentError`] when the segment cannot be created.
    pub fn new() -> Result<Self, SegmentError> {
        Ok(SharedCondvar {
            obj: Object::create(Shape::of::<()>(ObjectKind::Condvar, 0))?,
            _type: PhantomData,
        })
    }

    fn wait_until<'a, G: GuardOf<'a>>(
        &self,
        guard: G,
        deadline: Option<Instant>,
    ) -> Result<(G, bool), OwnerDied<(G, bool)>> {
        let word = &self.obj.header().a;
        let seq = word.load(Ordering::SeqCst);
        let lock_obj = guard.object();
        lock::unlock(lock_obj, &lock_obj.header().lock);
        // An operating-system wait may return a little before its timeout
        // (Windows rounds to its timer tick): until the word changes, a
        // timed wait sleeps again for what is left, so `timed_out` is exact.
        loop {
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if timeout == Some(Duration::ZERO) {
                break;
            }
            self.obj.segment().wait(word, seq, timeout);
            if deadline.is_none() || word.load(Ordering::SeqCst) != seq {
                break;
            }
        }
        let timed_out = deadline.is_some_and(|d| Instant::now() >= d) && word.load(Ordering::SeqCst) == seq;
        // The guard was unlocked above; retake the same lock for it.
        match lock::lock(lock_obj, &lock_obj.header().lock, None) {
            Some(lock::Acquired::OwnerDied) => Err(OwnerDied::new((guard, timed_out))),
            _ => Ok((guard, timed_out)),
        }
    }

    /// Unlocks `guard`, sleeps until notified (or spuriously), and locks it
    /// again.
    ///
    /// # Errors
    /// [`OwnerDied`] when, while relocking, the lock is taken over from a
    /// holder that died (the guard is inside).
    pub fn wait<'a, G: GuardOf<'a>>(&self, guard: G) -> Result<G, OwnerDied<G>> {
        match self.wait_until(guard, None) {
            Ok((g, _)) => Ok(g),
            Err(e) => Err(OwnerDied::new(e.into_guard().0)),
        }
    }

    /// As [`wait`](Self::wait), for at most `timeout`; the flag says whether
    /// it timed out.
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    pub fn wait_timeout<'a, G: GuardOf<'a>>(
        &self,
        guard: G,
        timeout: Duration,
    ) -> Result<(G, bool), OwnerDied<(G, bool)>> {
        self.wait_until(guard, Instant::now().checked_add(timeout))
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        let word = &self.obj.header().a;
        word.fetch_add(1, Ordering::SeqCst);
        self.obj.segment().wake(word, false);
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let word = &self.obj.header().a;
        word.fetch_add(1, Ordering::SeqCst);
        self.obj.segment().wake(word, true);
    }
}
