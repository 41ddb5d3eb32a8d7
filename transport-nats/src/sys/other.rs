//! Other systems: no parent-death signal; the owner's `Drop` stops the
//! server; no batch policy for the runtime thread.

use std::process::{Child, Command};

/// Nothing to arrange here.
pub(crate) fn tie_to_parent(_cmd: &mut Command) {}

/// No gentler stop here: the caller kills the process after its wait.
pub(crate) fn terminate(_child: &Child) {}

/// No batch policy here: the runtime thread keeps the default one.
pub(crate) fn batch_current_thread() -> std::io::Result<()> {
    Ok(())
}

/// Whether [`batch_current_thread`] gives a policy here.
#[cfg(test)]
pub(crate) const HAS_BATCH_POLICY: bool = false;

/// No batch policy here.
#[cfg(test)]
pub(crate) fn current_thread_is_batch() -> bool {
    false
}
