//! Knowing the child a hand-off was made for: its pid, and its death.
//!
//! Before it runs the new program, the child (in `pre_exec`) writes its
//! pid to a pipe whose writing end it keeps across `exec`; the parent's
//! hand-off server reads the pid (the only process whose connection it
//! accepts), closes its own copy of the writing end, and from then on
//! sees the pipe's end of file the moment every child that holds it is
//! gone. The child closes its end once it opened the hand-off.
//!
//! A command that was spawned once refuses to spawn again (its `pre_exec`
//! fails with `EALREADY`) once the server has read the first child's pid;
//! a second child spawned before that is refused when it opens.

use std::{
    io,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
        unix::{fs::MetadataExt, process::CommandExt},
    },
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use super::fd;

/// The parent's side.
#[derive(Debug)]
pub(crate) struct Watch {
    /// The pipe's reading end.
    pub(crate) read: OwnedFd,
    /// The parent's copy of the writing end, until a child has it.
    write: Option<OwnedFd>,
    used: Arc<AtomicBool>,
}

impl Watch {
    /// A child has started: further spawns of the command fail, and the
    /// parent's copy of the writing end goes (so the end of file means
    /// the children are gone).
    pub(crate) fn started(&mut self) {
        self.used.store(true, Ordering::Release);
        self.write = None;
    }
}

/// What the child learns from the token: its end of the pipe, and how to
/// tell it is that pipe (device and inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChildEnd {
    pub(crate) fd: RawFd,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
}

impl ChildEnd {
    /// Closes the child's end, if `fd` is still that pipe.
    pub(crate) fn release(self) {
        let Ok(file) = fd_meta(self.fd) else { return };
        if file.0 == self.dev && file.1 == self.ino {
            // SAFETY: the descriptor is the pipe the parent gave this
            // process for this hand-off; nothing in this process owns it.
            drop(unsafe { OwnedFd::from_raw_fd(self.fd) });
        }
    }
}

fn fd_meta(fd: RawFd) -> io::Result<(u64, u64)> {
    let meta = std::fs::metadata(format!("/proc/self/fd/{fd}"))?;
    Ok((meta.dev(), meta.ino()))
}

/// Makes `cmd`'s child report its pid and hold the pipe.
pub(crate) fn install(cmd: &mut Command) -> io::Result<(Watch, ChildEnd)> {
    let (read, write) = fd::pipe()?;
    fd::set_nonblocking(read.as_raw_fd())?;
    let raw = write.as_raw_fd();
    let (dev, ino) = fd_meta(raw)?;
    let used = Arc::new(AtomicBool::new(false));
    let spawned = Arc::clone(&used);
    let hook = move || -> io::Result<()> {
        // Only async-signal-safe calls here: this runs between `fork` and
        // `exec`.
        if spawned.load(Ordering::Acquire) {
            return Err(io::Error::from_raw_os_error(libc::EALREADY));
        }
        // SAFETY: plain system calls on a descriptor this process holds.
        unsafe {
            if libc::fcntl(raw, libc::F_SETFD, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            let pid = libc::getpid().to_ne_bytes();
            if libc::write(raw, pid.as_ptr().cast(), pid.len()) != pid.len() as isize {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the hook makes only async-signal-safe calls (an atomic load,
    // `fcntl`, `getpid`, `write`) and allocates nothing.
    unsafe { cmd.pre_exec(hook) };
    Ok((
        Watch {
            read,
            write: Some(write),
            used,
        },
        ChildEnd { fd: raw, dev, ino },
    ))
}
