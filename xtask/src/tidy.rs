//! `cargo xtask tidy`: the workspace's rules, which are ordinary tests
//! (`xtask/tests/tidy/`), so `cargo test` runs them too; this task runs
//! only them, with their own names in the output.

use std::{path::Path, process::Command};

use crate::platform::cargo;

/// Runs the tidy tests; `Ok(false)` when a rule is broken.
pub fn run(args: &[String], root: &Path) -> Result<bool, String> {
    if let Some(arg) = args.first() {
        return Err(format!("tidy: unknown option `{arg}`"));
    }
    let status = Command::new(cargo())
        .current_dir(root)
        .args(["test", "--quiet", "--package", "xtask", "--test", "tidy"])
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    Ok(status.success())
}
