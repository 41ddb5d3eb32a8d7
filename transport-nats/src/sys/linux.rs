//! Linux: a parent-death signal, so a server started by a test that was
//! killed does not outlive it; the runtime thread's batch policy.

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

/// Gives the calling thread the `SCHED_BATCH` policy (same nice value, no
/// privilege needed): its wake-ups no longer preempt the thread running on
/// its CPU, so the runtime thread, woken by a caller's first publish, runs
/// when that caller waits or its time slice ends and writes what it
/// published by then in one go, instead of one message per wake-up. One
/// system call, on a `libc` this crate already depends on: no crate for it.
pub(crate) fn batch_current_thread() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` lives for the call, and
    // `SCHED_BATCH` takes a priority of 0.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether [`batch_current_thread`] gives a policy here.
#[cfg(test)]
pub(crate) const HAS_BATCH_POLICY: bool = true;

/// Whether the calling thread runs with `SCHED_BATCH`.
#[cfg(test)]
pub(crate) fn current_thread_is_batch() -> bool {
    // SAFETY: pid 0 is the calling thread; the call only reads its policy.
    let policy = unsafe { libc::sched_getscheduler(0) };
    policy == libc::SCHED_BATCH
}
