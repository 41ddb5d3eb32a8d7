//! [`SharedEvent`]: a process-shared flag to wait on.

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

/// A process-shared event (Python's `multiprocessing.Event`): a flag that
/// processes wait on until another sets it.
///
/// ```
/// use std::time::Duration;
///
/// let ev = transport_shm::SharedEvent::new().unwrap();
/// assert!(!ev.wait_timeout(Duration::from_millis(1)));
/// ev.set();
/// assert!(ev.is_set());
/// assert!(ev.wait_timeout(Duration::from_secs(1)));
/// ```
pub struct SharedEvent {
    obj: Arc<Object>,
    _type: PhantomData<()>,
}

object_handle!(
    SharedEvent,
    "shm.event",
    Shape::of::<()>(ObjectKind::Event, 0),
    typed = None
);

impl SharedEvent {
    /// A new, cleared event in its own segment.
    ///
    /// # Errors
    /// [`SegmentError`] when the segment cannot be created.
    pub fn new() -> Result<Self, SegmentError> {
        Ok(SharedEvent {
            obj: Object::create(Shape::of::<()>(ObjectKind::Event, 0))?,
            _type: PhantomData,
        })
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        let word = &self.obj.header().a;
        if word.swap(1, Ordering::SeqCst) == 0 {
            self.obj.segment().wake(word, true);
        }
    }

    /// Clears the flag.
    pub fn clear(&self) {
        self.obj.header().a.store(0, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.obj.header().a.load(Ordering::SeqCst) != 0
    }

    /// Waits until the flag is set.
    pub fn wait(&self) {
        while !self.wait_timeout(Duration::from_secs(3600)) {}
    }

    /// Waits at most `timeout` for the flag; whether it is set.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let word = &self.obj.header().a;
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if word.load(Ordering::SeqCst) != 0 {
                return true;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return false;
            }
            self.obj.segment().wait(word, 0, left);
        }
    }
}
