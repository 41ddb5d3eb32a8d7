//! Linux: `sched_setaffinity`, `/proc/stat`, `/proc/<pid>/stat`.

use std::{fs, io, mem};

/// Pins the calling thread to `cpu`. `Ok(true)` once pinned.
pub fn pin_current_thread(cpu: usize) -> io::Result<bool> {
    // SAFETY: `cpu_set_t` is a plain bit set; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    if cpu >= 8 * mem::size_of::<libc::cpu_set_t>() {
        return Ok(false);
    }
    // SAFETY: `cpu` is within the set's bits, checked just above.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set_affinity(&set)
}

/// Lets the calling thread run on every CPU again (threads and processes
/// it starts inherit that). `Ok(true)` once done.
pub fn unpin_current_thread() -> io::Result<bool> {
    // SAFETY: `cpu_set_t` is a plain bit set; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    for cpu in 0..8 * mem::size_of::<libc::cpu_set_t>() {
        // SAFETY: `cpu` is within the set's bits.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // The kernel keeps the CPUs that exist.
    set_affinity(&set)
}

/// Gives the calling thread the CPUs of `set`. `Ok(true)` once done.
fn set_affinity(set: &libc::cpu_set_t) -> io::Result<bool> {
    // SAFETY: pid 0 is the calling thread; the set lives for the call and
    // its size is passed with it.
    let rc = unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), set) };
    if rc == 0 {
        Ok(true)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Clock ticks per second of the `/proc` CPU counters.
fn ticks_per_second() -> f64 {
    // SAFETY: `sysconf` only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

/// CPU seconds the whole machine has spent busy (every CPU, every process,
/// and time stolen by the hypervisor) since boot.
pub fn machine_busy_seconds() -> Option<f64> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    if fields.len() < 8 {
        return None;
    }
    let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7];
    Some(busy as f64 / ticks_per_second())
}

/// CPU seconds (user + system, every thread) process `pid` has used. Also
/// works for a child that has exited but was not reaped yet.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields
    // after the last `)`. utime and stime are fields 14 and 15 of the line,
    // so the 12th and 13th after the name.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / ticks_per_second())
}

/// The CPU's model name.
pub fn cpu_model() -> Option<String> {
    let text = fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

/// The kernel's name and release.
pub fn kernel() -> Option<String> {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    Some(format!("Linux {}", release.trim()))
}

/// The 1-minute load average when the run started.
pub fn load_average() -> Option<f64> {
    let text = fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Where POSIX shared-memory segments appear as files.
pub fn shm_dir() -> Option<&'static str> {
    Some("/dev/shm")
}
