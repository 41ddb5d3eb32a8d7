//! `cargo xtask miri`: runs the single-process tests of the code that
//! handles received bytes under Miri (`cargo +nightly miri test`), suite
//! by suite from [`SUITES`], prints a table and exits non-zero if Miri
//! found undefined behaviour or a test failed.
//!
//! Miri needs a nightly toolchain with the `miri` component; the workspace
//! itself never does, so this task is the only place nightly is used, and
//! `.ci/run` runs it only where such a toolchain is installed.
//!
//! Miri runs with Tree Borrows (`-Zmiri-tree-borrows`): rkyv's relative
//! pointers (a field's address plus a stored offset) are outside what
//! Stacked Borrows allows, and rkyv's maintainers test with Tree Borrows
//! (rkyv/rkyv#436). Under Stacked Borrows every archived `String` is
//! reported, in rkyv, before any code of ours runs.

use std::{env, path::Path, process::Command};

use crate::libtest;

/// One `cargo miri test` run.
struct Suite {
    /// The package tested.
    package: &'static str,
    /// Its features for the run.
    features: &'static [&'static str],
    /// Which of its test targets (`--lib`, `--test NAME`).
    target: &'static [&'static str],
    /// Test-name filters (libtest's: a test runs if its name contains one
    /// of them); empty for every test of the target.
    filters: &'static [&'static str],
    /// Tests left out, with `--skip`: only those Miri cannot run (process
    /// spawning), each said below.
    skip: &'static [&'static str],
    /// Miri flags of this suite, after [`MIRIFLAGS`], each said below.
    flags: &'static [&'static str],
    /// What the suite covers.
    covers: &'static str,
}

/// What runs under Miri, in order. Extend it as more tests become
/// runnable.
const SUITES: &[Suite] = &[
    Suite {
        package: "transport-core",
        features: &[],
        target: &["--lib"],
        filters: &[],
        skip: &[],
        flags: &[],
        covers: "frames (frame.rs), the writer (message.rs), validation and the guard \
                 (received.rs), tokens, errors",
    },
    Suite {
        package: "transport-core",
        features: &["conformance"],
        target: &["--test", "conformance"],
        filters: &[],
        // Nothing: the cases send fewer messages under `cfg(miri)`, and the
        // ones that kill processes skip themselves on a thread backend.
        skip: &[],
        flags: &[],
        covers: "the local backend through the conformance suite (threads as peers)",
    },
    Suite {
        package: "transport-shm",
        features: &[],
        target: &["--lib"],
        filters: &["channel::"],
        skip: &[],
        // Isolation off: the ring's hand-off reads the process's start time
        // from `/proc` and its waits read the clock. Weak-memory emulation
        // off: the hostile-peer tests scribble on ring words with stores of
        // another size than the ring's atomics, as a peer would, and Miri's
        // store buffers do not model mixed-size accesses (it stops with an
        // internal error, "partially overlapping store buffer"); data races
        // and aliasing are still checked.
        flags: &["-Zmiri-disable-isolation", "-Zmiri-disable-weak-memory-emulation"],
        covers: "the shm ring: sender, receiver, records, malformed words (two threads)",
    },
];

/// The Miri flags every suite runs with.
const MIRIFLAGS: &str = "-Zmiri-tree-borrows";

/// Runs the task; `Ok(false)` when a suite failed.
pub fn run(args: &[String], root: &Path) -> Result<bool, String> {
    let mut toolchain = "nightly".to_owned();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.split_once('=') {
            Some(("--toolchain", t)) => toolchain = t.to_owned(),
            None if arg == "--toolchain" => {
                toolchain = it.next().ok_or("--toolchain needs a value")?.clone();
            }
            _ => return Err(format!("miri: unknown option `{arg}`")),
        }
    }
    check_miri(&toolchain)?;
    let flags = match env::var("MIRIFLAGS") {
        Ok(extra) if !extra.trim().is_empty() => format!("{MIRIFLAGS} {extra}"),
        _ => MIRIFLAGS.to_owned(),
    };
    let mut rows = Vec::new();
    for suite in SUITES {
        let mut name = format!("{} {}", suite.package, suite.target.join(" "));
        if !suite.filters.is_empty() {
            name.push_str(&format!(" ({})", suite.filters.join(", ")));
        }
        eprintln!("miri: {name} ({})", suite.covers);
        // The rustup proxy, not `$CARGO`: only the proxy reads `+toolchain`.
        let mut cmd = Command::new("cargo");
        let mut suite_flags = flags.clone();
        for flag in suite.flags {
            suite_flags.push(' ');
            suite_flags.push_str(flag);
        }
        cmd.current_dir(root)
            .env("MIRIFLAGS", &suite_flags)
            .arg(format!("+{toolchain}"))
            .args(["miri", "test", "--package", suite.package])
            .args(suite.target);
        if !suite.features.is_empty() {
            cmd.args(["--features", &suite.features.join(",")]);
        }
        cmd.arg("--").args(suite.filters);
        for skip in suite.skip {
            cmd.args(["--skip", skip]);
        }
        let outcome = libtest::run(cmd, None, &|| {})?;
        rows.push((name, outcome, suite));
    }
    println!();
    println!("miri ({flags}, {toolchain}):");
    println!("{:<40} {:>7} {:>7}  result", "suite", "passed", "failed");
    let mut ok = true;
    for (name, outcome, suite) in &rows {
        let result = if outcome.success && outcome.failed == 0 {
            "ok".to_owned()
        } else {
            ok = false;
            format!("FAILED: {}", outcome.failure_note())
        };
        println!("{name:<40} {:>7} {:>7}  {result}", outcome.passed, outcome.failed);
        if !suite.skip.is_empty() {
            println!("{:<40} skipped: {}", "", suite.skip.join(", "));
        }
        if !suite.flags.is_empty() {
            println!("{:<40} with {}", "", suite.flags.join(" "));
        }
    }
    Ok(ok)
}

/// Makes sure `cargo +toolchain miri` runs.
fn check_miri(toolchain: &str) -> Result<(), String> {
    let output = Command::new("cargo")
        .args([&format!("+{toolchain}"), "miri", "--version"])
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "`cargo +{toolchain} miri` does not run here ({}): install it with \
         `rustup toolchain install {toolchain} --component miri`",
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .next()
            .unwrap_or("no output")
    ))
}
