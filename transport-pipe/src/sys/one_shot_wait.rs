//! Windows, feature `tokio`: a one-time wait of the system thread pool
//! (`RegisterWaitForSingleObject` with `WT_EXECUTEONLYONCE`) on a
//! *manual-reset* event that someone else owns and signals, whose callback
//! wakes the task last given to it.
//!
//! `registered_wait.rs` waits for good on an auto-reset event of its own,
//! which the pool consumes: nothing else may wait on that event. The
//! events of a message-mode pipe's read-ahead (`named/windows_read_ahead.rs`)
//! and of a socket's writes (`windows.rs`) are also waited on by blocking
//! calls, so they are manual-reset, and a lasting wait on one would run
//! its callback again and again while it stays signalled (after the
//! operation ended, until the next one starts). A one-time wait runs its
//! callback once, when the event is signalled (at once if it already is),
//! and consumes nothing; a task that must wait again after it fired
//! registers a new one ([`OneShotWait::arm`]). A pool wait thread serves
//! up to 63 such waits, so there is no thread per end.

use std::{
    io, ptr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::Waker,
};

use transport_core::sync::LockExt;
use windows_sys::Win32::{
    Foundation::{HANDLE, INVALID_HANDLE_VALUE},
    System::Threading::{INFINITE, RegisterWaitForSingleObject, UnregisterWaitEx, WT_EXECUTEONLYONCE},
};

/// The task to wake, and whether the callback ran; shared with the pool.
#[derive(Default)]
struct Slot {
    waker: Mutex<Option<Waker>>,
    fired: AtomicBool,
}

/// A registered one-time wait. Dropping it unregisters the wait, waiting
/// for a callback that may be running.
pub(crate) struct OneShotWait {
    /// The registered wait; its callback holds a pointer to `slot`.
    wait: HANDLE,
    slot: Arc<Slot>,
}

// SAFETY: the raw handle of the registered wait is process-wide and usable
// from any thread; the slot is behind a mutex and an atomic.
unsafe impl Send for OneShotWait {}
// SAFETY: as above; `&self` only reads the handle and the slot.
unsafe impl Sync for OneShotWait {}

impl std::fmt::Debug for OneShotWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneShotWait")
            .field("fired", &self.slot.fired.load(Ordering::Acquire))
            .finish()
    }
}

/// Runs on a pool thread when the event is signalled, once.
unsafe extern "system" fn on_signal(context: *mut std::ffi::c_void, _timed_out: bool) {
    // SAFETY: `context` is the `Slot` of a `OneShotWait`, which keeps it
    // alive until `UnregisterWaitEx` has returned, and that waits for a
    // running callback.
    let slot = unsafe { &*context.cast::<Slot>() };
    slot.fired.store(true, Ordering::Release);
    let waker = slot.waker.lock_unpoisoned().take();
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl OneShotWait {
    /// Registers a one-time wait on `event` that wakes `waker`.
    ///
    /// # Safety
    ///
    /// `event` must be a manual-reset event that stays open until the
    /// returned wait is dropped.
    unsafe fn new(event: HANDLE, waker: &Waker) -> io::Result<OneShotWait> {
        let slot = Arc::new(Slot {
            waker: Mutex::new(Some(waker.clone())),
            fired: AtomicBool::new(false),
        });
        let mut wait: HANDLE = ptr::null_mut();
        // SAFETY: `event` is open (the caller's promise) and `slot` outlives
        // the registration (see `Drop`); the callback only reads it.
        let ok = unsafe {
            RegisterWaitForSingleObject(
                &mut wait,
                event,
                Some(on_signal),
                Arc::as_ptr(&slot).cast(),
                INFINITE,
                WT_EXECUTEONLYONCE,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OneShotWait { wait, slot })
    }

    /// Makes `slot` wake `waker` the next time `event` is signalled (at
    /// once if it is now): a wait that has not fired yet is kept and given
    /// `waker`; one that fired is replaced by a new one.
    ///
    /// # Safety
    ///
    /// `event` must be a manual-reset event that stays open until `slot`
    /// is emptied or dropped, and every wait in `slot` must be on it.
    pub(crate) unsafe fn arm(slot: &mut Option<OneShotWait>, event: HANDLE, waker: &Waker) -> io::Result<()> {
        if let Some(wait) = slot.as_ref() {
            *wait.slot.waker.lock_unpoisoned() = Some(waker.clone());
            // Not fired yet: it fires on the next signal, with this waker.
            // Fired meanwhile (it may have taken the old waker): wait anew.
            if !wait.slot.fired.load(Ordering::Acquire) {
                return Ok(());
            }
        }
        // Unregister the spent wait before its replacement exists.
        *slot = None;
        // SAFETY: the caller's promise about `event`.
        *slot = Some(unsafe { OneShotWait::new(event, waker) }?);
        Ok(())
    }
}

impl Drop for OneShotWait {
    fn drop(&mut self) {
        // SAFETY: unregisters the wait (required after it fired too) and
        // (INVALID_HANDLE_VALUE) waits for a callback that may be running,
        // so `slot` is no longer used once this returns.
        unsafe { UnregisterWaitEx(self.wait, INVALID_HANDLE_VALUE) };
    }
}
