//! Windows: the parent's copy of a handed-off pipe end released when the
//! child it was handed to exits without taking it.
//!
//! The hand-off (`windows.rs`) keeps the end's handle open in the parent
//! until the child duplicates it out (closing the parent's copy with
//! `DUPLICATE_CLOSE_SOURCE`). A child that is killed, or exits, before it
//! does that would leave the copy open until the parent exits, and the
//! pipe's other end would never see the broken pipe: a pool's reader of a
//! worker killed while it was starting waited forever. Once told the child
//! (`transport_core::spawned`), a thread waits for the child process to
//! end, then closes the copy if it is still there.
//!
//! Once the child has exited nothing can take the copy any more, so the
//! check and the close cannot race with the child. The copy is still there
//! when the handle's value still names an end of that pipe (its random
//! 128-bit name, its server): a child that took it closed the value, and
//! a later handle of this process at the same value is of another object
//! (the only other handle of that pipe here is the parent's own end, open
//! meanwhile under its own value).

use std::{
    io,
    os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle},
    process::Child,
    ptr, thread,
};

use windows_sys::Win32::{
    Foundation::{CloseHandle, DuplicateHandle, HANDLE},
    System::Threading::{
        GetCurrentProcess, GetCurrentProcessId, INFINITE, PROCESS_SYNCHRONIZE, WaitForSingleObject,
    },
};

use super::windows::{is_end_of, parse_payload};

/// The watching thread's stack: it makes four system calls.
const STACK: usize = 64 * 1024;

/// Watches `child`, to which the end `payload` describes was handed, and
/// closes this process's copy of the end if the child exits without taking
/// it. A payload of another process, or that cannot be read, is left alone.
pub(crate) fn watch_child(payload: &str, child: &Child) -> io::Result<()> {
    let Ok((pid, handle, server, name)) = parse_payload(payload) else {
        return Ok(());
    };
    // SAFETY: GetCurrentProcessId has no preconditions.
    if pid != unsafe { GetCurrentProcessId() } {
        return Ok(());
    }
    let name = name.to_owned();
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
    // SAFETY: `process` is a new handle that nothing else owns.
    let process = unsafe { OwnedHandle::from_raw_handle(process) };
    thread::Builder::new()
        .name("pipe-handoff-watch".into())
        .stack_size(STACK)
        .spawn(move || {
            // SAFETY: waits on a process handle this thread owns.
            unsafe { WaitForSingleObject(process.as_raw_handle(), INFINITE) };
            let handle = handle as HANDLE;
            // The child is gone, so nothing else can close or take the
            // copy now (see the module's documentation).
            if is_end_of(handle, server, &name) {
                // SAFETY: the value is this process's copy of the handed-off
                // end, which nothing else owns (its `OwnedHandle` was given
                // up by the hand-off) and no one else can close any more.
                unsafe { CloseHandle(handle) };
            }
        })
        .map(drop)
}
