//! Code shared by the Unix platforms.

use std::{
    os::unix::process::CommandExt,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

/// Whether `record_child_pid` records the child's pid before it runs.
pub(crate) const RECORDS_CHILD_PID: bool = true;

/// Makes the child that `cmd` spawns store its process id into `slot`
/// (a word in a shared segment) before it runs the new program. `keep`
/// holds the mapping alive as long as `cmd` lives.
pub(crate) fn record_child_pid<K: Send + Sync + 'static>(
    cmd: &mut Command,
    keep: Arc<K>,
    slot: *const AtomicU32,
) {
    let slot = slot as usize;
    // SAFETY: the closure runs in the forked child before `exec`. It only
    // calls `getpid` and does one atomic store, both async-signal-safe, and
    // allocates nothing. The mapping `slot` points into is shared with the
    // parent (MAP_SHARED, inherited by `fork`) and kept mapped by `keep`.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &keep;
            let pid = libc::getpid() as u32;
            // `slot` points into the mapping `keep` holds (see above).
            let word = &*(slot as *const AtomicU32);
            word.store(pid, Ordering::SeqCst);
            Ok(())
        });
    }
}
