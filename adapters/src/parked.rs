//! [`Parked`]: the one `Sink` item an [`AsyncSender`](crate::AsyncSender)
//! holds, serialized, when the channel had no room for it, until the next
//! send pushes it out first.
//!
//! An item is parked only through `&mut` (a `Sink`'s `start_send`), while
//! sends through `&self` (from several tasks, when the sender is shared)
//! take it out. Every send reads a flag; only a send that finds an item
//! there takes the lock, so a sender that never parks never locks.

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicBool, Ordering},
};

use transport_core::{
    SendError,
    backend::{RawSendError, RawSender, Wait},
    rkyv::util::AlignedVec,
    sync::LockExt,
};

use crate::errors::raw_send_error;

/// At most one serialized item waiting to go out before any other.
#[derive(Default)]
pub(crate) struct Parked {
    item: Mutex<Option<AlignedVec>>,
    /// Whether `item` holds one; cleared under the lock once it is sent.
    held: AtomicBool,
}

impl Parked {
    /// Whether no item waits.
    pub(crate) fn is_empty(&self) -> bool {
        !self.held.load(Ordering::Acquire)
    }

    /// The waiting item's length in bytes, if one waits.
    pub(crate) fn len(&self) -> Option<usize> {
        if self.is_empty() {
            return None;
        }
        self.item.lock_unpoisoned().as_ref().map(|bytes| bytes.len())
    }

    /// Parks `bytes` (the slot is empty: the `Sink` pushed the last item
    /// out before taking another).
    pub(crate) fn put(&mut self, bytes: AlignedVec) {
        *self.item.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(bytes);
        *self.held.get_mut() = true;
    }

    /// Sends the waiting item through `raw` without waiting: `Ok(true)`
    /// when none is left, `Ok(false)` when the channel had no room. An item
    /// the backend refused for good is dropped, and the error returned.
    pub(crate) fn push<S: RawSender>(&self, raw: &S) -> Result<bool, SendError<()>> {
        if self.is_empty() {
            return Ok(true);
        }
        let mut item = self.item.lock_unpoisoned();
        let Some(bytes) = item.as_ref() else {
            // Another task sent it while this one waited for the lock.
            return Ok(true);
        };
        let sent = raw.send_bytes(bytes, Wait::Never);
        if matches!(sent, Err(RawSendError::NotReady)) {
            return Ok(false);
        }
        *item = None;
        self.held.store(false, Ordering::Release);
        sent.map(|()| true).map_err(|e| raw_send_error((), e))
    }
}
