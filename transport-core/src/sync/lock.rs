//! Locking a mutex whose data stays consistent at every unlock, so a
//! panic in another thread while it held the lock leaves nothing to
//! repair: the poison is ignored.

use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

/// Locks `mutex`, ignoring poison (see [`LockExt::lock_unpoisoned`]).
pub fn lock_unpoisoned<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Poison-tolerant locking.
///
/// For data that is consistent at every unlock (every change is made whole
/// while the lock is held), a panic elsewhere is no reason to stop using
/// it: a backend's shared state must keep serving the threads and
/// processes that did not panic.
///
/// ```
/// use std::sync::Mutex;
/// use transport_core::sync::LockExt;
///
/// let m = Mutex::new(1);
/// *m.lock_unpoisoned() += 1;
/// assert_eq!(*m.lock_unpoisoned(), 2);
/// ```
pub trait LockExt<T: ?Sized> {
    /// Locks, waiting for the lock; a poisoned lock is taken as it is.
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T>;

    /// Locks if nobody holds the lock now; a poisoned lock is taken as it
    /// is. `None` when another thread holds it.
    fn try_lock_unpoisoned(&self) -> Option<MutexGuard<'_, T>>;
}

impl<T: ?Sized> LockExt<T> for Mutex<T> {
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T> {
        lock_unpoisoned(self)
    }

    fn try_lock_unpoisoned(&self) -> Option<MutexGuard<'_, T>> {
        match self.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_still_taken() {
        let m = Mutex::new(5);
        let _ = std::panic::catch_unwind(|| {
            let _guard = m.lock().unwrap();
            panic!("poisoning the lock on purpose");
        });
        assert!(m.is_poisoned());
        assert_eq!(*m.lock_unpoisoned(), 5);
        assert_eq!(m.try_lock_unpoisoned().map(|g| *g), Some(5));
        let held = m.lock_unpoisoned();
        assert!(m.try_lock_unpoisoned().is_none());
        drop(held);
    }
}
