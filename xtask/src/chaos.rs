//! `cargo xtask chaos`: builds and runs the kill campaign
//! (`transport-chaos`, in `xtask/chaos/`) with the `chaos` profile
//! (optimized, with debug assertions and overflow checks), passing the
//! options on. It kills child processes with `SIGKILL` at random moments of
//! traffic, per backend, prints a table and writes `target/chaos.json`; it
//! exits non-zero on any hang, panic, duplicate, loss beyond the backend's
//! documented rule, other error, or leftover operating-system object.
//!
//! The backends are dependencies of that crate, not of this one.

use std::{path::Path, process::Command};

use crate::{bench::target_dir, platform::cargo};

/// Runs the campaign; `Ok(false)` when a trial broke the contract.
pub fn run(args: &[String], root: &Path) -> Result<bool, String> {
    if !cfg!(target_os = "linux") {
        return Err("chaos runs on Linux (it reads /proc and /dev/shm)".to_owned());
    }
    let out = target_dir(root).join("chaos.json");
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .args([
            "run",
            "--profile",
            "chaos",
            "--quiet",
            "--package",
            "transport-chaos",
            "--",
        ])
        .arg("--out")
        .arg(&out)
        .args(args);
    eprintln!("chaos: building and running transport-chaos (profile chaos)");
    let status = cmd.status().map_err(|e| format!("could not start cargo: {e}"))?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(format!("transport-chaos did not complete ({status})")),
    }
}
