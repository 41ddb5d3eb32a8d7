//! [`SharedMutex`]: a robust process-shared lock with no data (Python's
//! `multiprocessing.Lock`).

use std::{
    marker::PhantomData,
    sync::Arc,
    time::{Duration, Instant},
};

use super::lock::{self, LockTimeoutError, OwnerDied};
use crate::{
    error::SegmentError,
    shared::{
        object::{Object, ObjectKind, Shape},
        object_handle, sealed,
    },
};

/// A process-shared lock (Python's `multiprocessing.Lock`), robust against
/// holders that die: the next locker gets [`OwnerDied`] instead of a
/// deadlock. Not re-entrant: a thread that locks it twice waits for itself.
///
/// ```
/// let lock = transport_shm::SharedMutex::new().unwrap();
/// {
///     let _held = lock.lock().unwrap();
///     assert!(lock.try_lock().is_none());
/// }
/// assert!(lock.try_lock().is_some());
/// ```
///
/// # Portability
/// As [`SharedValue`](crate::SharedValue).
pub struct SharedMutex {
    obj: Arc<Object>,
    _type: PhantomData<()>,
}

object_handle!(
    SharedMutex,
    "shm.mutex",
    Shape::of::<()>(ObjectKind::Mutex, 0),
    typed = None
);

impl SharedMutex {
    /// A new, unlocked lock in its own segment.
    ///
    /// # Errors
    /// [`SegmentError`] when the segment cannot be created.
    pub fn new() -> Result<Self, SegmentError> {
        Ok(SharedMutex {
            obj: Object::create(Shape::of::<()>(ObjectKind::Mutex, 0))?,
            _type: PhantomData,
        })
    }

    fn guard(&self) -> MutexGuard<'_> {
        MutexGuard {
            obj: &self.obj,
            _not_send: PhantomData,
        }
    }

    /// Takes the lock.
    ///
    /// # Errors
    /// [`OwnerDied`] (with the guard) when the previous holder died holding
    /// it.
    pub fn lock(&self) -> Result<MutexGuard<'_>, OwnerDied<MutexGuard<'_>>> {
        let acquired = lock::lock(&self.obj, &self.obj.header().lock, None);
        lock::outcome_forever(acquired, || self.guard())
    }

    /// Takes the lock, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`LockTimeoutError::Timeout`], or `OwnerDied`.
    pub fn lock_timeout(
        &self,
        timeout: Duration,
    ) -> Result<MutexGuard<'_>, LockTimeoutError<MutexGuard<'_>>> {
        let acquired = lock::lock(
            &self.obj,
            &self.obj.header().lock,
            Instant::now().checked_add(timeout),
        );
        lock::outcome(acquired, || self.guard())
    }

    /// Takes the lock if it is free right now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_>> {
        lock::try_lock(&self.obj, &self.obj.header().lock).then(|| self.guard())
    }
}

/// A held [`SharedMutex`]; unlocks on drop.
pub struct MutexGuard<'a> {
    obj: &'a Object,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for MutexGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MutexGuard").finish_non_exhaustive()
    }
}

impl Drop for MutexGuard<'_> {
    fn drop(&mut self) {
        lock::unlock(self.obj, &self.obj.header().lock);
    }
}

impl<'a> sealed::Sealed<'a> for MutexGuard<'a> {
    fn object(&self) -> &'a Object {
        self.obj
    }
}
