//! [`SharedArray`]: a fixed number of plain values behind a robust lock.

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

/// A fixed-length array of [`Plain`] values in shared memory (Python's
/// `multiprocessing.Array`), reachable only through its robust lock.
///
/// ```
/// use transport_shm::SharedArray;
///
/// let a = SharedArray::from_slice(&[1.0f64, 2.0, 3.0]).unwrap();
/// a.lock().unwrap()[1] = 20.0;
/// assert_eq!(a.to_vec().unwrap(), [1.0, 20.0, 3.0]);
/// ```
///
/// # Portability
/// As [`SharedValue`](crate::SharedValue).
pub struct SharedArray<T> {
    obj: Arc<Object>,
    _type: PhantomData<T>,
}

object_handle!(SharedArray<T: Plain>, "shm.array", Shape::of::<T>(ObjectKind::Array, usize::MAX),
    typed = Some(Cow::Owned(transport_core::fingerprint::layout_fingerprint::<T>())));

impl<T: Plain> SharedArray<T> {
    /// A shared array holding a copy of `values`.
    ///
    /// # Errors
    /// [`SegmentError`] when the segment cannot be created.
    pub fn from_slice(values: &[T]) -> Result<Self, SegmentError> {
        let obj = Object::create(Shape::of::<T>(ObjectKind::Array, values.len()))?;
        // SAFETY: nobody else can reach the new segment yet; it holds
        // `values.len()` elements of T at an aligned address.
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), obj.data::<T>(), values.len()) };
        Ok(SharedArray {
            obj,
            _type: PhantomData,
        })
    }

    /// A shared array of `len` copies of `value`.
    ///
    /// # Errors
    /// As [`from_slice`](Self::from_slice).
    pub fn filled(value: T, len: usize) -> Result<Self, SegmentError> {
        let obj = Object::create(Shape::of::<T>(ObjectKind::Array, len))?;
        for i in 0..len {
            // SAFETY: as in `from_slice`; `i < len`.
            unsafe { obj.data::<T>().add(i).write(value) };
        }
        Ok(SharedArray {
            obj,
            _type: PhantomData,
        })
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.obj.len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn guard(&self) -> ArrayGuard<'_, T> {
        ArrayGuard {
            obj: &self.obj,
            _type: PhantomData,
            _not_send: PhantomData,
        }
    }

    /// Locks the array.
    ///
    /// # Errors
    /// [`OwnerDied`] (with the guard) when the previous holder died holding
    /// the lock.
    pub fn lock(&self) -> Result<ArrayGuard<'_, T>, OwnerDied<ArrayGuard<'_, T>>> {
        let acquired = lock::lock(&self.obj, &self.obj.header().lock, None);
        lock::outcome_forever(acquired, || self.guard())
    }

    /// Locks the array, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`LockTimeoutError::Timeout`], or `OwnerDied`.
    pub fn lock_timeout(
        &self,
        timeout: Duration,
    ) -> Result<ArrayGuard<'_, T>, LockTimeoutError<ArrayGuard<'_, T>>> {
        let acquired = lock::lock(
            &self.obj,
            &self.obj.header().lock,
            Instant::now().checked_add(timeout),
        );
        lock::outcome(acquired, || self.guard())
    }

    /// A copy of the elements, read under the lock.
    ///
    /// # Errors
    /// As [`lock`](Self::lock).
    pub fn to_vec(&self) -> Result<Vec<T>, OwnerDied<ArrayGuard<'_, T>>> {
        self.lock().map(|g| g.to_vec())
    }

    /// A handle over `obj`, checked for `T` (for the fuzz targets).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn from_object(obj: Arc<Object>) -> Self {
        SharedArray {
            obj,
            _type: PhantomData,
        }
    }

    /// The name of the shared memory segment.
    pub fn segment_name(&self) -> &str {
        self.obj.name()
    }
}

/// The lock on a [`SharedArray`], held: derefs to a slice. Unlocks on drop.
pub struct ArrayGuard<'a, T> {
    obj: &'a Object,
    _type: PhantomData<&'a mut [T]>,
    _not_send: PhantomData<*const ()>,
}

impl<T> Deref for ArrayGuard<'_, T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: the lock is held; the data holds `len` aligned elements of T
        // (checked at create/open); T is Plain, so any bytes are valid.
        unsafe { std::slice::from_raw_parts(self.obj.data::<T>().cast_const(), self.obj.len()) }
    }
}

impl<T> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as for `deref`; the lock gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.obj.data::<T>(), self.obj.len()) }
    }
}

impl<T> Drop for ArrayGuard<'_, T> {
    fn drop(&mut self) {
        lock::unlock(self.obj, &self.obj.header().lock);
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ArrayGuard").field(&&**self).finish()
    }
}

impl<'a, T> super::sealed::Sealed<'a> for ArrayGuard<'a, T> {
    fn object(&self) -> &'a Object {
        self.obj
    }
}
