//! `cargo xtask test-matrix`: every backend's conformance suite and tests,
//! and the adapters with each backend feature, on every operating system:
//! run on Linux, run under Wine for Windows, type-checked for macOS (or run
//! natively wherever xtask itself runs). Prints a table and writes
//! `target/test-matrix.json`; exits non-zero if a cell failed.
//!
//! The rows are the `const` table [`ROWS`], so CI and people run the same
//! cells. A row whose package is not ready yet (no `tests/conformance.rs`,
//! or the adapters without the feature) is listed as skipped, with the
//! reason, never as a pass.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use crate::{
    debian::{self, Problem},
    libtest, manifest,
    nats_server::NatsServer,
    options::{Options, Os},
    platform::Platform,
    report::{self, Cell, Status},
};

/// What makes a row testable.
#[derive(Debug)]
pub enum Needs {
    /// The package instantiates the conformance suite (`tests/conformance.rs`).
    Suite,
    /// The package declares this feature.
    Feature(&'static str),
}

/// A server a row's tests start for themselves.
#[derive(Debug, PartialEq, Eq)]
pub enum Service {
    None,
    /// `nats-server` (Debian's package): on Linux the cell installs it and
    /// runs; the other systems' cells build the tests without running them.
    NatsServer,
    /// As [`Service::NatsServer`], and the cell starts one more server for
    /// its run, at `NATS_URL`: the package's doc tests are the user's
    /// examples, on the default backend's default settings, which with
    /// `nats` alone is the default client (see `nats_server.rs`).
    NatsServerAtUrl,
}

impl Service {
    /// Whether the row's tests need `nats-server`.
    fn nats(&self) -> bool {
        matches!(self, Service::NatsServer | Service::NatsServerAtUrl)
    }
}

/// One row of the matrix: a package, with a feature selection, that tests
/// a backend.
#[derive(Debug)]
pub struct Row {
    /// `local`, `queue`, `pipe`, `shm` or `nats`.
    pub backend: &'static str,
    pub package: &'static str,
    /// The package's directory in the workspace.
    pub dir: &'static str,
    pub features: &'static [&'static str],
    pub default_features: bool,
    pub needs: Needs,
    pub service: Service,
}

/// The backends, as `--backend` names them.
pub const BACKENDS: &[&str] = &["local", "queue", "pipe", "shm", "nats"];

/// The matrix's rows: the same for CI and for people.
pub const ROWS: &[Row] = &[
    Row {
        backend: "local",
        package: "transport-core",
        dir: "transport-core",
        features: &["conformance"],
        default_features: true,
        needs: Needs::Suite,
        service: Service::None,
    },
    Row {
        backend: "queue",
        package: "transport-queue",
        dir: "transport-queue",
        features: &[],
        default_features: true,
        needs: Needs::Suite,
        service: Service::None,
    },
    // With async readiness: its tests (tokio's reactor on Unix, the
    // zero-byte read and `WSAEventSelect` on Windows) run on every system.
    Row {
        backend: "pipe",
        package: "transport-pipe",
        dir: "transport-pipe",
        features: &["tokio"],
        default_features: true,
        needs: Needs::Suite,
        service: Service::None,
    },
    Row {
        backend: "shm",
        package: "transport-shm",
        dir: "transport-shm",
        features: &[],
        default_features: true,
        needs: Needs::Suite,
        service: Service::None,
    },
    // The adapters with exactly one backend selected by feature.
    Row {
        backend: "queue",
        package: "transport-adapters",
        dir: "adapters",
        features: &["queue"],
        default_features: false,
        needs: Needs::Feature("queue"),
        service: Service::None,
    },
    Row {
        backend: "pipe",
        package: "transport-adapters",
        dir: "adapters",
        features: &["pipe"],
        default_features: false,
        needs: Needs::Feature("pipe"),
        service: Service::None,
    },
    Row {
        backend: "shm",
        package: "transport-adapters",
        dir: "adapters",
        features: &["shm"],
        default_features: false,
        needs: Needs::Feature("shm"),
        service: Service::None,
    },
    // NATS: both delivery modes, faults, the queue and a three-node
    // cluster, each test with servers of its own on loopback ports.
    Row {
        backend: "nats",
        package: "transport-nats",
        dir: "transport-nats",
        features: &[],
        default_features: true,
        needs: Needs::Suite,
        service: Service::NatsServer,
    },
    // The adapters on NATS alone: their tests on at-least-once delivery,
    // each test thread with a server of its own; the doc tests on the
    // cell's server.
    Row {
        backend: "nats",
        package: "transport-adapters",
        dir: "adapters",
        features: &["nats"],
        default_features: false,
        needs: Needs::Feature("nats"),
        service: Service::NatsServerAtUrl,
    },
];

impl Row {
    /// The feature selection as the report shows it: `package/feature`
    /// for each feature asked for, `package/default` for the defaults
    /// alone. Adapter rows are built without default features.
    pub fn features_label(&self) -> String {
        if self.features.is_empty() {
            return format!("{}/default", self.package);
        }
        let names: Vec<String> = self
            .features
            .iter()
            .map(|f| format!("{}/{f}", self.package))
            .collect();
        names.join(",")
    }

    /// The cargo arguments that select the package and its features.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = vec!["--package".to_owned(), self.package.to_owned()];
        if !self.default_features {
            args.push("--no-default-features".to_owned());
        }
        if !self.features.is_empty() {
            args.push("--features".to_owned());
            args.push(self.features.join(","));
        }
        args
    }

    /// `Err(why)` when the package is not ready for this row yet.
    pub fn ready(&self, root: &Path) -> Result<(), String> {
        let dir = root.join(self.dir);
        match self.needs {
            Needs::Suite if dir.join("tests").join("conformance.rs").exists() => Ok(()),
            Needs::Suite => Err(format!("{} has no tests/conformance.rs yet", self.package)),
            Needs::Feature(feature) => {
                let declared = manifest::features(&dir.join("Cargo.toml"))?;
                if declared.iter().any(|f| f == feature) {
                    Ok(())
                } else {
                    Err(format!("{} has no feature `{feature}` yet", self.package))
                }
            }
        }
    }
}

/// Runs the matrix; `Ok(false)` when a cell failed.
pub fn run(args: &[String]) -> Result<bool, String> {
    let options = Options::parse(args, &Os::ALL, BACKENDS)?;
    let root = workspace_root();
    let rows: Vec<&Row> = ROWS.iter().filter(|r| options.wants(r.backend)).collect();
    let total = rows.len() * options.os.len();
    let started = Instant::now();
    let mut cells = Vec::with_capacity(total);
    for &os in &options.os {
        eprintln!("== {os}: getting ready");
        let platform = Platform::prepare(os, &root, options.install);
        eprintln!("== {os}: {}", platform.describe());
        for row in &rows {
            eprintln!(
                "[{}/{total} {:.0}s] {os} {} ({})",
                cells.len() + 1,
                started.elapsed().as_secs_f64(),
                row.backend,
                row.features_label()
            );
            // A cell gets its own limit, but never more than what is left.
            let left = options.budget.saturating_sub(started.elapsed());
            let cell = if left.is_zero() {
                let mut cell = Cell::new(row.backend, os, row.features_label());
                cell.status = Status::Fail;
                cell.note = format!(
                    "not started: the run's {}-minute budget was spent",
                    options.budget.as_secs() / 60
                );
                cell
            } else {
                run_cell(
                    &root,
                    row,
                    os,
                    &platform,
                    left.min(options.cell_timeout),
                    options.install,
                )
            };
            eprintln!("    => {}", cell.summary());
            cells.push(cell);
        }
    }
    report::print_table(&cells, &options.os);
    let path = root.join("target").join("test-matrix.json");
    report::write_json(&path, &cells)?;
    println!("{}", report::totals(&cells, started.elapsed().as_secs_f64()));
    println!("wrote {}", path.display());
    Ok(cells.iter().all(|c| c.status != Status::Fail))
}

fn run_cell(root: &Path, row: &Row, os: Os, platform: &Platform, limit: Duration, install: bool) -> Cell {
    let mut cell = Cell::new(row.backend, os, row.features_label());
    if let Err(why) = row.ready(root) {
        cell.note = why;
        return cell;
    }
    let build_only = row.service.nats() && !platform.check_only() && os != Os::Linux;
    if row.service.nats() && os == Os::Linux {
        match debian::provide(&debian::NATS_SERVER.iter().collect::<Vec<_>>(), install) {
            Ok(()) => {}
            Err(Problem::Unavailable(why)) => {
                cell.note = why;
                return cell;
            }
            Err(Problem::Broken(why)) => {
                cell.status = Status::Fail;
                cell.note = format!("setup failed: {why}");
                return cell;
            }
        }
    }
    // Lives until the cell's command has ended.
    let mut server = None;
    if row.service == Service::NatsServerAtUrl && os == Os::Linux {
        match NatsServer::start(Path::new(debian::NATS_SERVER[0].file)) {
            Ok(s) => server = Some(s),
            Err(why) => {
                cell.status = Status::Fail;
                cell.note = format!("setup failed: {why}");
                return cell;
            }
        }
    }
    let cmd = match platform.test(root, &row.cargo_args()) {
        Ok(mut cmd) => {
            if build_only {
                // The server runs on Linux here: build the tests, do not
                // run them.
                cmd.arg("--no-run");
            }
            if let Some(server) = &server {
                cmd.env("NATS_URL", server.url());
            }
            cmd
        }
        Err(Problem::Unavailable(why)) => {
            cell.note = why.clone();
            return cell;
        }
        Err(Problem::Broken(why)) => {
            cell.status = Status::Fail;
            cell.note = format!("setup failed: {why}");
            return cell;
        }
    };
    eprintln!("    $ {}", command_line(&cmd));
    let start = Instant::now();
    let outcome = libtest::run(cmd, Some(limit), &|| platform.kill());
    let finished = platform.finish();
    cell.seconds = start.elapsed().as_secs_f64();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            cell.status = Status::Fail;
            cell.note = e;
            return cell;
        }
    };
    cell.passed = outcome.passed;
    cell.failed = outcome.failed;
    let mut notes = Vec::new();
    cell.status = if outcome.timed_out {
        notes.push(format!(
            "killed after {}s; {}",
            limit.as_secs(),
            outcome.failure_note()
        ));
        Status::Fail
    } else if !outcome.success || outcome.failed > 0 {
        notes.push(outcome.failure_note());
        Status::Fail
    } else if platform.check_only() {
        notes.push("type-checked, all targets, x86_64 + aarch64".to_owned());
        Status::CheckOnly
    } else if build_only {
        notes.push("tests built, not run: nats-server runs on Linux here".to_owned());
        Status::CheckOnly
    } else {
        if outcome.binaries == 0 {
            notes.push("no tests ran".to_owned());
        }
        Status::Pass
    };
    if outcome.skips > 0 {
        notes.push(format!(
            "{} conformance case(s) skipped by capability",
            outcome.skips
        ));
    }
    if let Err(e) = finished {
        cell.status = Status::Fail;
        notes.push(e);
    }
    cell.note = notes.join("; ");
    cell
}

/// The program and its arguments, for progress (environment left out).
fn command_line(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    // xtask's manifest is `<root>/xtask/Cargo.toml`.
    let manifest = env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("xtask"), PathBuf::from);
    manifest
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_names_a_known_backend_and_a_package_of_the_workspace() {
        let root = workspace_root();
        for row in ROWS {
            assert!(BACKENDS.contains(&row.backend), "{}", row.backend);
            assert!(root.join(row.dir).join("Cargo.toml").exists(), "{}", row.dir);
        }
        for backend in BACKENDS {
            assert!(
                ROWS.iter()
                    .any(|r| r.backend == *backend && r.package != "transport-adapters")
            );
        }
    }

    #[test]
    fn adapter_rows_select_one_backend_without_defaults() {
        let row = ROWS
            .iter()
            .find(|r| r.dir == "adapters" && r.backend == "pipe")
            .unwrap();
        assert_eq!(
            row.cargo_args(),
            [
                "--package",
                "transport-adapters",
                "--no-default-features",
                "--features",
                "pipe"
            ]
        );
        assert_eq!(row.features_label(), "transport-adapters/pipe");
        assert_eq!(ROWS[0].features_label(), "transport-core/conformance");
        assert_eq!(ROWS[1].features_label(), "transport-queue/default");
    }

    #[test]
    fn each_backend_has_an_adapters_row_but_local() {
        for backend in BACKENDS.iter().filter(|b| **b != "local") {
            let rows: Vec<&Row> = ROWS
                .iter()
                .filter(|r| r.dir == "adapters" && r.backend == *backend)
                .collect();
            assert_eq!(rows.len(), 1, "{backend}");
            assert_eq!(rows[0].features, [*backend]);
            assert!(!rows[0].default_features);
        }
        let nats = ROWS
            .iter()
            .find(|r| r.dir == "adapters" && r.backend == "nats")
            .unwrap();
        assert_eq!(nats.service, Service::NatsServerAtUrl);
        assert!(ROWS.iter().all(|r| r.service.nats() == (r.backend == "nats")));
    }
}
