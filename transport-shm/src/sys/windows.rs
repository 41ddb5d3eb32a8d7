//! Windows: process handles for identity, named semaphores for waiting, and
//! the backing files of the `shared_memory` crate for the list of segments.
//!
//! `WaitOnAddress` only works between threads of one process, so a waiter
//! parks on one of [`WAIT_BUCKETS`](super::WAIT_BUCKETS) named semaphores
//! chosen by the word's offset in its segment, after counting itself in the
//! bucket's waiter count (which lives in the segment). A waker that changed
//! the word releases the semaphore once per counted waiter. A count left
//! behind by a waiter that timed out only causes a spurious wake-up, which
//! every caller tolerates. Named kernel objects vanish with their last
//! handle, so nothing outlives the processes.
//!
//! The async bridge sleeps in `WaitForMultipleObjects` on an unnamed event of
//! its own plus the semaphores of up to 63 words' buckets, counted in each
//! bucket's waiters as a parked thread is.

use std::{
    fs, io, iter,
    process::Command,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use windows_sys::Win32::{
    Foundation::{CloseHandle, FILETIME, HANDLE, WAIT_OBJECT_0},
    System::Threading::{
        CreateEventW, CreateSemaphoreW, GetCurrentProcess, GetProcessTimes, INFINITE, OpenProcess,
        PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE, ReleaseSemaphore, SetEvent,
        WaitForMultipleObjects, WaitForSingleObject,
    },
};

use super::{MapError, WAIT_BUCKETS, WaitWord};

/// The creation time of the process behind `handle`, unless it has exited.
fn start_of(handle: HANDLE) -> Option<u64> {
    // SAFETY: `handle` is a valid process handle; a zero wait only polls.
    if unsafe { WaitForSingleObject(handle, 0) } == WAIT_OBJECT_0 {
        return None;
    }
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: all four out-pointers point to live FILETIMEs.
    let ok = unsafe { GetProcessTimes(handle, &mut created, &mut exited, &mut kernel, &mut user) };
    (ok != 0).then(|| (u64::from(created.dwHighDateTime) << 32) | u64::from(created.dwLowDateTime))
}

/// The creation time of process `pid`, or `None` if it is gone.
pub(crate) fn process_start(pid: u32) -> Option<u64> {
    // SAFETY: OpenProcess has no memory-safety preconditions.
    let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_SYNCHRONIZE, 0, pid) };
    if handle.is_null() {
        return None;
    }
    let start = start_of(handle);
    // SAFETY: `handle` was opened above and is closed once.
    unsafe { CloseHandle(handle) };
    start
}

/// The creation time of this process.
pub(crate) fn current_start() -> Option<u64> {
    // SAFETY: the pseudo-handle of the current process needs no closing.
    start_of(unsafe { GetCurrentProcess() })
}

/// A kernel object handle (a semaphore or an event), closed on drop.
#[derive(Debug)]
struct Handle(HANDLE);

// SAFETY: a kernel handle may be used and closed from any thread.
unsafe impl Send for Handle {}
// SAFETY: as above; the semaphore and event calls are thread-safe.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by this value and closed once.
        unsafe { CloseHandle(self.0) };
    }
}

/// Cross-process waiting on a word of a segment, through named semaphores.
#[derive(Debug)]
pub(crate) struct Parker {
    name: String,
    base: usize,
    buckets: usize,
    semaphores: Vec<OnceLock<Option<Handle>>>,
}

impl Parker {
    /// A parker for the segment `name` mapped at `base`, whose bucket waiter
    /// counts are the [`WAIT_BUCKETS`] words at `buckets`.
    pub(crate) fn new(name: &str, base: *const u8, buckets: *const AtomicU32) -> Parker {
        Parker {
            name: name.trim_start_matches('/').to_owned(),
            base: base as usize,
            buckets: buckets as usize,
            semaphores: iter::repeat_with(OnceLock::new).take(WAIT_BUCKETS).collect(),
        }
    }

    fn bucket(&self, word: &AtomicU32) -> usize {
        (word.as_ptr() as usize).wrapping_sub(self.base) / 4 % WAIT_BUCKETS
    }

    fn waiters(&self, bucket: usize) -> &AtomicU32 {
        // SAFETY: the segment that owns this parker reserves WAIT_BUCKETS
        // aligned words at `buckets` and outlives the parker.
        unsafe { &*(self.buckets as *const AtomicU32).add(bucket) }
    }

    fn semaphore(&self, bucket: usize) -> Option<&Handle> {
        self.semaphores[bucket]
            .get_or_init(|| {
                let name: Vec<u16> = format!("Local\\{}-p{bucket}", self.name)
                    .encode_utf16()
                    .chain(iter::once(0))
                    .collect();
                // SAFETY: `name` is NUL-terminated UTF-16; default security
                // (the creating user, SYSTEM and administrators).
                let h = unsafe { CreateSemaphoreW(std::ptr::null(), 0, i32::MAX, name.as_ptr()) };
                (!h.is_null()).then_some(Handle(h))
            })
            .as_ref()
    }

    /// Sleeps while `word` holds `expected`, for at most `timeout`; may
    /// return early or spuriously.
    pub(crate) fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let bucket = self.bucket(word);
        let Some(sem) = self.semaphore(bucket) else {
            // No semaphore: degrade to a short sleep rather than fail.
            std::thread::sleep(Duration::from_millis(1));
            return;
        };
        let waiters = self.waiters(bucket);
        waiters.fetch_add(1, Ordering::SeqCst);
        if word.load(Ordering::SeqCst) == expected {
            let ms = timeout.map_or(u32::MAX - 1, |t| {
                t.as_millis().clamp(1, u128::from(u32::MAX - 1)) as u32
            });
            // SAFETY: `sem` is a live semaphore handle.
            unsafe { WaitForSingleObject(sem.0, ms) };
        }
        waiters.fetch_sub(1, Ordering::SeqCst);
    }

    /// Wakes the waiters of `word`'s bucket (all of them, so `_all` does not
    /// matter: the others see an unchanged word and sleep again).
    pub(crate) fn wake(&self, word: &AtomicU32, _all: bool) {
        let bucket = self.bucket(word);
        let n = self.waiters(bucket).load(Ordering::SeqCst);
        if n == 0 {
            return;
        }
        if let Some(sem) = self.semaphore(bucket) {
            // SAFETY: `sem` is a live semaphore handle.
            unsafe { ReleaseSemaphore(sem.0, n.min(i32::MAX as u32) as i32, std::ptr::null_mut()) };
        }
    }
}

/// How many segment words one [`Alarm::wait`] sleeps on:
/// `WaitForMultipleObjects` takes 64 handles, and one is the alarm's event.
pub(crate) const MULTI_WAIT_MAX: usize = 63;

/// The async bridge's own wake-up: an unnamed auto-reset event, plus a ring
/// count (so that a ring is never mistaken for an old one).
#[derive(Debug)]
pub(crate) struct Alarm {
    seq: AtomicU32,
    event: Handle,
}

impl Alarm {
    /// A new alarm.
    ///
    /// # Errors
    /// When the event cannot be created.
    pub(crate) fn new() -> io::Result<Alarm> {
        // SAFETY: no security attributes, no name: an auto-reset event,
        // initially clear, private to this process.
        let h = unsafe { CreateEventW(std::ptr::null(), 0, 0, std::ptr::null()) };
        if h.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Alarm {
            seq: AtomicU32::new(0),
            event: Handle(h),
        })
    }

    /// The current ring count, to pass to [`wait`](Self::wait).
    pub(crate) fn seq(&self) -> u32 {
        self.seq.load(Ordering::SeqCst)
    }

    /// Wakes the thread sleeping in [`wait`](Self::wait), or makes its next
    /// wait return at once (the event stays set until a wait takes it).
    pub(crate) fn ring(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        // SAFETY: `event` is a live event handle.
        unsafe { SetEvent(self.event.0) };
    }

    /// Sleeps until a ring after `seq`, until one of `words` changes, or for
    /// at most `timeout`; may return early.
    ///
    /// # Errors
    /// `Unsupported` for more than [`MULTI_WAIT_MAX`] words.
    pub(crate) fn wait(&self, seq: u32, words: &[WaitWord<'_>], timeout: Option<Duration>) -> io::Result<()> {
        if words.len() > MULTI_WAIT_MAX {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        let mut handles: Vec<HANDLE> = Vec::with_capacity(words.len() + 1);
        handles.push(self.event.0);
        let mut counted: Vec<&AtomicU32> = Vec::with_capacity(words.len());
        let mut ms = timeout.map_or(INFINITE, |t| {
            t.as_millis().clamp(1, u128::from(INFINITE - 1)) as u32
        });
        for w in words {
            let bucket = w.parker.bucket(w.word);
            match w.parker.semaphore(bucket) {
                // One handle per bucket (the call refuses duplicates), and
                // one count in it, as a thread parked there would add.
                Some(sem) if !handles.contains(&sem.0) => {
                    handles.push(sem.0);
                    let waiters = w.parker.waiters(bucket);
                    waiters.fetch_add(1, Ordering::SeqCst);
                    counted.push(waiters);
                }
                Some(_) => {}
                // No semaphore: look again soon rather than fail.
                None => ms = ms.min(1),
            }
        }
        // Counted first, then checked: a waker that changed a word after
        // this check sees the count and releases the semaphore.
        let changed = self.seq.load(Ordering::SeqCst) != seq
            || words.iter().any(|w| w.word.load(Ordering::SeqCst) != w.expected);
        if !changed {
            // SAFETY: `handles` holds 1 to 64 distinct live handles (the
            // event, and semaphores the parkers keep open).
            unsafe { WaitForMultipleObjects(handles.len() as u32, handles.as_ptr(), 0, ms) };
        }
        for waiters in counted {
            waiters.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// The names (with a leading `/`) of the segments whose names start with
/// `prefix`: the `shared_memory` crate backs each mapping with a file named
/// after it in `%TEMP%\shared_memory-rs`.
pub(crate) fn list_segments(prefix: &str) -> io::Result<Vec<String>> {
    let dir = std::env::temp_dir().join("shared_memory-rs");
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        if let Some(name) = name.to_str() {
            if name.starts_with(prefix) && !name.ends_with("_deleted") {
                names.push(format!("/{name}"));
            }
        }
    }
    Ok(names)
}

/// Removes the backing files the `shared_memory` crate renamed to
/// `<name>_deleted` when their segment was unlinked. It opens them with
/// `FILE_FLAG_DELETE_ON_CLOSE` so Windows deletes them with their last
/// handle, but Wine (at least 8.0) never does; a file still mapped by a
/// process stays until it is closed (the name was unlinked already, so
/// nobody can open it again). Best effort.
pub(crate) fn sweep_unlinked(prefix: &str) {
    let dir = std::env::temp_dir().join("shared_memory-rs");
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if let Some(name) = name.to_str() {
            if name.starts_with(prefix) && name.ends_with("_deleted") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// The backing files are the registry: nothing to do.
pub(crate) fn register(_name: &str) -> io::Result<()> {
    Ok(())
}

/// See [`register`].
pub(crate) fn unregister(_name: &str) {}

/// Windows cannot run code in the child before it starts: a hand-off is
/// tied to the handing process until `transport_core::spawned` records the
/// child (`segment::child_watch`), or the child opens it.
pub(crate) fn record_child_pid<K: Send + Sync + 'static>(
    _cmd: &mut Command,
    _keep: Arc<K>,
    _slots: super::ChildSlots<'_>,
    _nonce: u32,
) {
}

/// Whether `record_child_pid` records the child's pid before it runs.
pub(crate) const RECORDS_CHILD_PID: bool = false;

/// A named file mapping, through the `shared_memory` crate (checked in its
/// 0.12.4 source): every mapping is backed by a file in
/// `%TEMP%\shared_memory-rs` created with default security (the user's
/// temporary directory ACL) and `CreateFileMapping` with a null security
/// descriptor (the token's default DACL: the user, SYSTEM and
/// administrators). The file is only deleted by an owner's drop, so a
/// killed owner leaves it behind until our stale cleanup removes it, and it
/// makes the mapping file-backed rather than backed by the paging file. The
/// crate offers no way to pass a security descriptor.
pub(crate) struct Mapping {
    shmem: shared_memory::Shmem,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("name", &self.shmem.get_os_id())
            .finish_non_exhaustive()
    }
}

fn map_error(e: shared_memory::ShmemError) -> MapError {
    use shared_memory::ShmemError;
    let os = |code: u32| io::Error::from_raw_os_error(code as i32);
    match e {
        ShmemError::MappingIdExists | ShmemError::LinkExists => MapError::Exists,
        ShmemError::MapOpenFailed(code) => {
            let err = os(code);
            if err.kind() == io::ErrorKind::NotFound {
                MapError::NotFound
            } else {
                MapError::Io(err)
            }
        }
        ShmemError::MapCreateFailed(code) | ShmemError::UnknownOsError(code) => MapError::Io(os(code)),
        other => MapError::Io(io::Error::other(other.to_string())),
    }
}

impl Mapping {
    /// Creates mapping `name` (with a leading `/`) of `size` bytes,
    /// exclusively; its bytes are zero.
    pub(crate) fn create(name: &str, size: usize) -> Result<Mapping, MapError> {
        let mut shmem = shared_memory::ShmemConf::new()
            .os_id(name)
            .size(size)
            .create()
            .map_err(map_error)?;
        // Ownership (unlinking) is decided by our participant table, not by
        // who created the mapping.
        shmem.set_owner(false);
        Ok(Mapping { shmem })
    }

    /// Opens the existing mapping `name` (the backing files live in this
    /// user's temporary directory: no other user's are found).
    pub(crate) fn open(name: &str) -> Result<Mapping, MapError> {
        let shmem = shared_memory::ShmemConf::new()
            .os_id(name)
            .open()
            .map_err(map_error)?;
        Ok(Mapping { shmem })
    }

    /// The first byte of the mapping (page-aligned).
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.shmem.as_ptr()
    }

    /// The mapping's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.shmem.len()
    }

    /// Removes the name when this mapping is dropped (the crate deletes the
    /// backing file as its owner).
    pub(crate) fn unlink_on_drop(&mut self) {
        self.shmem.set_owner(true);
    }

    /// Removes the backing file of a mapping that cannot be opened.
    pub(crate) fn unlink(name: &str) {
        let file = std::env::temp_dir()
            .join("shared_memory-rs")
            .join(name.trim_start_matches('/'));
        let _ = fs::remove_file(file);
    }
}

// SAFETY: `Shmem` is only a pointer and length to a process-wide mapping plus
// its name; nothing in it is tied to the thread that made it. All access to
// the mapped bytes goes through atomics or the protocols documented where
// they are used.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only hands out the base pointer and length.
unsafe impl Sync for Mapping {}
