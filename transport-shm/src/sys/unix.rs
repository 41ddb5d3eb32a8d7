//! Code shared by the Unix platforms.

use std::{
    io,
    os::unix::process::CommandExt,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
};

use super::{ChildSlots, MapError};

/// Whether `record_child_pid` records the child's pid before it runs.
pub(crate) const RECORDS_CHILD_PID: bool = true;

/// Makes the first child that `cmd` spawns record itself in `slots` before
/// it runs the new program: its process id next to `nonce` (only while the
/// entry still holds the hand-off with that nonce), then its start time. A
/// later child of the same command finds the pid taken and records itself
/// as late instead. `keep` holds the mapping alive as long as `cmd` lives.
pub(crate) fn record_child_pid<K: Send + Sync + 'static>(
    cmd: &mut Command,
    keep: Arc<K>,
    slots: ChildSlots<'_>,
    nonce: u32,
) {
    let child = slots.child as *const AtomicU64 as usize;
    let start = slots.start as *const AtomicU64 as usize;
    let late = slots.late as *const AtomicU32 as usize;
    // SAFETY: the closure runs in the forked child before `exec`. It calls
    // only `getpid`, `open`/`read`/`close` of `/proc/self/stat` or
    // `proc_pidinfo` (in `start_in_child`) and atomic operations, all
    // async-signal-safe, and allocates nothing. The mapping the slots point
    // into is shared with the parent (MAP_SHARED, inherited by `fork`) and
    // kept mapped by `keep`.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &keep;
            let pid = libc::getpid() as u32;
            // The slots point into the mapping `keep` holds (see above).
            let (child, start, late) = (
                &*(child as *const AtomicU64),
                &*(start as *const AtomicU64),
                &*(late as *const AtomicU32),
            );
            let handed = u64::from(nonce) << 32;
            if child
                .compare_exchange(
                    handed,
                    handed | u64::from(pid),
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok()
            {
                start.store(super::start_in_child(), Ordering::SeqCst);
            } else {
                late.store(pid, Ordering::SeqCst);
            }
            Ok(())
        });
    }
}

/// A POSIX shared memory object, mapped read-write and shared.
///
/// Made here rather than with the `shared_memory` crate (which Windows
/// still uses) because that crate keeps the descriptor to itself: the mode
/// must be set on it whatever the umask, and the owner of an object we open
/// must be checked on it, not on a name that may change in between.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: *mut u8,
    len: usize,
    name: String,
    unlink: bool,
}

/// The descriptor of an object being created or opened, closed on drop.
struct Fd(libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: a descriptor this process opened and closes once; the
        // mapping made from it stays.
        unsafe { libc::close(self.0) };
    }
}

fn c_name(name: &str) -> Result<std::ffi::CString, MapError> {
    std::ffi::CString::new(name).map_err(|_| MapError::Io(io::Error::from(io::ErrorKind::InvalidInput)))
}

/// `shm_open` with `mode` (variadic on some systems, so passed widened).
fn shm_open(name: &std::ffi::CStr, flags: libc::c_int, mode: libc::mode_t) -> libc::c_int {
    // SAFETY: `name` is NUL-terminated; the mode is read only with
    // O_CREAT.
    unsafe { libc::shm_open(name.as_ptr(), flags, libc::c_uint::from(mode)) }
}

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

impl Mapping {
    /// Creates object `name` (with its leading `/`) exclusively, owner-only
    /// and `size` bytes of zeros, and maps it.
    pub(crate) fn create(name: &str, size: usize) -> Result<Mapping, MapError> {
        let c = c_name(name)?;
        let fd = shm_open(&c, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600);
        if fd < 0 {
            let e = last_error();
            return Err(if e.kind() == io::ErrorKind::AlreadyExists {
                MapError::Exists
            } else {
                MapError::Io(e)
            });
        }
        let fd = Fd(fd);
        let made = Self::size_and_map(&fd, name, size);
        if made.is_err() {
            // SAFETY: `c` is NUL-terminated; we created the name above.
            unsafe { libc::shm_unlink(c.as_ptr()) };
        }
        made
    }

    fn size_and_map(fd: &Fd, name: &str, size: usize) -> Result<Mapping, MapError> {
        // The umask narrowed the mode `shm_open` was given: set it on the
        // object itself (Linux; macOS refuses `fchmod` on shared memory, so
        // there the mode is 0600 narrowed by the umask).
        // SAFETY: `fd` is open.
        if unsafe { libc::fchmod(fd.0, 0o600) } != 0 && cfg!(not(target_os = "macos")) {
            return Err(MapError::Io(last_error()));
        }
        let len = libc::off_t::try_from(size)
            .map_err(|_| MapError::Io(io::Error::from(io::ErrorKind::InvalidInput)))?;
        // SAFETY: `fd` is open and writable.
        if unsafe { libc::ftruncate(fd.0, len) } != 0 {
            return Err(MapError::Io(last_error()));
        }
        Self::map(fd, name, size)
    }

    /// Opens object `name` and maps all of it; it must belong to this
    /// process's effective user.
    pub(crate) fn open(name: &str) -> Result<Mapping, MapError> {
        let c = c_name(name)?;
        let fd = shm_open(&c, libc::O_RDWR, 0);
        if fd < 0 {
            let e = last_error();
            return Err(if e.kind() == io::ErrorKind::NotFound {
                MapError::NotFound
            } else {
                MapError::Io(e)
            });
        }
        let fd = Fd(fd);
        // SAFETY: plain data, filled by fstat below.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is open; `st` is a live buffer.
        if unsafe { libc::fstat(fd.0, &mut st) } != 0 {
            return Err(MapError::Io(last_error()));
        }
        // SAFETY: geteuid cannot fail.
        let me = unsafe { libc::geteuid() };
        if st.st_uid != me {
            return Err(MapError::NotOwned { owner: st.st_uid });
        }
        let size = usize::try_from(st.st_size)
            .map_err(|_| MapError::Io(io::Error::from(io::ErrorKind::InvalidData)))?;
        if size == 0 {
            return Err(MapError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                "the object is empty",
            )));
        }
        Self::map(&fd, name, size)
    }

    fn map(fd: &Fd, name: &str, size: usize) -> Result<Mapping, MapError> {
        // SAFETY: a new shared mapping of `size` bytes of an object at
        // least that large; the kernel chooses the address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.0,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(MapError::Io(last_error()));
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len: size,
            name: name.to_owned(),
            unlink: false,
        })
    }

    /// The first byte (page-aligned).
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// The length in bytes, as mapped.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Removes the name when this mapping is dropped (other processes keep
    /// their mappings; nobody can open the name any more).
    pub(crate) fn unlink_on_drop(&mut self) {
        self.unlink = true;
    }

    /// Removes object `name` (mappings stay; nobody can open it again).
    pub(crate) fn unlink(name: &str) {
        if let Ok(c) = c_name(name) {
            // SAFETY: `c` is NUL-terminated; shm_unlink only reads it.
            unsafe { libc::shm_unlink(c.as_ptr()) };
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once; nothing of it
        // is used after its owner is dropped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
        if self.unlink {
            Self::unlink(&self.name);
        }
    }
}

// SAFETY: a pointer and length to a process-wide shared mapping; nothing in
// it is tied to a thread. Access to the bytes goes through atomics or the
// protocols documented where they are used.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only hands out the pointer and length.
unsafe impl Sync for Mapping {}
