//! Other systems: no parent-death signal; the owner's `Drop` stops the
//! server.

use std::process::{Child, Command};

/// Nothing to arrange here.
pub(crate) fn tie_to_parent(_cmd: &mut Command) {}

/// No gentler stop here: the caller kills the process after its wait.
pub(crate) fn terminate(_child: &Child) {}
