//! The one module that uses the `shared_memory` crate, so it can be swapped.
//!
//! What the crate gives us, and what it does not (checked in its 0.12.4
//! source):
//! - Unix: `shm_open(O_CREAT | O_EXCL | O_RDWR, 0600)`, then `ftruncate` and
//!   `mmap(MAP_SHARED)`; `set_owner(true)` makes its drop `shm_unlink` the
//!   name. Exclusive creation and owner-only permissions are what we need.
//! - Windows: every mapping is backed by a file in `%TEMP%\shared_memory-rs`
//!   created with default security (the user's temporary directory ACL) and
//!   `CreateFileMapping` with a null security descriptor (the token's
//!   default DACL: the user, SYSTEM and administrators). The file is only
//!   deleted by an owner's drop, so a killed owner leaves it behind until our
//!   stale cleanup removes it, and it makes the mapping file-backed rather
//!   than backed by the paging file. The crate offers no way to pass a
//!   security descriptor.

use std::{
    io,
    sync::atomic::{AtomicBool, Ordering},
};

use shared_memory::{Shmem, ShmemConf, ShmemError};

/// Why a mapping could not be made.
#[derive(Debug)]
pub(crate) enum BackingError {
    /// A mapping of that name already exists.
    Exists,
    /// No mapping of that name exists.
    NotFound,
    /// Any other failure.
    Io(io::Error),
}

fn os_error(code: u32) -> io::Error {
    io::Error::from_raw_os_error(code as i32)
}

fn map_error(e: ShmemError) -> BackingError {
    match e {
        ShmemError::MappingIdExists | ShmemError::LinkExists => BackingError::Exists,
        ShmemError::MapOpenFailed(code) => {
            let err = os_error(code);
            if err.kind() == io::ErrorKind::NotFound {
                BackingError::NotFound
            } else {
                BackingError::Io(err)
            }
        }
        ShmemError::MapCreateFailed(code) | ShmemError::UnknownOsError(code) => {
            BackingError::Io(os_error(code))
        }
        other => BackingError::Io(io::Error::other(other.to_string())),
    }
}

/// A named shared memory mapping.
pub(crate) struct Backing {
    shmem: Shmem,
    unlink: AtomicBool,
}

// SAFETY: `Shmem` is only a pointer and length to a process-wide mapping plus
// its name; nothing in it is tied to the thread that made it. All access to
// the mapped bytes goes through atomics or the protocols documented where
// they are used.
unsafe impl Send for Backing {}
// SAFETY: as above; `&Backing` only hands out the base pointer and length.
unsafe impl Sync for Backing {}

impl std::fmt::Debug for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backing")
            .field("name", &self.name())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Backing {
    /// Creates the mapping `name` (with a leading `/`) of `size` bytes,
    /// exclusively; its bytes are zero.
    pub(crate) fn create(name: &str, size: usize) -> Result<Backing, BackingError> {
        let mut shmem = ShmemConf::new()
            .os_id(name)
            .size(size)
            .create()
            .map_err(map_error)?;
        // Ownership (unlinking) is decided by our participant table, not by
        // who created the mapping.
        shmem.set_owner(false);
        Ok(Backing {
            shmem,
            unlink: AtomicBool::new(false),
        })
    }

    /// Opens the existing mapping `name`.
    pub(crate) fn open(name: &str) -> Result<Backing, BackingError> {
        let shmem = ShmemConf::new().os_id(name).open().map_err(map_error)?;
        Ok(Backing {
            shmem,
            unlink: AtomicBool::new(false),
        })
    }

    /// The mapping's name, with its leading `/`.
    pub(crate) fn name(&self) -> &str {
        self.shmem.get_os_id()
    }

    /// The first byte of the mapping (page-aligned).
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.shmem.as_ptr()
    }

    /// The mapping's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.shmem.len()
    }

    /// Removes the name when this mapping is dropped (other processes keep
    /// their mappings; nobody can open the name any more).
    pub(crate) fn unlink_on_drop(&self) {
        self.unlink.store(true, Ordering::SeqCst);
    }
}

impl Drop for Backing {
    fn drop(&mut self) {
        if self.unlink.load(Ordering::SeqCst) {
            self.shmem.set_owner(true);
        }
    }
}

/// Removes the name of a mapping that cannot be opened (an object left empty
/// by a creator that died before sizing it). The crate can only unlink what
/// it has mapped, so this one call goes to the system directly.
pub(crate) fn remove_name(name: &str) {
    #[cfg(unix)]
    {
        if let Ok(c) = std::ffi::CString::new(name) {
            // SAFETY: `c` is a NUL-terminated name; shm_unlink only reads it.
            unsafe { libc::shm_unlink(c.as_ptr()) };
        }
    }
    #[cfg(windows)]
    {
        let file = std::env::temp_dir()
            .join("shared_memory-rs")
            .join(name.trim_start_matches('/'));
        let _ = std::fs::remove_file(file);
    }
}
