//! Windows, feature `tokio`: an auto-reset event waited on by the system
//! thread pool (`RegisterWaitForSingleObject`), whose callback wakes the
//! tasks last given to it (one per side: a receiving and a sending task). A pool wait thread serves up to 63 such waits,
//! so there is no thread per end. Used by `zero_read.rs` (a pipe's
//! zero-byte read signals the event) and `named/windows_tcp_watch.rs` (a
//! socket's network events do, through `WSAEventSelect`).

use std::{
    io,
    os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle},
    ptr,
    sync::{Arc, Mutex},
    task::Waker,
};

use transport_core::sync::LockExt;
use windows_sys::Win32::{
    Foundation::{HANDLE, INVALID_HANDLE_VALUE},
    System::Threading::{
        CreateEventW, INFINITE, RegisterWaitForSingleObject, UnregisterWaitEx, WT_EXECUTEDEFAULT,
    },
};

/// The tasks to wake, one per side, shared with the pool's callback.
#[derive(Default)]
struct Slot(Mutex<[Option<Waker>; 2]>);

/// Which task a waker is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Recv = 0,
    Send = 1,
}

/// The event and its registered wait. Dropping it unregisters the wait,
/// waiting for a callback that may be running, then closes the event.
pub(crate) struct RegisteredWait {
    /// The registered wait; its callback holds a pointer to `slot`.
    wait: HANDLE,
    slot: Arc<Slot>,
    /// Auto-reset: the pool's wait consumes the signal.
    event: OwnedHandle,
}

// SAFETY: the raw handle of the registered wait is process-wide and usable
// from any thread; the slot is behind a mutex.
unsafe impl Send for RegisteredWait {}
// SAFETY: as above; `&self` only reads the handles and locks the slot.
unsafe impl Sync for RegisteredWait {}

/// Runs on a pool thread when the event is signalled.
unsafe extern "system" fn on_signal(context: *mut std::ffi::c_void, _timed_out: bool) {
    // SAFETY: `context` is the `Slot` of a `RegisteredWait`, which keeps it
    // alive until `UnregisterWaitEx` has returned, and that waits for
    // running callbacks.
    let slot = unsafe { &*context.cast::<Slot>() };
    let wakers = std::mem::take(&mut *slot.0.lock_unpoisoned());
    for waker in wakers.into_iter().flatten() {
        waker.wake();
    }
}

impl RegisteredWait {
    pub(crate) fn new() -> io::Result<RegisteredWait> {
        // SAFETY: an auto-reset, unsignalled, unnamed event with default
        // security; CreateEventW returns a new handle or null.
        let h = unsafe { CreateEventW(ptr::null(), 0, 0, ptr::null()) };
        if h.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `h` is a new handle that nothing else owns.
        let event = unsafe { OwnedHandle::from_raw_handle(h) };
        let slot = Arc::new(Slot::default());
        let mut wait: HANDLE = ptr::null_mut();
        // SAFETY: `slot` outlives the registration (see `Drop`); the
        // callback only reads it.
        let ok = unsafe {
            RegisterWaitForSingleObject(
                &mut wait,
                event.as_raw_handle(),
                Some(on_signal),
                Arc::as_ptr(&slot).cast(),
                INFINITE,
                WT_EXECUTEDEFAULT,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RegisteredWait { wait, slot, event })
    }

    /// The event to signal.
    pub(crate) fn event(&self) -> HANDLE {
        self.event.as_raw_handle()
    }

    /// Makes `waker` the one of `side` that the next signal wakes.
    pub(crate) fn set_waker(&self, side: Side, waker: &Waker) {
        self.slot.0.lock_unpoisoned()[side as usize] = Some(waker.clone());
    }
}

impl Drop for RegisteredWait {
    fn drop(&mut self) {
        // SAFETY: unregisters the wait and (INVALID_HANDLE_VALUE) waits for
        // a callback that may be running, so `slot` is no longer used once
        // this returns; the event closes after, with the fields.
        unsafe { UnregisterWaitEx(self.wait, INVALID_HANDLE_VALUE) };
    }
}
