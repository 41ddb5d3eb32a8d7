//! [`SharedValue`]: one plain value in shared memory, behind a robust lock.

use std::{
    borrow::Cow,
    marker::PhantomData,
    ops::{Deref, DerefMut},
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    handle::object_handle,
    object::{Object, ObjectKind, Shape},
    plain::Plain,
};
use crate::{
    error::SegmentError,
    sync::lock::{self, LockTimeoutError, OwnerDied},
};

/// One [`Plain`] value in shared memory (Python's `multiprocessing.Value`),
/// reachable only through its robust process-shared lock.
///
/// Hand it to a child with
/// [`CommandExt::endpoint`](transport_core::CommandExt::endpoint) (pass a
/// clone to keep yours) and open it there with
/// [`from_env`](transport_core::from_env).
///
/// ```
/// use transport_shm::SharedValue;
///
/// let counter = SharedValue::new(0u64).unwrap();
/// *counter.lock().unwrap() += 1;
/// assert_eq!(counter.get().unwrap(), 1);
/// ```
///
/// If a process dies while holding the lock, the next locker gets
/// [`OwnerDied`] with the guard inside, and can check and repair the value.
///
/// # Portability
/// The same everywhere; see the [channel docs](crate::channel#portability)
/// for how waiting and liveness are done on each platform.
pub struct SharedValue<T> {
    obj: Arc<Object>,
    _type: PhantomData<T>,
}

object_handle!(SharedValue<T: Plain>, "shm.value", Shape::of::<T>(ObjectKind::Value, 1),
    typed = Some(Cow::Owned(transport_core::fingerprint::layout_fingerprint::<T>())));

impl<T: Plain> SharedValue<T> {
    /// Puts `value` in a new shared memory segment.
    ///
    /// # Errors
    /// [`SegmentError`] when the segment cannot be created.
    pub fn new(value: T) -> Result<Self, SegmentError> {
        let obj = Object::create(Shape::of::<T>(ObjectKind::Value, 1))?;
        // SAFETY: nobody else can reach the new segment yet; the data is
        // aligned for T (at a multiple of align_of::<T>() <= 128) and sized.
        unsafe { obj.data::<T>().write(value) };
        Ok(SharedValue {
            obj,
            _type: PhantomData,
        })
    }

    fn guard(&self) -> ValueGuard<'_, T> {
        ValueGuard {
            obj: &self.obj,
            _type: PhantomData,
            _not_send: PhantomData,
        }
    }

    /// Locks the value.
    ///
    /// # Errors
    /// [`OwnerDied`] (with the guard) when the previous holder died holding
    /// the lock.
    pub fn lock(&self) -> Result<ValueGuard<'_, T>, OwnerDied<ValueGuard<'_, T>>> {
        let acquired = lock::lock(&self.obj, &self.obj.header().lock, None);
        lock::outcome_forever(acquired, || self.guard())
    }

    /// Locks the value, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`LockTimeoutError::Timeout`], or `OwnerDied` as for
    /// [`lock`](Self::lock).
    pub fn lock_timeout(
        &self,
        timeout: Duration,
    ) -> Result<ValueGuard<'_, T>, LockTimeoutError<ValueGuard<'_, T>>> {
        let acquired = lock::lock(
            &self.obj,
            &self.obj.header().lock,
            Instant::now().checked_add(timeout),
        );
        lock::outcome(acquired, || self.guard())
    }

    /// Locks the value if it is free right now.
    pub fn try_lock(&self) -> Option<ValueGuard<'_, T>> {
        lock::try_lock(&self.obj, &self.obj.header().lock).then(|| self.guard())
    }

    /// A copy of the value, read under the lock.
    ///
    /// # Errors
    /// As [`lock`](Self::lock) (the copy is inside the error's guard).
    pub fn get(&self) -> Result<T, OwnerDied<ValueGuard<'_, T>>> {
        self.lock().map(|g| *g)
    }

    /// Replaces the value under the lock.
    ///
    /// # Errors
    /// As [`lock`](Self::lock); the value is not written then.
    pub fn set(&self, value: T) -> Result<(), OwnerDied<ValueGuard<'_, T>>> {
        *self.lock()? = value;
        Ok(())
    }

    /// A handle over `obj`, checked for `T` (for the fuzz targets).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn from_object(obj: Arc<Object>) -> Self {
        SharedValue {
            obj,
            _type: PhantomData,
        }
    }

    /// The name of the shared memory segment.
    pub fn segment_name(&self) -> &str {
        self.obj.name()
    }
}

/// The lock on a [`SharedValue`], held: derefs to the value. Unlocks on drop.
pub struct ValueGuard<'a, T> {
    obj: &'a Object,
    _type: PhantomData<&'a mut T>,
    /// A lock is released by the thread that took it.
    _not_send: PhantomData<*const ()>,
}

impl<T> Deref for ValueGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the lock is held, so no other process or thread writes the
        // value; the data is sized and aligned for T (checked at create/open);
        // T is Plain, so any bytes a peer left are a valid T.
        unsafe { &*self.obj.data::<T>() }
    }
}

impl<T> DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; the lock gives exclusive access.
        unsafe { &mut *self.obj.data::<T>() }
    }
}

impl<T> Drop for ValueGuard<'_, T> {
    fn drop(&mut self) {
        lock::unlock(self.obj, &self.obj.header().lock);
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ValueGuard").field(&**self).finish()
    }
}

impl<'a, T> super::sealed::Sealed<'a> for ValueGuard<'a, T> {
    fn object(&self) -> &'a Object {
        self.obj
    }
}
