//! `cargo xtask bench`: builds the measuring program (`transport-bench`,
//! in `xtask/bench/`) in release mode and runs it. It measures our
//! backends and their peers between two pinned processes and writes
//! `target/bench/results.json`, `results.md`, `chart.svg` and
//! `machine.json`.
//!
//! The heavy peer crates (iceoryx2, ipc-channel, interprocess, plotters)
//! live in that separate crate, so this one stays light.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

/// What `cargo xtask bench` accepts; passed on to `transport-bench`.
struct Options {
    quick: bool,
    subjects: Vec<String>,
    reps: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        quick: false,
        subjects: Vec::new(),
        reps: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--subjects" => opts.subjects.push(
                it.next()
                    .ok_or("--subjects needs a comma-separated list")?
                    .clone(),
            ),
            "--reps" => opts.reps = Some(it.next().ok_or("--reps needs a number")?.clone()),
            other => return Err(format!("bench: unknown option `{other}`")),
        }
    }
    Ok(opts)
}

fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Where cargo puts build outputs for this workspace.
fn target_dir(root: &Path) -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Runs the benchmark; `Ok(false)` when a measurement failed.
pub fn run(args: &[String], root: &Path) -> Result<bool, String> {
    let opts = parse(args)?;
    let out = target_dir(root).join("bench");
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "transport-bench",
            "--",
        ])
        .arg("--out")
        .arg(&out);
    if opts.quick {
        cmd.arg("--quick");
    }
    for s in &opts.subjects {
        cmd.args(["--subjects", s]);
    }
    if let Some(n) = &opts.reps {
        cmd.args(["--reps", n]);
    }
    eprintln!("bench: building and running transport-bench (release)");
    let status = cmd.status().map_err(|e| format!("could not start cargo: {e}"))?;
    if status.code() == Some(2) || !out.join("results.json").exists() {
        return Err(format!("transport-bench did not complete ({status})"));
    }
    println!("bench: results in {}", out.display());
    Ok(status.success())
}
