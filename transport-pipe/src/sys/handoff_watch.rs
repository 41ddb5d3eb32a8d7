//! Windows: the parent's copy of a handed-off pipe end released when the
//! child it was handed to exits without taking it.
//!
//! The hand-off (`windows.rs`) keeps the end's handle open in the parent
//! until the child duplicates it out (closing the parent's copy with
//! `DUPLICATE_CLOSE_SOURCE`). A child that is killed, or exits, before it
//! does that would leave the copy open until the parent exits, and the
//! pipe's other end would never see the broken pipe: a pool's reader of a
//! worker killed while it was starting waited forever. Once told the child
//! (`transport_core::spawned`), a one-time wait of the system thread pool
//! (no thread per child) waits for the child process to end, then closes
//! the copy if it is still there.
//!
//! Whether the copy is still this process's to close is decided by the
//! hand-off's claim (`claim.rs`): the watch takes the claim's unit, and
//! only then closes the copy (and the claim object's handle). A child that
//! took the end took the unit first, and the watch leaves the values alone:
//! it never queries or closes a value that may name another object by now.

use std::{
    io,
    os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle},
    process::Child,
    ptr,
    sync::{Arc, Mutex},
};

use transport_core::sync::LockExt;
use windows_sys::Win32::{
    Foundation::{CloseHandle, DuplicateHandle, HANDLE},
    System::Threading::{
        GetCurrentProcess, GetCurrentProcessId, INFINITE, PROCESS_SYNCHRONIZE, RegisterWaitForSingleObject,
        UnregisterWait, WT_EXECUTEONLYONCE,
    },
};

use super::{claim::Claim, payload::Payload};

/// One handed-off end waiting for its child to exit.
struct Pending {
    /// The parent's copy, as its value in this process.
    handle: usize,
    /// The claim object's handle in this process, and the claim itself.
    claim_handle: usize,
    claim: Claim,
    /// The child, for the wait; closed when the last reference goes.
    process: OwnedHandle,
    /// Who unregisters the wait: the pool's callback if the wait was
    /// stored before it ran, else the code that registered it.
    wait: Mutex<WaitState>,
}

struct WaitState {
    registered: Option<HANDLE>,
    fired: bool,
}

// SAFETY: the raw handles are process-wide values usable from any thread;
// the wait's state is behind a mutex.
unsafe impl Send for Pending {}
// SAFETY: as above.
unsafe impl Sync for Pending {}

/// Runs once on a pool thread when the child has exited.
unsafe extern "system" fn on_exit(context: *mut std::ffi::c_void, _timed_out: bool) {
    // SAFETY: `context` is the reference `watch_child` gave up for this
    // callback with `Arc::into_raw`; it runs once (WT_EXECUTEONLYONCE).
    let pending = unsafe { Arc::from_raw(context.cast::<Pending>().cast_const()) };
    if pending.claim.take() {
        // SAFETY: the claim's unit makes both values this process's to
        // close, once (see `claim.rs`): no other process took or closed them.
        unsafe {
            CloseHandle(pending.handle as HANDLE);
            CloseHandle(pending.claim_handle as HANDLE);
        }
    }
    let mut wait = pending.wait.lock_unpoisoned();
    wait.fired = true;
    if let Some(registered) = wait.registered {
        // SAFETY: frees the one-time wait; from its own callback this does
        // not wait for the callback (it says ERROR_IO_PENDING and frees it
        // once the callback returns).
        unsafe { UnregisterWait(registered) };
    }
}

/// Watches `child`, to which the end `payload` describes was handed, and
/// closes this process's copy of the end if the child exits without taking
/// it. A payload of another process, or that cannot be read, is left alone.
pub(crate) fn watch_child(payload: &str, child: &Child) -> io::Result<()> {
    let Ok(p) = Payload::parse(payload) else {
        return Ok(());
    };
    // SAFETY: GetCurrentProcessId has no preconditions.
    if p.pid != unsafe { GetCurrentProcessId() } {
        return Ok(());
    }
    let claim = Claim::new(p.pid, p.handle, p.pipe)?;
    let mut process: HANDLE = ptr::null_mut();
    // SAFETY: duplicates the child's process handle (valid while `child`
    // lives) into `process`, for waiting only.
    let ok = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            child.as_raw_handle(),
            GetCurrentProcess(),
            &mut process,
            PROCESS_SYNCHRONIZE,
            0,
            0,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let pending = Arc::new(Pending {
        handle: p.handle,
        claim_handle: p.claim,
        claim,
        // SAFETY: `process` is a new handle that nothing else owns.
        process: unsafe { OwnedHandle::from_raw_handle(process) },
        wait: Mutex::new(WaitState {
            registered: None,
            fired: false,
        }),
    });
    let context = Arc::into_raw(Arc::clone(&pending));
    let mut registered: HANDLE = ptr::null_mut();
    // SAFETY: `context` is a reference the callback takes back (once); the
    // process handle it waits on lives in `Pending` until then.
    let ok = unsafe {
        RegisterWaitForSingleObject(
            &mut registered,
            pending.process.as_raw_handle(),
            Some(on_exit),
            context.cast_mut().cast(),
            INFINITE,
            WT_EXECUTEONLYONCE,
        )
    };
    if ok == 0 {
        let e = io::Error::last_os_error();
        // SAFETY: the wait was not registered, so the callback will never
        // take this reference back: take it here.
        drop(unsafe { Arc::from_raw(context) });
        return Err(e);
    }
    let mut wait = pending.wait.lock_unpoisoned();
    if wait.fired {
        // The child was already gone and the callback ran first, without
        // the wait to free: free it here.
        // SAFETY: a one-time wait whose callback has run.
        unsafe { UnregisterWait(registered) };
    } else {
        wait.registered = Some(registered);
    }
    Ok(())
}
