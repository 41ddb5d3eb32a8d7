//! Operating-system code, and nothing else.
//!
//! Every platform module provides the same items:
//!
//! - `current_start() -> Option<u64>` and `process_start(pid) -> Option<u64>`:
//!   a value that identifies one run of a process (its start time), so that a
//!   recycled process id is not mistaken for the process that died. `None`
//!   means "no such live process" (a zombie counts as dead).
//! - `Parker`: cross-process wait and wake on a 32-bit word in a shared
//!   segment (`wait` may return spuriously; callers loop). Linux uses a
//!   shared (not private) futex; macOS `os_sync_wait_on_address` with the
//!   shared flag where it exists (macOS 14.4+), else `__ulock_wait` with
//!   `UL_COMPARE_AND_WAIT_SHARED`; Windows named semaphores, one per bucket of
//!   words, because `WaitOnAddress` does not cross processes.
//! - `Mapping`: a named shared memory object, mapped. `create(name, size)`
//!   makes it exclusively and owner-only whatever the umask; `open(name)`
//!   maps an existing one, refusing one that another user owns
//!   ([`MapError::NotOwned`]); `unlink(name)` removes the name. Unix uses
//!   `shm_open` and `mmap` directly (the mode is set on the descriptor);
//!   Windows uses the `shared_memory` crate (a file mapping backed by a
//!   file in the user's temporary directory).
//! - `list_segments()` / `register()` / `unregister()`: how the segments of
//!   this crate are found for stale cleanup, this user's only. Linux lists
//!   `/dev/shm` and keeps the entries this user owns; macOS cannot list
//!   POSIX shared memory, so it keeps a marker file per segment in a
//!   per-user directory; Windows lists the backing files the
//!   `shared_memory` crate keeps in the user's temporary directory.
//! - `record_child_pid(cmd, keep, slots)`: where the platform can, makes
//!   the child a `Command` spawns record its process id and start time in a
//!   participant entry before it runs (Unix: `pre_exec`), so a hand-off
//!   whose child died before opening it is seen as dead, and only that
//!   child can claim it (`RECORDS_CHILD_PID` says whether it does).
//!
//! - `Alarm` and `MULTI_WAIT_MAX`: what the async bridge thread sleeps in.
//!   `Alarm::wait(seq, words, timeout)` sleeps until `Alarm::ring` was called
//!   after `Alarm::seq` returned `seq`, until one of up to `MULTI_WAIT_MAX`
//!   segment words ([`WaitWord`]) no longer holds its expected value, or
//!   until the timeout (it may return early). Linux uses `futex_waitv`
//!   (kernel 5.16+; `Unsupported` before, found at run time); Windows
//!   `WaitForMultipleObjects` on an event and the words' bucket semaphores
//!   (63 at most); macOS has no call that sleeps on several addresses, so
//!   its `MULTI_WAIT_MAX` is 0 and the bridge falls back to one word at a
//!   time (see `channel::bridge`).
//!
//! `unsupported.rs` compiles everywhere else and fails at run time.

use std::{
    io,
    sync::atomic::{AtomicU32, AtomicU64},
};

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub(crate) use macos::*;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod unsupported;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
pub(crate) use unsupported::*;

/// The number of wait buckets a segment reserves (used by platforms whose
/// wait primitive is not address-based).
pub(crate) const WAIT_BUCKETS: usize = 64;

/// One segment word a multi-word wait sleeps on: the wait returns once the
/// word no longer holds `expected` (or spuriously).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(any(target_os = "linux", windows)), allow(dead_code))] // no multi-word wait there
pub(crate) struct WaitWord<'a> {
    /// The parker of the word's segment (Windows waits on its semaphores).
    #[cfg_attr(not(windows), allow(dead_code))]
    pub(crate) parker: &'a Parker,
    /// The word, in that segment.
    pub(crate) word: &'a AtomicU32,
    /// The value it held when the waiter last looked.
    pub(crate) expected: u32,
}

/// Why a shared memory object could not be made or mapped.
#[derive(Debug)]
pub(crate) enum MapError {
    /// An object of that name exists already.
    Exists,
    /// No object of that name exists.
    NotFound,
    /// The object belongs to another user.
    #[cfg_attr(not(unix), allow(dead_code))] // Windows' objects are per user
    NotOwned {
        /// Its owner's user id.
        owner: u32,
    },
    /// Any other failure.
    Io(io::Error),
}

/// The words of a participant entry that a child of the handing command
/// fills in before it runs (see `record_child_pid`).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(unix), allow(dead_code))] // only Unix runs code in the child
pub(crate) struct ChildSlots<'a> {
    /// The entry's nonce (high 32 bits) and the child's pid (low 32 bits,
    /// 0 until the first child records itself).
    pub(crate) child: &'a AtomicU64,
    /// The first child's start time.
    pub(crate) start: &'a AtomicU64,
    /// The pid of a later child of the same command.
    pub(crate) late: &'a AtomicU32,
}
