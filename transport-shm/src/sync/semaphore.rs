//! [`SharedSemaphore`]: a process-shared counting semaphore.

use std::{
    marker::PhantomData,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use crate::{
    error::SegmentError,
    shared::{
        object::{Object, ObjectKind, Shape},
        object_handle,
    },
};

/// A process-shared counting semaphore (Python's
/// `multiprocessing.Semaphore`). Permits are not tied to processes: a
/// process that dies holding one does not give it back (as in Python).
///
/// ```
/// let sem = transport_shm::SharedSemaphore::new(1).unwrap();
/// assert!(sem.try_acquire());
/// assert!(!sem.try_acquire());
/// sem.release();
/// assert!(sem.try_acquire());
/// ```
pub struct SharedSemaphore {
    obj: Arc<Object>,
    _type: PhantomData<()>,
}

object_handle!(
    SharedSemaphore,
    "shm.semaphore",
    Shape::of::<()>(ObjectKind::Semaphore, 0),
    typed = None
);

impl SharedSemaphore {
    /// A semaphore with `permits` permits, in its own segment.
    ///
    /// # Errors
    /// [`SegmentError`] when the segment cannot be created.
    pub fn new(permits: u32) -> Result<Self, SegmentError> {
        let obj = Object::create(Shape::of::<()>(ObjectKind::Semaphore, 0))?;
        obj.header().a.store(permits, Ordering::SeqCst);
        Ok(SharedSemaphore {
            obj,
            _type: PhantomData,
        })
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> bool {
        let word = &self.obj.header().a;
        let mut cur = word.load(Ordering::Relaxed);
        while cur > 0 {
            match word.compare_exchange_weak(cur, cur - 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
        false
    }

    /// Waits for a permit and takes it.
    pub fn acquire(&self) {
        while !self.acquire_timeout(Duration::from_secs(3600)) {}
    }

    /// Waits at most `timeout` for a permit; whether one was taken.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if self.try_acquire() {
                return true;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return false;
            }
            self.obj.segment().wait(&self.obj.header().a, 0, left);
        }
    }

    /// Gives a permit back and wakes a waiter.
    pub fn release(&self) {
        let word = &self.obj.header().a;
        word.fetch_add(1, Ordering::Release);
        self.obj.segment().wake(word, false);
    }

    /// The permits free right now.
    pub fn available(&self) -> u32 {
        self.obj.header().a.load(Ordering::Relaxed)
    }
}
