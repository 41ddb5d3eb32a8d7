//! `cargo xtask test-matrix`: every backend's conformance suite and tests,
//! one cell per backend and operating system, as a table and as
//! `target/test-matrix.json`.

use std::{
    env, fs,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::Instant,
};

use crate::json::{self, Value};

/// A backend and the package whose tests exercise it.
struct Backend {
    name: &'static str,
    package: &'static str,
    /// Cargo features the tests need.
    features: &'static str,
}

/// The matrix's rows: the same for CI and for people.
const BACKENDS: &[Backend] = &[
    Backend {
        name: "local",
        package: "transport-core",
        features: "conformance",
    },
    Backend {
        name: "queue",
        package: "transport-queue",
        features: "",
    },
    Backend {
        name: "pipe",
        package: "transport-pipe",
        features: "",
    },
    Backend {
        name: "shm",
        package: "transport-shm",
        features: "",
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Pass,
    Fail,
    Skipped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        }
    }
}

struct Cell {
    backend: &'static str,
    os: &'static str,
    features: String,
    status: Status,
    passed: u64,
    failed: u64,
    seconds: f64,
    note: String,
}

/// Runs the matrix; `Ok(false)` when a cell failed.
pub fn run(args: &[String]) -> Result<bool, String> {
    let mut wanted: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--backend" => wanted.push(it.next().ok_or("--backend needs a name")?.clone()),
            other => return Err(format!("test-matrix: unknown option `{other}`")),
        }
    }
    for w in &wanted {
        if !BACKENDS.iter().any(|b| b.name == w) {
            return Err(format!("test-matrix: unknown backend `{w}`"));
        }
    }
    let root = workspace_root();
    let backends: Vec<&Backend> = BACKENDS
        .iter()
        .filter(|b| wanted.is_empty() || wanted.iter().any(|w| w == b.name))
        .collect();
    let mut cells = Vec::new();
    for (i, backend) in backends.iter().enumerate() {
        eprintln!(
            "[{}/{}] linux {}: cargo test -p {}",
            i + 1,
            backends.len(),
            backend.name,
            backend.package
        );
        cells.push(linux_cell(&root, backend));
    }
    print_table(&cells);
    let path = root.join("target").join("test-matrix.json");
    write_json(&path, &cells)?;
    println!("wrote {}", path.display());
    Ok(cells.iter().all(|c| c.status != Status::Fail))
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    // xtask's manifest is `<root>/xtask/Cargo.toml`.
    let manifest = env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("xtask"), PathBuf::from);
    manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Whether the backend's package has its conformance suite yet.
fn has_suite(root: &Path, backend: &Backend) -> bool {
    root.join(backend.package)
        .join("tests")
        .join("conformance.rs")
        .exists()
}

fn linux_cell(root: &Path, backend: &Backend) -> Cell {
    let mut cell = Cell {
        backend: backend.name,
        os: "linux",
        features: backend.features.to_owned(),
        status: Status::Skipped,
        passed: 0,
        failed: 0,
        seconds: 0.0,
        note: String::new(),
    };
    if !has_suite(root, backend) {
        cell.note = format!("{} has no conformance suite yet", backend.package);
        return cell;
    }
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root).args(["test", "--package", backend.package]);
    if !backend.features.is_empty() {
        cmd.args(["--features", backend.features]);
    }
    let start = Instant::now();
    let outcome = run_tests(cmd);
    cell.seconds = start.elapsed().as_secs_f64();
    match outcome {
        Ok(run) => {
            cell.passed = run.passed;
            cell.failed = run.failed;
            cell.status = if run.success && run.failed == 0 {
                Status::Pass
            } else {
                Status::Fail
            };
            if run.skips > 0 {
                cell.note = format!("{} case(s) skipped by capability", run.skips);
            }
        }
        Err(e) => {
            cell.status = Status::Fail;
            cell.note = e;
        }
    }
    cell
}

/// What a `cargo test` run printed, summed over its test binaries.
struct TestRun {
    success: bool,
    passed: u64,
    failed: u64,
    skips: u64,
}

/// Runs a `cargo test` command, echoing its output, and counts results.
fn run_tests(mut cmd: Command) -> Result<TestRun, String> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("could not start cargo: {e}"))?;
    let stderr = child.stderr.take().ok_or("cargo's stderr is not piped")?;
    // libtest prints results on stdout and cargo its progress on stderr;
    // both are echoed as they come, and skips are counted from stderr.
    let err = thread::spawn(move || {
        let mut skips = 0;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("conformance: SKIP") {
                skips += 1;
            }
            eprintln!("    {line}");
        }
        skips
    });
    let (mut passed, mut failed) = (0, 0);
    let stdout = child.stdout.take().ok_or("cargo's stdout is not piped")?;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some((p, f)) = parse_result(&line) {
            passed += p;
            failed += f;
        }
        eprintln!("    {line}");
    }
    let status = child.wait().map_err(|e| format!("waiting for cargo: {e}"))?;
    let skips = err.join().unwrap_or(0);
    Ok(TestRun {
        success: status.success(),
        passed,
        failed,
        skips,
    })
}

/// Reads libtest's `test result: ok. 18 passed; 0 failed; ...` line.
fn parse_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    // "ok. 18 passed; 0 failed; ..." → ["ok", "18 passed", "0 failed", ...]
    let parts: Vec<&str> = rest.split(['.', ';']).map(str::trim).collect();
    let count = |what: &str| -> Option<u64> {
        parts
            .iter()
            .find_map(|part| part.strip_suffix(what))
            .and_then(|n| n.trim().parse().ok())
    };
    Some((count(" passed")?, count(" failed")?))
}

fn print_table(cells: &[Cell]) {
    println!();
    println!("| backend | os | status | passed | failed | seconds | note |");
    println!("|---|---|---|---:|---:|---:|---|");
    for c in cells {
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {} |",
            c.backend,
            c.os,
            c.status.as_str(),
            c.passed,
            c.failed,
            c.seconds,
            c.note
        );
    }
    println!();
}

fn write_json(path: &Path, cells: &[Cell]) -> Result<(), String> {
    let items: Vec<String> = cells
        .iter()
        .map(|c| {
            json::object(&[
                ("backend", Value::Str(c.backend.to_owned())),
                ("os", Value::Str(c.os.to_owned())),
                ("features", Value::Str(c.features.clone())),
                ("status", Value::Str(c.status.as_str().to_owned())),
                ("passed", Value::Int(c.passed as i64)),
                ("failed", Value::Int(c.failed as i64)),
                ("seconds", Value::Num((c.seconds * 10.0).round() / 10.0)),
                ("note", Value::Str(c.note.clone())),
            ])
        })
        .collect();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    fs::write(path, json::array(&items)).map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_results() {
        assert_eq!(
            parse_result("test result: ok. 18 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"),
            Some((18, 0))
        );
        assert_eq!(
            parse_result("test result: FAILED. 13 passed; 5 failed; 0 ignored; 0 measured"),
            Some((13, 5))
        );
        assert_eq!(parse_result("running 3 tests"), None);
    }
}
