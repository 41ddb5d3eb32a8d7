//! macOS and other Unix systems: no thread pinning (macOS only has
//! affinity *hints*), no machine-wide CPU counter read here; the process's
//! own CPU time comes from `getrusage`.

use std::{io, mem, process::Command};

/// Pinning is not available: `Ok(false)`.
pub fn pin_current_thread(_cpu: usize) -> io::Result<bool> {
    Ok(false)
}

/// Nothing was pinned on this platform: nothing to undo.
pub fn unpin_current_thread() -> io::Result<bool> {
    Ok(false)
}

/// Unknown on this platform.
pub fn machine_busy_seconds() -> Option<f64> {
    None
}

/// The calling process's own CPU seconds; other processes are unknown.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    if pid != std::process::id() {
        return None;
    }
    // SAFETY: `rusage` is plain data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { mem::zeroed() };
    // SAFETY: a valid out-pointer that lives for the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}

/// The CPU's model name, from `sysctl` where it exists.
pub fn cpu_model() -> Option<String> {
    let out = Command::new("sysctl")
        .args(["-n", "machdep.cpu.brand_string"])
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// The kernel's name and release, from `uname`.
pub fn kernel() -> Option<String> {
    let out = Command::new("uname").args(["-sr"]).output().ok()?;
    String::from_utf8(out.stdout).ok().map(|s| s.trim().to_owned())
}

/// The 1-minute load average when the run started.
pub fn load_average() -> Option<f64> {
    let mut avg = [0f64; 3];
    // SAFETY: a valid pointer to three doubles, as `getloadavg` asks.
    let n = unsafe { libc::getloadavg(avg.as_mut_ptr(), 3) };
    (n >= 1).then_some(avg[0])
}

/// macOS shared memory has no directory of files.
pub fn shm_dir() -> Option<&'static str> {
    None
}
