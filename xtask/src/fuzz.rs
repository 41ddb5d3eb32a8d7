//! `cargo xtask fuzz`: builds and runs every fuzz target of `fuzz/` with
//! cargo-fuzz (libFuzzer), one after the other, for the time asked, then
//! prints a table per target (inputs per second, inputs run, corpus size,
//! crashes) and exits non-zero if any target crashed.
//!
//! - The targets are the `[[bin]]` tables of `fuzz/Cargo.toml`, so a new
//!   target needs nothing here.
//! - cargo-fuzz needs nightly flags: it runs with `RUSTC_BOOTSTRAP=1` on the
//!   toolchain that runs xtask, builds with debug assertions and overflow
//!   checks (`--debug-assertions`, and the fuzz crate's release profile) and
//!   AddressSanitizer. It is installed with `cargo install cargo-fuzz
//!   --locked` when missing (not with `--no-install`).
//! - Each target starts from its committed seeds (`fuzz/seeds/<target>/`,
//!   read only) and a working corpus kept between runs in
//!   `target/fuzz/corpus/<target>/`; crashing inputs go to
//!   `target/fuzz/artifacts/<target>/`, libFuzzer's whole output to
//!   `target/fuzz/logs/<target>.log`, and the table to
//!   `target/fuzz/results.json`.

use std::{
    collections::BTreeSet,
    fs,
    io::{BufRead, BufReader, Read, Write as _},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Mutex, PoisonError},
    thread,
    time::{Duration, Instant},
};

use crate::{
    json::{self, Value},
    kill,
    libfuzzer::Report,
    manifest,
    platform::cargo,
};

/// How long each target runs when no time is given.
const DEFAULT_SECONDS: u64 = 60;
/// libFuzzer's limit on one input, in seconds: a slower input is a hang,
/// reported as a crash (`timeout-…` artifact).
const INPUT_TIMEOUT_SECONDS: u64 = 20;
/// How long past its time a run may go (its last input, the final merge,
/// writing its statistics) before it is killed as hung.
const GRACE: Duration = Duration::from_secs(120);

/// What `cargo xtask fuzz` accepts.
#[derive(Debug, PartialEq)]
struct Options {
    /// How long each target runs.
    seconds: u64,
    /// The targets asked for; empty for all.
    targets: Vec<String>,
    /// Whether cargo-fuzz may be installed.
    install: bool,
}

/// Parses `--minutes N` (fractions allowed), `--seconds N`, `--target a,b`
/// (repeatable) and `--no-install`, as `options.rs` parses the others.
fn parse(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        seconds: DEFAULT_SECONDS,
        targets: Vec::new(),
        install: true,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--minutes" => {
                let text = value()?;
                opts.seconds = match text.parse::<f64>() {
                    Ok(m) if m.is_finite() && m * 60.0 >= 1.0 => (m * 60.0).round() as u64,
                    _ => {
                        return Err(format!(
                            "--minutes takes a number of minutes of at least 1/60, not `{text}`"
                        ));
                    }
                };
            }
            "--seconds" => {
                let text = value()?;
                opts.seconds = match text.parse::<u64>() {
                    Ok(s) if s > 0 => s,
                    _ => return Err(format!("--seconds takes a whole number of seconds, not `{text}`")),
                };
            }
            "--target" => {
                let list = value()?;
                opts.targets
                    .extend(list.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
            }
            "--no-install" => opts.install = false,
            other => return Err(format!("fuzz: unknown option `{other}`")),
        }
    }
    Ok(opts)
}

/// Where the run keeps its files.
struct Dirs {
    /// The fuzz crate (`fuzz/`).
    crate_dir: PathBuf,
    /// `target/fuzz/`.
    out: PathBuf,
}

impl Dirs {
    fn build(&self) -> PathBuf {
        self.out.join("build")
    }
    fn corpus(&self, target: &str) -> PathBuf {
        self.out.join("corpus").join(target)
    }
    fn artifacts(&self, target: &str) -> PathBuf {
        self.out.join("artifacts").join(target)
    }
    fn log(&self, target: &str) -> PathBuf {
        self.out.join("logs").join(format!("{target}.log"))
    }
    fn seeds(&self, target: &str) -> PathBuf {
        self.crate_dir.join("seeds").join(target)
    }
}

/// One target's run.
struct Row {
    target: String,
    report: Report,
    /// Crashing inputs this run wrote.
    crashes: Vec<PathBuf>,
    /// Why the run failed, when it did.
    failure: Option<String>,
}

/// Runs the task; `Ok(false)` when a target crashed or failed.
pub fn run(args: &[String], root: &Path) -> Result<bool, String> {
    let opts = parse(args)?;
    let dirs = Dirs {
        crate_dir: root.join("fuzz"),
        out: crate::bench::target_dir(root).join("fuzz"),
    };
    let known = manifest::bins(&dirs.crate_dir.join("Cargo.toml"))?;
    if known.is_empty() {
        return Err("fuzz/Cargo.toml has no [[bin]] targets".to_owned());
    }
    let targets: Vec<String> = if opts.targets.is_empty() {
        known.clone()
    } else {
        for t in &opts.targets {
            if !known.contains(t) {
                return Err(format!(
                    "unknown fuzz target `{t}` (fuzz/Cargo.toml has {})",
                    known.join(", ")
                ));
            }
        }
        opts.targets.clone()
    };
    ensure_cargo_fuzz(opts.install)?;
    for target in &targets {
        eprintln!("fuzz: building {target}");
        let status = cargo_fuzz(root, &dirs, "build", target)
            .status()
            .map_err(|e| format!("could not start cargo fuzz: {e}"))?;
        if !status.success() {
            return Err(format!("building fuzz target {target} failed ({status})"));
        }
    }
    let mut rows = Vec::new();
    for target in &targets {
        eprintln!("fuzz: running {target} for {} s", opts.seconds);
        let row = run_target(root, &dirs, target, opts.seconds)?;
        if row.failure.is_some() {
            print_tail(&dirs.log(target), 60);
        }
        rows.push(row);
    }
    print_table(&rows, opts.seconds, &dirs);
    write_json(&rows, opts.seconds, &dirs.out.join("results.json"))?;
    Ok(rows.iter().all(|r| r.failure.is_none()))
}

/// `cargo fuzz <action> <target>` with this workspace's settings.
fn cargo_fuzz(root: &Path, dirs: &Dirs, action: &str, target: &str) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .arg("fuzz")
        .arg(action)
        .arg("--fuzz-dir")
        .arg(&dirs.crate_dir)
        .arg("--target-dir")
        .arg(dirs.build())
        .arg("--debug-assertions")
        .arg(target);
    cmd
}

/// Makes sure `cargo fuzz` runs, installing it if it may.
fn ensure_cargo_fuzz(install: bool) -> Result<(), String> {
    let present = |quiet: bool| {
        let mut cmd = Command::new(cargo());
        cmd.args(["fuzz", "--version"]).stdin(Stdio::null());
        if quiet {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        cmd.status().is_ok_and(|s| s.success())
    };
    if present(true) {
        return Ok(());
    }
    if !install {
        return Err("cargo-fuzz is not installed: run `cargo install cargo-fuzz --locked`".to_owned());
    }
    eprintln!("fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let status = Command::new(cargo())
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|e| format!("could not start cargo install: {e}"))?;
    if !status.success() || !present(false) {
        return Err(format!("installing cargo-fuzz failed ({status})"));
    }
    Ok(())
}

/// Runs `target` for `seconds`, reading libFuzzer's output as it comes.
fn run_target(root: &Path, dirs: &Dirs, target: &str, seconds: u64) -> Result<Row, String> {
    let (corpus, artifacts, log) = (dirs.corpus(target), dirs.artifacts(target), dirs.log(target));
    for dir in [&corpus, &artifacts, &dirs.out.join("logs")] {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let before = listing(&artifacts);
    let mut cmd = cargo_fuzz(root, dirs, "run", target);
    // New inputs go to the first corpus folder: the working one, never the
    // committed seeds.
    cmd.arg(&corpus);
    let seeds = dirs.seeds(target);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    let mut prefix = artifacts.clone().into_os_string();
    prefix.push("/");
    cmd.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg("-print_final_stats=1")
        .arg({
            let mut arg = std::ffi::OsString::from("-artifact_prefix=");
            arg.push(&prefix);
            arg
        })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start cargo fuzz: {e}"))?;
    let file = fs::File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let shared = Arc::new(Mutex::new((Report::default(), file)));
    let readers: Vec<_> = [
        Box::new(child.stdout.take().ok_or("stdout is not piped")?) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().ok_or("stderr is not piped")?),
    ]
    .into_iter()
    .map(|stream| {
        let shared = Arc::clone(&shared);
        thread::spawn(move || read_output(stream, &shared))
    })
    .collect();
    let deadline = Instant::now() + Duration::from_secs(seconds) + GRACE;
    let mut hung = false;
    let status = loop {
        match child
            .try_wait()
            .map_err(|e| format!("waiting for cargo fuzz: {e}"))?
        {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                kill::tree(&mut child);
                hung = true;
                break child.wait().map_err(|e| format!("waiting for cargo fuzz: {e}"))?;
            }
            None => thread::sleep(Duration::from_millis(200)),
        }
    };
    for reader in readers {
        let _ = reader.join();
    }
    let report = std::mem::take(&mut shared.lock().unwrap_or_else(PoisonError::into_inner).0);
    let crashes: Vec<PathBuf> = listing(&artifacts).difference(&before).cloned().collect();
    let failure = if hung {
        Some(format!(
            "still running {} s past its time: killed",
            GRACE.as_secs()
        ))
    } else if !crashes.is_empty() || !status.success() {
        Some(
            report
                .error
                .clone()
                .unwrap_or_else(|| format!("cargo fuzz failed ({status}); see {}", log.display())),
        )
    } else {
        None
    };
    Ok(Row {
        target: target.to_owned(),
        report,
        crashes,
        failure,
    })
}

/// Copies `stream` line by line into the log and the report.
fn read_output(stream: impl Read, shared: &Mutex<(Report, fs::File)>) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
        let line = String::from_utf8_lossy(&buf);
        let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
        let (report, file) = &mut *guard;
        let _ = file.write_all(line.as_bytes());
        report.observe(line.trim_end_matches(['\n', '\r']));
        buf.clear();
    }
}

/// The files in `dir`.
fn listing(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Prints the last `n` lines of `log` (a crash's report).
fn print_tail(log: &Path, n: usize) {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    eprintln!("fuzz: the end of {}:", log.display());
    for line in &lines[lines.len().saturating_sub(n)..] {
        eprintln!("    {line}");
    }
}

fn number(n: Option<u64>) -> String {
    n.map_or_else(|| "?".to_owned(), |n| n.to_string())
}

fn print_table(rows: &[Row], seconds: u64, dirs: &Dirs) {
    println!();
    println!(
        "fuzz: {seconds} s per target, working corpus and crashes in {}",
        dirs.out.display()
    );
    println!(
        "{:<20} {:>8} {:>10} {:>14} {:>16} {:>6} {:>8} {:>8}",
        "target", "seconds", "execs/s", "total execs", "corpus", "new", "rss MB", "crashes"
    );
    for row in rows {
        let r = &row.report;
        let corpus = r
            .corpus
            .as_ref()
            .map_or_else(|| "?".to_owned(), |(units, size)| format!("{units} ({size})"));
        println!(
            "{:<20} {:>8} {:>10} {:>14} {:>16} {:>6} {:>8} {:>8}",
            row.target,
            number(r.seconds),
            number(r.rate()),
            number(r.execs),
            corpus,
            number(r.new_units),
            number(r.peak_rss_mb),
            row.crashes.len()
        );
    }
    for row in rows {
        if let Some(why) = &row.failure {
            println!("FAILED {}: {why}", row.target);
            for path in &row.crashes {
                println!(
                    "    {} (reproduce: cargo fuzz run --fuzz-dir fuzz {} {})",
                    path.display(),
                    row.target,
                    path.display()
                );
            }
        }
    }
}

fn write_json(rows: &[Row], seconds: u64, path: &Path) -> Result<(), String> {
    let opt = |n: Option<u64>| n.map_or(Value::Num(f64::NAN), |n| Value::Int(n as i64));
    let items: Vec<String> = rows
        .iter()
        .map(|row| {
            let r = &row.report;
            json::object(&[
                ("target", Value::Str(row.target.clone())),
                ("seconds_asked", Value::Int(seconds as i64)),
                ("seconds", opt(r.seconds)),
                ("execs_per_sec", opt(r.rate())),
                ("execs", opt(r.execs)),
                ("corpus_units", opt(r.corpus.as_ref().map(|c| c.0))),
                ("new_units", opt(r.new_units)),
                ("peak_rss_mb", opt(r.peak_rss_mb)),
                ("crashes", Value::Int(row.crashes.len() as i64)),
                ("failure", Value::Str(row.failure.clone().unwrap_or_default())),
            ])
        })
        .collect();
    fs::write(path, json::array(&items)).map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Options, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&args)
    }

    #[test]
    fn times_and_targets() {
        let o = parse_args(&[]).unwrap();
        assert_eq!(
            (o.seconds, o.targets.len(), o.install),
            (DEFAULT_SECONDS, 0, true)
        );
        let o = parse_args(&[
            "--minutes",
            "0.5",
            "--target=a,b",
            "--target",
            "c",
            "--no-install",
        ])
        .unwrap();
        assert_eq!(o.seconds, 30);
        assert_eq!(o.targets, ["a", "b", "c"]);
        assert!(!o.install);
        assert_eq!(parse_args(&["--minutes=10"]).unwrap().seconds, 600);
        assert_eq!(parse_args(&["--seconds", "45"]).unwrap().seconds, 45);
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        assert!(parse_args(&["--minutes", "0"]).unwrap_err().contains("minutes"));
        assert!(parse_args(&["--minutes", "soon"]).unwrap_err().contains("soon"));
        assert!(parse_args(&["--seconds", "-3"]).unwrap_err().contains("-3"));
        assert!(parse_args(&["--target"]).unwrap_err().contains("needs a value"));
        assert!(parse_args(&["--forever"]).unwrap_err().contains("--forever"));
    }
}
