//! Windows: the single claim on a handed-off pipe end.
//!
//! The handing process keeps the end's handle open until a child takes it
//! (`windows.rs`), and gives up its ownership: the handle is closed by
//! exactly one party, the child that takes it (with
//! `DUPLICATE_CLOSE_SOURCE`) or the hand-off watch once that child exits
//! without taking it (`handoff_watch.rs`). Neither may close or even query
//! a handle value the other already closed: the value may name an unrelated
//! object of the handing process by then, and a query that is I/O on such
//! an object (a pipe's server process id, say) can complete on that
//! object's own completion port or event.
//!
//! So who closes is decided first, by a named semaphore with one unit that
//! the hand-off creates beside the end (owner-only, under a name made of
//! the pipe's random name, the handing process and the handle value): the
//! party that takes its unit, with a zero-timeout wait on a handle of its
//! own, owns the end's handle and the semaphore's handle in the handing
//! process, and closes both; the other leaves them alone. A copy of the
//! token in a third process meets a semaphore without a unit (or none at
//! all once the owner closed it) and is refused before it touches a
//! handle.

use std::{
    ffi::c_void,
    io,
    os::windows::io::{AsRawHandle, FromRawHandle, IntoRawHandle, OwnedHandle},
};

use interprocess::os::windows::security_descriptor::{AsSecurityDescriptor, SecurityDescriptor};
use widestring::U16CString;
use windows_sys::Win32::{
    Foundation::{ERROR_ALREADY_EXISTS, GetLastError, WAIT_OBJECT_0},
    Security::SECURITY_ATTRIBUTES,
    System::Threading::{CreateSemaphoreW, OpenSemaphoreW, SYNCHRONIZATION_SYNCHRONIZE, WaitForSingleObject},
};

/// The claim object of one hand-off, by name.
pub(super) struct Claim {
    name: U16CString,
}

impl Claim {
    /// The claim of the end at `handle` in process `pid`, an end of pipe
    /// `pipe` (its name without `\\.\pipe\`).
    pub(super) fn new(pid: u32, handle: usize, pipe: &str) -> io::Result<Claim> {
        let name = format!("Local\\{pipe}-claim-{pid}-{handle}");
        let name = U16CString::from_str(name).map_err(io::Error::other)?;
        Ok(Claim { name })
    }

    /// Creates the claim object with its one unit, under `descriptor` (the
    /// current user's only), and gives up this process's handle to it: its
    /// value, returned, is closed by whoever takes the unit. Fails if the
    /// name exists already.
    pub(super) fn create(&self, descriptor: &SecurityDescriptor) -> io::Result<usize> {
        let attributes = SECURITY_ATTRIBUTES {
            nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: descriptor.as_sd().cast_mut().cast::<c_void>(),
            bInheritHandle: 0,
        };
        // SAFETY: `attributes` and the descriptor it points to, and the
        // NUL-terminated name, live across the call.
        let handle = unsafe { CreateSemaphoreW(&attributes, 1, 1, self.name.as_ptr()) };
        // SAFETY: GetLastError has no preconditions; read before any other call.
        let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `handle` is a new handle that nothing else owns.
        let handle = unsafe { OwnedHandle::from_raw_handle(handle) };
        if existed {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the hand-off's claim object exists already",
            ));
        }
        Ok(handle.into_raw_handle() as usize)
    }

    /// Takes the unit: true for the one caller, in any process, that does;
    /// false for every other, and when the object is gone (its unit was
    /// taken and its owner closed it, or the handing process exited).
    pub(super) fn take(&self) -> bool {
        // SAFETY: opens a handle to a named object, or returns null.
        let handle = unsafe { OpenSemaphoreW(SYNCHRONIZATION_SYNCHRONIZE, 0, self.name.as_ptr()) };
        if handle.is_null() {
            return false;
        }
        // SAFETY: `handle` is a new handle that nothing else owns.
        let handle = unsafe { OwnedHandle::from_raw_handle(handle) };
        // SAFETY: a zero-timeout wait on this process's own handle; a
        // semaphore's successful wait takes one unit.
        unsafe { WaitForSingleObject(handle.as_raw_handle(), 0) == WAIT_OBJECT_0 }
    }
}
