//! Linux: a parent-death signal, so a server started by a test that was
//! killed does not outlive it.

use std::{
    os::unix::process::CommandExt,
    process::{Child, Command},
};

/// Arranges for the child to get `SIGKILL` when the thread that spawned it
/// ends (the parent-death signal is tied to the spawning thread).
pub(crate) fn tie_to_parent(cmd: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls `prctl`, which is async-signal-safe; it touches no memory of
    // the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Asks the process to terminate (`SIGTERM`).
pub(crate) fn terminate(child: &Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: `kill` has no memory effects; the pid is our own child, not
    // yet reaped (the caller holds its `Child`), so it names no other
    // process.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}
