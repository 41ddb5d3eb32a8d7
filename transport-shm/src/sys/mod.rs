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
//! - `list_segments()` / `register()` / `unregister()`: how the segments of
//!   this crate are found for stale cleanup. Linux lists `/dev/shm`; macOS
//!   cannot list POSIX shared memory, so it keeps a marker file per segment
//!   in a per-user directory; Windows lists the backing files the
//!   `shared_memory` crate keeps in the temporary directory.
//! - `record_child_pid(cmd, slot)`: where the platform can, makes the child a
//!   `Command` spawns write its process id into `slot` before it runs (Unix:
//!   `pre_exec`), so a hand-off whose child died before opening it is seen as
//!   dead.
//!
//! `unsupported.rs` compiles everywhere else and fails at run time.

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
