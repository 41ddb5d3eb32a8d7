//! Windows: `SetThreadAffinityMask`, `GetSystemTimes`, `GetProcessTimes`.

use std::io;

use windows_sys::Win32::{
    Foundation::{CloseHandle, FILETIME},
    System::Threading::{
        GetCurrentProcess, GetCurrentThread, GetProcessAffinityMask, GetProcessTimes, GetSystemTimes,
        OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, SetThreadAffinityMask,
    },
};

/// Pins the calling thread to `cpu`. `Ok(true)` once pinned.
pub fn pin_current_thread(cpu: usize) -> io::Result<bool> {
    if cpu >= usize::BITS as usize {
        return Ok(false);
    }
    // SAFETY: the pseudo-handle of the current thread is always valid; the
    // mask is a plain integer.
    let previous = unsafe { SetThreadAffinityMask(GetCurrentThread(), 1usize << cpu) };
    if previous == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(true)
    }
}

/// Lets the calling thread run on every CPU of the process again (threads
/// and processes it starts inherit that). `Ok(true)` once done.
pub fn unpin_current_thread() -> io::Result<bool> {
    let (mut process, mut system) = (0usize, 0usize);
    // SAFETY: the pseudo-handle of the current process is always valid;
    // both out-pointers are plain integers that live for the call.
    if unsafe { GetProcessAffinityMask(GetCurrentProcess(), &mut process, &mut system) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the pseudo-handle of the current thread is always valid; the
    // mask is a plain integer, a subset of the process's.
    if unsafe { SetThreadAffinityMask(GetCurrentThread(), process) } == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(true)
    }
}

fn seconds(t: FILETIME) -> f64 {
    // FILETIME counts 100 ns intervals.
    (((t.dwHighDateTime as u64) << 32) | t.dwLowDateTime as u64) as f64 / 1e7
}

const ZERO: FILETIME = FILETIME {
    dwLowDateTime: 0,
    dwHighDateTime: 0,
};

/// CPU seconds the whole machine has spent busy since boot.
pub fn machine_busy_seconds() -> Option<f64> {
    let (mut idle, mut kernel, mut user) = (ZERO, ZERO, ZERO);
    // SAFETY: three valid out-pointers to FILETIMEs that live for the call.
    let ok = unsafe { GetSystemTimes(&mut idle, &mut kernel, &mut user) };
    // Kernel time includes idle time.
    (ok != 0).then(|| seconds(kernel) + seconds(user) - seconds(idle))
}

/// CPU seconds (user + kernel) process `pid` has used.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    // SAFETY: plain call; a null handle is checked below.
    let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if handle.is_null() {
        return None;
    }
    let (mut created, mut exited, mut kernel, mut user) = (ZERO, ZERO, ZERO, ZERO);
    // SAFETY: `handle` is an open process handle; four valid out-pointers.
    let ok = unsafe { GetProcessTimes(handle, &mut created, &mut exited, &mut kernel, &mut user) };
    // SAFETY: `handle` was opened above and is closed once.
    unsafe { CloseHandle(handle) };
    (ok != 0).then(|| seconds(kernel) + seconds(user))
}

/// The CPU's model name.
pub fn cpu_model() -> Option<String> {
    std::env::var("PROCESSOR_IDENTIFIER").ok()
}

/// The kernel's name and release.
pub fn kernel() -> Option<String> {
    Some("Windows".to_owned())
}

/// Windows has no load average.
pub fn load_average() -> Option<f64> {
    None
}

/// Windows shared memory has no directory of files.
pub fn shm_dir() -> Option<&'static str> {
    None
}
