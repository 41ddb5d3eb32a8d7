//! Waiting on a condition variable for as long as a [`Wait`] allows.

use std::sync::{Condvar, MutexGuard, PoisonError};

use crate::wait::Wait;

/// How a [`wait_as`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// Woken (by a notify, or spuriously): the caller looks again.
    Woken,
    /// The wait ran out (at once for [`Wait::Never`] or a deadline already
    /// past, without unlocking).
    TimedOut,
}

impl Waited {
    /// Whether the wait ran out.
    pub fn timed_out(self) -> bool {
        self == Waited::TimedOut
    }
}

/// Waits on `cv` with `guard`'s lock released, as `wait` allows: not at
/// all for [`Wait::Never`] (or a deadline already past), until the
/// deadline for [`Wait::Until`], without limit for [`Wait::Forever`].
/// Poison is ignored (see [`LockExt`](super::LockExt)).
///
/// A wake may be spurious, as with any condition variable: the caller
/// checks its condition again, and gives up once the result is
/// [`Waited::TimedOut`] or [`Wait::expired`] says so.
///
/// ```
/// use std::sync::{Condvar, Mutex};
/// use transport_core::{Wait, sync::{LockExt, Waited, wait_as}};
///
/// let (m, cv) = (Mutex::new(false), Condvar::new());
/// let (guard, waited) = wait_as(&cv, m.lock_unpoisoned(), Wait::Never);
/// assert_eq!(waited, Waited::TimedOut);
/// assert!(!*guard);
/// ```
pub fn wait_as<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>, wait: Wait) -> (MutexGuard<'a, T>, Waited) {
    match wait.remaining() {
        None => (
            cv.wait(guard).unwrap_or_else(PoisonError::into_inner),
            Waited::Woken,
        ),
        Some(left) if left.is_zero() => (guard, Waited::TimedOut),
        Some(left) => {
            let (guard, result) = cv
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner);
            let waited = if result.timed_out() {
                Waited::TimedOut
            } else {
                Waited::Woken
            };
            (guard, waited)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Arc, Mutex},
        thread,
        time::Duration,
    };

    use super::*;
    use crate::sync::LockExt;

    #[test]
    fn a_past_deadline_does_not_wait() {
        let (m, cv) = (Mutex::new(()), Condvar::new());
        let past = Wait::Until(std::time::Instant::now());
        assert_eq!(wait_as(&cv, m.lock_unpoisoned(), past).1, Waited::TimedOut);
        let short = Wait::timeout(Duration::from_millis(1));
        let mut waited = Waited::Woken;
        while waited == Waited::Woken {
            waited = wait_as(&cv, m.lock_unpoisoned(), short).1;
        }
        assert!(short.expired());
    }

    #[test]
    fn a_notify_wakes_a_wait_forever() {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let other = Arc::clone(&pair);
        let setter = thread::spawn(move || {
            *other.0.lock_unpoisoned() = true;
            other.1.notify_all();
        });
        let (m, cv) = &*pair;
        let mut guard = m.lock_unpoisoned();
        while !*guard {
            guard = wait_as(cv, guard, Wait::Forever).0;
        }
        drop(guard);
        setter.join().unwrap();
    }
}
