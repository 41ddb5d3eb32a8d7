//! `cargo xtask bench`: builds the measuring program (`transport-bench`,
//! in `xtask/bench/`) in release mode and runs it. It measures our
//! backends and their peers between two pinned processes and writes
//! `target/bench/results.json`, `results.md`, `chart.svg` and
//! `machine.json`.
//!
//! The heavy peer crates (iceoryx2, ipc-channel, interprocess, plotters)
//! live in that separate crate, so this one stays light.
//!
//! The pool rows (`pool-queue`, `pool-pipe`, `pool-shm`) run the adapters'
//! `pool_bench` example, whose backend is chosen by features: it is built
//! once per backend first, and copied to `target/bench/pool/pool-<backend>`.
//!
//! The full run (not `--quick`, and with the queue among its subjects) also
//! runs the queue's load test at 10 M messages (4 producer processes × 4
//! consumer processes: nothing lost, nothing duplicated, FIFO per producer)
//! and adds its outcome to `results.md`.

use std::{
    env, fs,
    io::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use crate::platform::cargo;

/// Messages in the full run's queue load test.
const LOAD_MESSAGES: &str = "10000000";

/// What `cargo xtask bench` accepts; passed on to `transport-bench`.
struct Options {
    quick: bool,
    subjects: Vec<String>,
    modes: Vec<String>,
    reps: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        quick: false,
        subjects: Vec::new(),
        modes: Vec::new(),
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
            "--modes" => opts
                .modes
                .push(it.next().ok_or("--modes needs a comma-separated list")?.clone()),
            "--reps" => opts.reps = Some(it.next().ok_or("--reps needs a number")?.clone()),
            other => return Err(format!("bench: unknown option `{other}`")),
        }
    }
    Ok(opts)
}

/// Where cargo puts build outputs for this workspace.
pub fn target_dir(root: &Path) -> PathBuf {
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
    for m in &opts.modes {
        cmd.args(["--modes", m]);
    }
    if let Some(n) = &opts.reps {
        cmd.args(["--reps", n]);
    }
    let wants_pools = opts.subjects.is_empty()
        || opts
            .subjects
            .iter()
            .any(|s| s.split(',').any(|s| s.starts_with("pool-")));
    if wants_pools {
        let dir = build_pools(root)?;
        cmd.env(POOL_DIR_VAR, dir);
    }
    eprintln!("bench: building and running transport-bench (release)");
    let status = cmd.status().map_err(|e| format!("could not start cargo: {e}"))?;
    if status.code() == Some(2) || !out.join("results.json").exists() {
        return Err(format!("transport-bench did not complete ({status})"));
    }
    let mut ok = status.success();
    let queue_measured =
        opts.subjects.is_empty() || opts.subjects.iter().any(|s| s.split(',').any(|s| s == "queue"));
    if !opts.quick && queue_measured {
        ok &= load_test(root, &out.join("results.md"))?;
    }
    println!("bench: results in {}", out.display());
    Ok(ok)
}

/// Where `transport-bench` finds the pool programs.
const POOL_DIR_VAR: &str = "TRANSPORT_BENCH_POOL_DIR";
/// The backends of the pool rows, by feature name.
const POOL_BACKENDS: [&str; 3] = ["queue", "pipe", "shm"];

/// Builds the `pool_bench` example once per backend (release) and copies
/// each to `target/bench/pool/pool-<backend>`; the directory.
fn build_pools(root: &Path) -> Result<PathBuf, String> {
    let target = target_dir(root);
    let dir = target.join("bench").join("pool");
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for backend in POOL_BACKENDS {
        eprintln!("bench: building the pool program on {backend} (release)");
        let status = Command::new(cargo())
            .current_dir(root)
            .args(["build", "--release", "--quiet", "--package", "transport-adapters"])
            .args([
                "--example",
                "pool_bench",
                "--no-default-features",
                "--features",
                backend,
            ])
            .status()
            .map_err(|e| format!("could not start cargo: {e}"))?;
        if !status.success() {
            return Err(format!(
                "building the pool program on {backend} failed ({status})"
            ));
        }
        let exe = env::consts::EXE_SUFFIX;
        let built = target
            .join("release")
            .join("examples")
            .join(format!("pool_bench{exe}"));
        let copy = dir.join(format!("pool-{backend}{exe}"));
        fs::copy(&built, &copy)
            .map_err(|e| format!("copying {} to {}: {e}", built.display(), copy.display()))?;
    }
    Ok(dir)
}

/// Runs the queue's load test at [`LOAD_MESSAGES`] and appends its outcome
/// to `results_md`; whether it passed.
fn load_test(root: &Path, results_md: &Path) -> Result<bool, String> {
    eprintln!("bench: the queue load test, {LOAD_MESSAGES} messages (a few minutes)");
    let output = Command::new(cargo())
        .current_dir(root)
        .env("QUEUE_LOAD_MESSAGES", LOAD_MESSAGES)
        .args([
            "test",
            "--release",
            "--quiet",
            "--package",
            "transport-queue",
            "--test",
            "load",
            "--",
            "--nocapture",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stderr.lines().find(|l| l.starts_with("load: "));
    let passed = output.status.success() && summary.is_some();
    let line = match summary {
        Some(s) if passed => format!("passed: {}", &s["load: ".len()..]),
        _ => {
            eprint!("{stderr}");
            format!(
                "FAILED ({}); its output is on the standard error stream",
                output.status
            )
        }
    };
    let mut md = fs::OpenOptions::new()
        .append(true)
        .open(results_md)
        .map_err(|e| format!("{}: {e}", results_md.display()))?;
    writeln!(
        md,
        "\n## Queue load test\n\n`QUEUE_LOAD_MESSAGES={LOAD_MESSAGES} cargo test --release -p transport-queue \
         --test load`: {line}"
    )
    .map_err(|e| format!("{}: {e}", results_md.display()))?;
    eprintln!("bench: queue load test {line}");
    Ok(passed)
}
