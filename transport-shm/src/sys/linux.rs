//! Linux: `/proc` for process identity, a shared futex for waiting, and
//! `/dev/shm` for the list of segments.

use std::{fs, io, sync::atomic::AtomicU32, time::Duration};

/// The start time of process `pid` in clock ticks since boot, or `None` if
/// there is no such process or it is a zombie.
pub(crate) fn process_start(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// The start time of this process.
pub(crate) fn current_start() -> Option<u64> {
    let text = fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&text)
}

/// Fields of `/proc/<pid>/stat` after the command name (which may hold
/// spaces and parentheses, so the last `)` ends it): the state is the first,
/// the start time the twentieth.
fn parse_stat(text: &str) -> Option<u64> {
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" || state == "x" {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// Cross-process waiting on a word in shared memory: a futex without
/// `FUTEX_PRIVATE_FLAG`, so the kernel keys it by the physical page.
#[derive(Debug, Default)]
pub(crate) struct Parker;

impl Parker {
    /// A parker for the segment `_name` mapped at `_base`; the futex needs
    /// neither.
    pub(crate) fn new(_name: &str, _base: *const u8, _buckets: *const AtomicU32) -> Parker {
        Parker
    }

    /// Sleeps while `word` holds `expected`, for at most `timeout`; may
    /// return early or spuriously.
    pub(crate) fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `word` is a live, aligned 32-bit atomic; FUTEX_WAIT only
        // reads it and the timeout pointer is null or points to `ts`, which
        // outlives the call. Errors (EAGAIN, EINTR, ETIMEDOUT) all mean
        // "return and let the caller re-check".
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                expected,
                ts_ptr,
                std::ptr::null::<u32>(),
                0u32,
            );
        }
    }

    /// Wakes one waiter on `word`, or all of them.
    pub(crate) fn wake(&self, word: &AtomicU32, all: bool) {
        let n = if all { i32::MAX } else { 1 };
        // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is live.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE,
                n,
                std::ptr::null::<libc::timespec>(),
                std::ptr::null::<u32>(),
                0u32,
            );
        }
    }
}

/// The names (with a leading `/`) of the shared memory objects whose names
/// start with `prefix` (without the `/`).
pub(crate) fn list_segments(prefix: &str) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir("/dev/shm")? {
        let name = entry?.file_name();
        if let Some(name) = name.to_str() {
            if name.starts_with(prefix) {
                names.push(format!("/{name}"));
            }
        }
    }
    Ok(names)
}

/// Linux lists `/dev/shm` directly: nothing to register.
pub(crate) fn register(_name: &str) -> io::Result<()> {
    Ok(())
}

/// See [`register`].
pub(crate) fn unregister(_name: &str) {}

/// Nothing is left behind by unlinking here.
pub(crate) fn sweep_unlinked(_prefix: &str) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let line = "123 (a) b) (c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20";
        assert_eq!(parse_stat(line), Some(424242));
        let zombie = "123 (x) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20";
        assert_eq!(parse_stat(zombie), None);
    }

    #[test]
    fn this_process_is_alive() {
        assert_eq!(process_start(std::process::id()), current_start());
        assert!(current_start().is_some());
    }
}
