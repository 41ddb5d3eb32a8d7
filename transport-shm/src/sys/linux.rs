//! Linux: `/proc` for process identity, a shared futex for waiting,
//! `futex_waitv` for the async bridge, and `/dev/shm` for the list of
//! segments.

use std::{
    fs, io,
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
    time::Duration,
};

use super::WaitWord;

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
    parse_stat_bytes(text.as_bytes())
}

/// [`parse_stat`] on bytes, without allocating (it runs in a child between
/// `fork` and `exec` too).
fn parse_stat_bytes(text: &[u8]) -> Option<u64> {
    let close = text.iter().rposition(|&b| b == b')')?;
    let mut fields = text[close + 1..]
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty());
    let state = fields.next()?;
    if matches!(state, b"Z" | b"X" | b"x") {
        return None;
    }
    let start = fields.nth(18)?;
    if start.is_empty() || start.len() > 20 {
        return None;
    }
    start.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// This process's start time, as [`current_start`] gives it, or 0: for a
/// child between `fork` and `exec`, so only async-signal-safe calls
/// (`open`, `read`, `close` into a buffer on the stack).
pub(crate) fn start_in_child() -> u64 {
    let mut buf = [0u8; 1024];
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe { libc::open(c"/proc/self/stat".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return 0;
    }
    let mut len = 0;
    while len < buf.len() {
        // SAFETY: reads into the unused part of `buf`, which outlives the
        // call.
        let n = unsafe { libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
        if n <= 0 {
            break;
        }
        len += n as usize;
    }
    // SAFETY: `fd` was opened above and is closed once.
    unsafe { libc::close(fd) };
    parse_stat_bytes(&buf[..len]).unwrap_or(0)
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
        let ts = timeout.map(relative);
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

/// How many segment words one [`Alarm::wait`] sleeps on: `futex_waitv`
/// takes up to 128 words, and one is the alarm's own.
pub(crate) const MULTI_WAIT_MAX: usize = 127;

/// `struct futex_waitv` of `<linux/futex.h>`.
#[repr(C)]
struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

/// `FUTEX2_SIZE_U32`: the words are 32 bits.
const FUTEX2_SIZE_U32: u32 = 0x02;
/// `FUTEX2_PRIVATE`: a word of this process only.
const FUTEX2_PRIVATE: u32 = 128;

/// Set once `futex_waitv` turned out not to exist (kernels before 5.16, or
/// a seccomp filter that refuses it).
static WAITV_MISSING: AtomicBool = AtomicBool::new(false);

/// Converts a relative timeout into `futex`'s `timespec`.
fn relative(t: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    }
}

/// The async bridge's own wake-up word: a private futex, which
/// `futex_waitv` sleeps on together with the segment words.
#[derive(Debug, Default)]
pub(crate) struct Alarm {
    seq: AtomicU32,
    sleeping: AtomicBool,
}

impl Alarm {
    /// A new alarm.
    pub(crate) fn new() -> io::Result<Alarm> {
        Ok(Alarm::default())
    }

    /// The current ring count, to pass to [`wait`](Self::wait).
    pub(crate) fn seq(&self) -> u32 {
        self.seq.load(Ordering::SeqCst)
    }

    /// Wakes the thread sleeping in [`wait`](Self::wait), or makes its next
    /// wait return at once.
    pub(crate) fn ring(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        // SeqCst: the sleeper sets `sleeping` before the kernel compares
        // `seq`, we bump `seq` before reading `sleeping`; one of us sees the
        // other.
        if self.sleeping.load(Ordering::SeqCst) {
            // SAFETY: FUTEX_WAKE only uses the address as a key; `seq` is
            // live.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.seq.as_ptr(),
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    1,
                    std::ptr::null::<libc::timespec>(),
                    std::ptr::null::<u32>(),
                    0u32,
                );
            }
        }
    }

    /// Sleeps until a ring after `seq`, until one of `words` changes, or
    /// for at most `timeout`; may return early.
    ///
    /// # Errors
    /// When `words` is not empty and this kernel cannot sleep on several
    /// words (`Unsupported` without `futex_waitv`): the caller waits another
    /// way.
    pub(crate) fn wait(&self, seq: u32, words: &[WaitWord<'_>], timeout: Option<Duration>) -> io::Result<()> {
        if words.is_empty() {
            let ts = timeout.map(relative);
            let ts_ptr = ts
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            self.sleeping.store(true, Ordering::SeqCst);
            // SAFETY: `seq` is a live, aligned word of this process; the
            // timeout pointer is null or points to `ts`, which outlives the
            // call. Errors all mean "return and re-check".
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.seq.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    seq,
                    ts_ptr,
                    std::ptr::null::<u32>(),
                    0u32,
                );
            }
            self.sleeping.store(false, Ordering::SeqCst);
            return Ok(());
        }
        if words.len() > MULTI_WAIT_MAX || WAITV_MISSING.load(Ordering::Relaxed) {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        let mut waiters = Vec::with_capacity(words.len() + 1);
        waiters.push(FutexWaitv {
            val: u64::from(seq),
            uaddr: self.seq.as_ptr() as u64,
            flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
            reserved: 0,
        });
        waiters.extend(words.iter().map(|w| FutexWaitv {
            val: u64::from(w.expected),
            uaddr: w.word.as_ptr() as u64,
            // Shared: the kernel keys the word by its page, so another
            // process's FUTEX_WAKE on its own mapping finds us.
            flags: FUTEX2_SIZE_U32,
            reserved: 0,
        }));
        // futex_waitv takes an absolute deadline on the given clock.
        let deadline = match timeout {
            None => None,
            Some(t) => {
                let mut now = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: `now` is a live timespec; CLOCK_MONOTONIC exists.
                unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
                let t = relative(t);
                let mut sum = libc::timespec {
                    tv_sec: now.tv_sec.saturating_add(t.tv_sec),
                    tv_nsec: now.tv_nsec + t.tv_nsec,
                };
                if sum.tv_nsec >= 1_000_000_000 {
                    sum.tv_sec = sum.tv_sec.saturating_add(1);
                    sum.tv_nsec -= 1_000_000_000;
                }
                Some(sum)
            }
        };
        let ts_ptr = deadline
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        self.sleeping.store(true, Ordering::SeqCst);
        // SAFETY: `waiters` is a live array of `len` futex_waitv entries whose
        // addresses are live, aligned 32-bit words (the alarm's, and words of
        // segments the caller keeps mapped); the kernel only reads them. The
        // deadline pointer is null or points to `deadline`, which outlives
        // the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex_waitv,
                waiters.as_ptr(),
                waiters.len() as libc::c_uint,
                0 as libc::c_uint,
                ts_ptr,
                libc::CLOCK_MONOTONIC,
            )
        };
        self.sleeping.store(false, Ordering::SeqCst);
        if r < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                // Woken, a word had changed already, timed out, or a signal.
                Some(libc::EAGAIN | libc::ETIMEDOUT | libc::EINTR) => {}
                Some(libc::ENOSYS) => {
                    WAITV_MISSING.store(true, Ordering::Relaxed);
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "futex_waitv is not available (Linux 5.16 or later is needed)",
                    ));
                }
                _ => return Err(e),
            }
        }
        Ok(())
    }
}

/// The names (with a leading `/`) of the shared memory objects whose names
/// start with `prefix` (without the `/`) and that this process's effective
/// user owns: root sees only root's. The names come from one listing of
/// `/dev/shm`; the owner from each matching entry, without opening it.
pub(crate) fn list_segments(prefix: &str) -> io::Result<Vec<String>> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let mut names = Vec::new();
    for entry in fs::read_dir("/dev/shm")? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(prefix) {
            continue;
        }
        // Gone meanwhile: not listed.
        if entry.metadata().is_ok_and(|m| m.uid() == me) {
            names.push(format!("/{name}"));
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
        assert_eq!(parse_stat("123 (x) S 1 2"), None, "too few fields");
        assert_eq!(
            parse_stat("1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99999999999999999999999 20"),
            None,
            "overflow"
        );
    }

    #[test]
    fn the_start_read_for_a_child_is_the_start() {
        assert_eq!(Some(start_in_child()), current_start());
    }

    #[test]
    fn this_process_is_alive() {
        assert_eq!(process_start(std::process::id()), current_start());
        assert!(current_start().is_some());
    }
}
