//! [`SharedBarrier`]: a process-shared barrier that breaks, rather than
//! hangs, when a party dies.

use std::{
    error::Error,
    fmt,
    marker::PhantomData,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use crate::{
    channel::LIVENESS_PERIOD,
    error::SegmentError,
    shared::{
        object::{Object, ObjectKind, Shape},
        object_handle,
    },
};

/// A process-shared barrier for a fixed number of parties (Python's
/// `multiprocessing.Barrier`). If a process that uses it dies, or a wait
/// times out, the barrier is broken: every waiter, now and later, gets
/// [`BarrierError::Broken`] instead of waiting forever.
///
/// ```
/// let b = transport_shm::SharedBarrier::new(1).unwrap();
/// assert!(b.wait().unwrap().is_leader());
/// ```
pub struct SharedBarrier {
    obj: Arc<Object>,
    _type: PhantomData<()>,
}

object_handle!(
    SharedBarrier,
    "shm.barrier",
    Shape::of::<()>(ObjectKind::Barrier, 0),
    typed = None
);

/// A passed barrier: one party of each round is its leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this party was the last to arrive.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

/// Why a barrier wait failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BarrierError {
    /// A participant died or a wait timed out: the barrier cannot complete.
    Broken,
}

impl fmt::Display for BarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier is broken: a participant died or a wait timed out")
    }
}

impl Error for BarrierError {}

impl SharedBarrier {
    /// A barrier for `parties` parties (at least 1), in its own segment.
    ///
    /// # Errors
    /// [`SegmentError`] when the segment cannot be created.
    pub fn new(parties: u32) -> Result<Self, SegmentError> {
        let obj = Object::create(Shape::of::<()>(ObjectKind::Barrier, 0))?;
        obj.header().c.store(parties.max(1), Ordering::SeqCst);
        Ok(SharedBarrier {
            obj,
            _type: PhantomData,
        })
    }

    /// Waits until all parties arrived.
    ///
    /// # Errors
    /// [`BarrierError::Broken`] if a participant died (seen within
    /// [`LIVENESS_PERIOD`]) or the barrier was broken before.
    pub fn wait(&self) -> Result<BarrierWaitResult, BarrierError> {
        self.wait_until(None)
    }

    /// As [`wait`](Self::wait), for at most `timeout`; a time-out breaks the
    /// barrier.
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, BarrierError> {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Whether the barrier is broken.
    pub fn is_broken(&self) -> bool {
        self.obj.header().d.load(Ordering::SeqCst) != 0
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<BarrierWaitResult, BarrierError> {
        let h = self.obj.header();
        if self.is_broken() {
            return Err(BarrierError::Broken);
        }
        let generation = h.b.load(Ordering::SeqCst);
        let parties = h.c.load(Ordering::SeqCst).max(1);
        let arrived = h.a.fetch_add(1, Ordering::SeqCst) + 1;
        if arrived >= parties {
            h.a.store(0, Ordering::SeqCst);
            h.b.fetch_add(1, Ordering::SeqCst);
            self.obj.segment().wake(&h.b, true);
            return Ok(BarrierWaitResult(true));
        }
        let seg = self.obj.segment();
        loop {
            if self.is_broken() {
                return Err(BarrierError::Broken);
            }
            if h.b.load(Ordering::SeqCst) != generation {
                return Ok(BarrierWaitResult(false));
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) || seg.any_dead() {
                self.break_barrier();
                return Err(BarrierError::Broken);
            }
            let mut timeout = LIVENESS_PERIOD;
            if let Some(d) = deadline {
                timeout = timeout.min(d - now);
            }
            seg.wait(&h.b, generation, Some(timeout));
        }
    }

    fn break_barrier(&self) {
        let h = self.obj.header();
        h.d.store(1, Ordering::SeqCst);
        h.b.fetch_add(1, Ordering::SeqCst);
        self.obj.segment().wake(&h.b, true);
    }
}
