//! macOS: `proc_pidinfo` for process identity, `os_sync_wait_on_address`
//! (shared flag, macOS 14.4+) or else `__ulock_wait` for waiting, and a
//! registry directory for the list of segments (macOS cannot list POSIX
//! shared memory objects). The async bridge has no multi-address wait here
//! (see [`MULTI_WAIT_MAX`]).
//!
//! The fallback: `__ulock_wait`/`__ulock_wake` with
//! `UL_COMPARE_AND_WAIT_SHARED` are what the public `os_sync` calls are built
//! on; they have existed since macOS 10.12 and are used by the C++ and Rust
//! standard libraries on older systems. The `os_sync` functions are looked up
//! with `dlsym`, so one binary runs on both.

use std::{
    ffi::{CStr, c_void},
    fs, io,
    path::PathBuf,
    sync::{
        OnceLock,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

use super::WaitWord;

/// The start time of process `pid` in microseconds since the epoch, or `None`
/// if there is no such process or it is a zombie.
pub(crate) fn process_start(pid: u32) -> Option<u64> {
    let pid = i32::try_from(pid).ok()?;
    // SAFETY: `proc_bsdinfo` is plain data; all zero is a valid value.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
    // SAFETY: the buffer is a live `proc_bsdinfo` of `size` bytes.
    let n = unsafe {
        libc::proc_pidinfo(
            pid,
            libc::PROC_PIDTBSDINFO,
            0,
            (&mut info as *mut libc::proc_bsdinfo).cast(),
            size,
        )
    };
    if n != size || info.pbi_status == libc::SZOMB {
        return None;
    }
    Some(info.pbi_start_tvsec * 1_000_000 + info.pbi_start_tvusec)
}

/// The start time of this process.
pub(crate) fn current_start() -> Option<u64> {
    process_start(std::process::id())
}

/// This process's start time, or 0: for a child between `fork` and
/// `exec` (`getpid` and `proc_pidinfo` into a buffer on the stack are
/// async-signal-safe; nothing is allocated).
pub(crate) fn start_in_child() -> u64 {
    process_start(std::process::id()).unwrap_or(0)
}

type WaitFn = unsafe extern "C" fn(*mut c_void, u64, libc::size_t, u32, u32, u64) -> libc::c_int;
type WakeFn = unsafe extern "C" fn(*mut c_void, libc::size_t, u32) -> libc::c_int;

/// The `os_sync` functions, where this macOS has them.
struct OsSync {
    wait: WaitFn,
    wake_any: WakeFn,
    wake_all: WakeFn,
}

fn os_sync() -> Option<&'static OsSync> {
    static FNS: OnceLock<Option<OsSync>> = OnceLock::new();
    FNS.get_or_init(|| {
        let find = |name: &CStr| {
            // SAFETY: RTLD_DEFAULT searches the loaded images; `name` is a
            // NUL-terminated string.
            let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            (!p.is_null()).then_some(p)
        };
        let wait = find(c"os_sync_wait_on_address_with_timeout")?;
        let wake_any = find(c"os_sync_wake_by_address_any")?;
        let wake_all = find(c"os_sync_wake_by_address_all")?;
        // SAFETY: these symbols have exactly these C signatures (macOS SDK
        // `os/os_sync_wait_on_address.h`).
        unsafe {
            Some(OsSync {
                wait: std::mem::transmute::<*mut c_void, WaitFn>(wait),
                wake_any: std::mem::transmute::<*mut c_void, WakeFn>(wake_any),
                wake_all: std::mem::transmute::<*mut c_void, WakeFn>(wake_all),
            })
        }
    })
    .as_ref()
}

const UL_COMPARE_AND_WAIT_SHARED: u32 = 3;
const ULF_WAKE_ALL: u32 = 0x100;

unsafe extern "C" {
    fn __ulock_wait(operation: u32, addr: *mut c_void, value: u64, timeout_us: u32) -> libc::c_int;
    fn __ulock_wake(operation: u32, addr: *mut c_void, wake_value: u64) -> libc::c_int;
}

/// `UL_COMPARE_AND_WAIT`: a word of this process only.
const UL_COMPARE_AND_WAIT: u32 = 1;

/// Sleeps while the word at `addr` holds `expected`, for at most `timeout`;
/// `shared` for a word in shared memory.
fn wait_on(addr: *mut c_void, expected: u32, timeout: Option<Duration>, shared: bool) {
    match os_sync() {
        Some(f) => {
            // Zero means "no timeout" to os_sync; a day is as good as forever
            // for callers that loop.
            let ns = timeout.map_or(86_400_000_000_000, |t| {
                t.as_nanos().clamp(1, u64::MAX as u128) as u64
            });
            let flags = if shared {
                libc::OS_SYNC_WAIT_ON_ADDRESS_SHARED
            } else {
                libc::OS_SYNC_WAIT_ON_ADDRESS_NONE
            };
            // SAFETY: `addr` is a live, aligned 4-byte word (the callers
            // hold a reference to it); the function only reads it. Errors
            // mean "return and re-check".
            unsafe {
                (f.wait)(
                    addr,
                    u64::from(expected),
                    4,
                    flags,
                    libc::OS_CLOCK_MACH_ABSOLUTE_TIME,
                    ns,
                );
            }
        }
        None => {
            let us = timeout.map_or(0, |t| t.as_micros().clamp(1, u32::MAX as u128) as u32);
            let op = if shared {
                UL_COMPARE_AND_WAIT_SHARED
            } else {
                UL_COMPARE_AND_WAIT
            };
            // SAFETY: as above; a timeout of 0 waits without limit.
            unsafe {
                __ulock_wait(op, addr, u64::from(expected), us);
            }
        }
    }
}

/// Wakes one waiter on the word at `addr`, or all of them.
fn wake_on(addr: *mut c_void, all: bool, shared: bool) {
    match os_sync() {
        Some(f) => {
            let flags = if shared {
                libc::OS_SYNC_WAKE_BY_ADDRESS_SHARED
            } else {
                libc::OS_SYNC_WAKE_BY_ADDRESS_NONE
            };
            // SAFETY: the address is only a key for the kernel.
            unsafe {
                if all {
                    (f.wake_all)(addr, 4, flags);
                } else {
                    (f.wake_any)(addr, 4, flags);
                }
            }
        }
        None => {
            let base = if shared {
                UL_COMPARE_AND_WAIT_SHARED
            } else {
                UL_COMPARE_AND_WAIT
            };
            let op = base | if all { ULF_WAKE_ALL } else { 0 };
            // SAFETY: as above.
            unsafe {
                __ulock_wake(op, addr, 0);
            }
        }
    }
}

/// Cross-process waiting on a word in shared memory.
#[derive(Debug, Default)]
pub(crate) struct Parker;

impl Parker {
    /// A parker for the segment `_name` mapped at `_base`; address-based
    /// waiting needs neither.
    pub(crate) fn new(_name: &str, _base: *const u8, _buckets: *const AtomicU32) -> Parker {
        Parker
    }

    /// Sleeps while `word` holds `expected`, for at most `timeout`; may
    /// return early or spuriously.
    pub(crate) fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        wait_on(word.as_ptr().cast(), expected, timeout, true);
    }

    /// Wakes one waiter on `word`, or all of them.
    pub(crate) fn wake(&self, word: &AtomicU32, all: bool) {
        wake_on(word.as_ptr().cast(), all, true);
    }
}

/// How many segment words one [`Alarm::wait`] sleeps on: none, as macOS has
/// no call that sleeps on several addresses (`kqueue` cannot watch a word).
/// The bridge sleeps on one word at a time instead (see
/// `channel::bridge`).
pub(crate) const MULTI_WAIT_MAX: usize = 0;

/// The async bridge's own wake-up word, private to this process.
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
        if self.sleeping.load(Ordering::SeqCst) {
            wake_on(self.seq.as_ptr().cast(), true, false);
        }
    }

    /// Sleeps until a ring after `seq`, or for at most `timeout`; may return
    /// early.
    ///
    /// # Errors
    /// `Unsupported` when `words` is not empty.
    pub(crate) fn wait(&self, seq: u32, words: &[WaitWord<'_>], timeout: Option<Duration>) -> io::Result<()> {
        if !words.is_empty() {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        self.sleeping.store(true, Ordering::SeqCst);
        wait_on(self.seq.as_ptr().cast(), seq, timeout, false);
        self.sleeping.store(false, Ordering::SeqCst);
        Ok(())
    }
}

/// The per-user directory that holds one empty marker file per segment.
fn registry() -> io::Result<PathBuf> {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    let dir = std::env::temp_dir().join(format!("transport-shm-{uid}"));
    match fs::create_dir(&dir) {
        Ok(()) => {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    Ok(dir)
}

/// The names of the registered segments whose names start with `prefix`.
pub(crate) fn list_segments(prefix: &str) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(registry()?)? {
        let name = entry?.file_name();
        if let Some(name) = name.to_str() {
            if name.starts_with(prefix) {
                names.push(format!("/{name}"));
            }
        }
    }
    Ok(names)
}

/// Records segment `name` so that cleanup can find it.
pub(crate) fn register(name: &str) -> io::Result<()> {
    let path = registry()?.join(name.trim_start_matches('/'));
    fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)
        .map(drop)
}

/// Forgets segment `name`.
pub(crate) fn unregister(name: &str) {
    if let Ok(dir) = registry() {
        let _ = fs::remove_file(dir.join(name.trim_start_matches('/')));
    }
}

/// Nothing is left behind by unlinking here.
pub(crate) fn sweep_unlinked(_prefix: &str) {}
