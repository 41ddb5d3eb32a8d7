//! Runs a cargo command, echoing its output as progress, and reads
//! libtest's report lines from it: counts, failed tests, skipped cases.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use crate::kill;

/// What a cargo run printed, summed over its test binaries.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Cargo exited with success.
    pub success: bool,
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// `test result:` lines seen (one per test binary that ran).
    pub binaries: u64,
    /// Conformance cases that said they do not apply.
    pub skips: u64,
    /// Names of the tests that failed.
    pub failures: Vec<String>,
    /// The first error cargo, rustc (or apt-get) reported, if any.
    pub first_error: Option<String>,
    /// The run was killed at its time limit.
    pub timed_out: bool,
    /// The test binary cargo started last (`tests/conformance.rs`).
    pub running: Option<String>,
    /// Tests libtest said have been running for over 60 seconds.
    pub slow: Vec<String>,
    /// Test binaries that ended without their `test result:` line, as
    /// cargo names them, with how they ended (a crash, say).
    pub crashed: Vec<String>,
    /// Cargo ended but its output stayed open: a process the tests started
    /// outlived them (it was killed).
    pub left_running: bool,
}

impl Outcome {
    fn observe(&mut self, line: &str) {
        let line = line.trim_end();
        if let Some((p, f)) = parse_result(line) {
            self.passed += p;
            self.failed += f;
            self.binaries += 1;
        } else if line.starts_with("conformance: SKIP") {
            self.skips += 1;
        } else if let Some(name) = failed_test(line) {
            self.failures.push(name.to_owned());
        } else if let Some(how) = abnormal_exit(line) {
            self.crashed.push(how);
        } else if let Some(name) = slow_test(line) {
            // A child re-executing the test binary says it too.
            if !self.slow.iter().any(|n| n == name) {
                self.slow.push(name.to_owned());
            }
        } else if let Some(target) = line.trim_start().strip_prefix("Running ") {
            // "Running tests/conformance.rs (target/debug/deps/conformance-…)"
            let target = target.split(" (").next().unwrap_or(target);
            self.running = Some(target.to_owned());
        } else if self.first_error.is_none() && (line.starts_with("error") || line.starts_with("E: ")) {
            // cargo and rustc say `error`, apt-get says `E:`.
            self.first_error = Some(line.to_owned());
        }
    }

    fn merge(&mut self, other: Outcome) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.binaries += other.binaries;
        self.skips += other.skips;
        self.failures.extend(other.failures);
        self.crashed.extend(other.crashed);
        for name in other.slow {
            if !self.slow.contains(&name) {
                self.slow.push(name);
            }
        }
        if other.running.is_some() {
            self.running = other.running;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// A short account of what went wrong, for a failed cell's note.
    pub fn failure_note(&self) -> String {
        if self.timed_out {
            let slow: Vec<&str> = self.slow.iter().map(String::as_str).collect();
            let mut note = format!("in {}", self.running.as_deref().unwrap_or("the build"));
            if !slow.is_empty() {
                note.push_str(&format!(", still running: {}", slow.join(", ")));
            }
            note
        } else if !self.failures.is_empty() {
            let shown: Vec<&str> = self.failures.iter().take(3).map(String::as_str).collect();
            let more = self.failures.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("failed: {}{more}", shown.join(", "))
        } else if self.left_running {
            format!(
                "a process the tests started still ran {}s after cargo ended (it held the output open); killed it",
                LINGER.as_secs()
            )
        } else if !self.crashed.is_empty() {
            format!("ended without a test report: {}", self.crashed.join("; "))
        } else if let Some(e) = &self.first_error {
            e.clone()
        } else {
            "cargo failed without a test report".to_owned()
        }
    }
}

/// How long the output may stay open after cargo ended: a process the
/// tests started that still holds it then outlived them (a leak), and
/// would otherwise keep the run waiting for ever.
pub const LINGER: Duration = Duration::from_secs(30);

/// Runs `cmd`, echoing every line it prints (indented, on stderr) and
/// reading libtest's reports from both of its output streams.
///
/// With a `limit`, a run still going when it is up is killed with all its
/// processes, then `stop` runs (to end what the process tree does not show,
/// such as Wine's processes), and the outcome says it timed out. A run
/// whose output stays open [`LINGER`] after cargo ended left a process
/// running: `stop` runs, and the outcome says so and fails.
pub fn run(cmd: Command, limit: Option<Duration>, stop: &dyn Fn()) -> Result<Outcome, String> {
    run_lingering(cmd, limit, LINGER, stop)
}

/// [`run`], with the output allowed to stay open `linger` after cargo ended.
fn run_lingering(
    mut cmd: Command,
    limit: Option<Duration>,
    linger: Duration,
    stop: &dyn Fn(),
) -> Result<Outcome, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let stderr = child.stderr.take().ok_or("stderr is not piped")?;
    for stream in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
        let tx = tx.clone();
        thread::spawn(move || {
            let _ = tx.send(echo(stream));
        });
    }
    drop(tx);
    let deadline = limit.map(|l| Instant::now() + l);
    let mut timed_out = false;
    let status = loop {
        match child
            .try_wait()
            .map_err(|e| format!("waiting for {program}: {e}"))?
        {
            Some(status) => break status,
            None if deadline.is_some_and(|d| Instant::now() >= d) => {
                kill::tree(&mut child);
                stop();
                timed_out = true;
                break child.wait().map_err(|e| format!("waiting for {program}: {e}"))?;
            }
            None => thread::sleep(Duration::from_millis(100)),
        }
    };
    // The streams end when every process holding them has ended; a
    // straggler (one that escaped a timeout's kill, or that the tests left
    // running) must not hang xtask too.
    let mut outcome = Outcome::default();
    let mut parts = 0;
    let mut until = Instant::now()
        + if timed_out {
            Duration::from_secs(10)
        } else {
            linger
        };
    let mut stopped = timed_out;
    while parts < 2 {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(part) => {
                outcome.merge(part);
                parts += 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) if !stopped => {
                outcome.left_running = true;
                stop();
                stopped = true;
                until = Instant::now() + Duration::from_secs(10);
            }
            Err(_) => break,
        }
    }
    outcome.success = status.success() && !timed_out && !outcome.left_running;
    outcome.timed_out = timed_out;
    Ok(outcome)
}

fn echo(stream: impl Read) -> Outcome {
    let mut outcome = Outcome::default();
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    // Lines, not `lines()`: a test may print bytes that are not UTF-8.
    while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        eprintln!("    {line}");
        outcome.observe(line);
        buf.clear();
    }
    outcome
}

/// Reads libtest's `test result: ok. 18 passed; 0 failed; ...` line.
///
/// The line may follow a child's unfinished `test name ... ` on the same
/// line: a re-executed test binary prints its own progress to the same
/// stream.
pub fn parse_result(line: &str) -> Option<(u64, u64)> {
    let at = line.find("test result: ")?;
    let rest = &line[at + "test result: ".len()..];
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

/// Reads libtest's `test some::name has been running for over 60 seconds`.
fn slow_test(line: &str) -> Option<&str> {
    line.strip_prefix("test ")?
        .strip_suffix(" has been running for over 60 seconds")
}

/// Reads cargo's ``process didn't exit successfully: `…/conformance-1.exe`
/// (exit code: 0xc0000005, STATUS_ACCESS_VIOLATION)``: the binary's file
/// name and how it ended. Only for a binary that gave no failed test (one
/// that did is named by its failures).
fn abnormal_exit(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("process didn't exit successfully: `")?;
    let (path, how) = rest.split_once('`')?;
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let how = how.trim().trim_start_matches('(').trim_end_matches(')');
    Some(format!("{name} ({how})"))
}

/// Reads libtest's `test some::name ... FAILED` line, which may follow a
/// child's unfinished `test other ... ` (see [`parse_result`]).
fn failed_test(line: &str) -> Option<&str> {
    let head = line.strip_suffix(" ... FAILED")?;
    let at = head.rfind("test ")?;
    (at == 0 || head[..at].ends_with(" ... ")).then(|| &head[at + "test ".len()..])
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
        assert_eq!(
            parse_result("test from_a_child ... test result: FAILED. 28 passed; 1 failed; 0 ignored"),
            Some((28, 1))
        );
        assert_eq!(failed_test("test a ... test b ... FAILED"), Some("b"));
        assert_eq!(failed_test("test b ... FAILED"), Some("b"));
        assert_eq!(failed_test("thread 'x' said test b ... FAILED"), None);
    }

    #[test]
    fn a_process_left_holding_the_output_is_stopped_and_fails_the_run() {
        let marker = std::env::temp_dir().join(format!("xtask-linger-{}", std::process::id()));
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("sleep 600 & echo $! > \"$1\"; echo 'test result: ok. 1 passed; 0 failed; 0 ignored'")
            .arg("sh")
            .arg(&marker);
        let stop = || {
            let pid = std::fs::read_to_string(&marker).expect("the straggler's pid");
            let _ = Command::new("kill").arg("-KILL").arg(pid.trim()).status();
        };
        let outcome = run_lingering(cmd, None, Duration::from_secs(1), &stop).expect("a run");
        let _ = std::fs::remove_file(&marker);
        assert_eq!(outcome.passed, 1);
        assert!(outcome.left_running, "{outcome:?}");
        assert!(!outcome.success);
        assert!(
            outcome.failure_note().contains("still ran"),
            "{}",
            outcome.failure_note()
        );
    }

    #[test]
    fn tallies_a_run() {
        let mut o = Outcome::default();
        for line in [
            "running 2 tests",
            "conformance: SKIP peer_killed on backend `local`: threads",
            "test fifo_to_child ... ok",
            "test too_large ... FAILED",
            "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\r",
            "error: test failed, to rerun pass `--test conformance`",
        ] {
            o.observe(line);
        }
        assert_eq!((o.passed, o.failed, o.binaries, o.skips), (1, 1, 1, 1));
        assert_eq!(o.failures, ["too_large"]);
        assert_eq!(o.failure_note(), "failed: too_large");
    }

    #[test]
    fn a_binary_that_crashed_is_named_with_how_it_ended() {
        let mut o = Outcome::default();
        for line in [
            "test fifo_to_child ... ok",
            "error: test failed, to rerun pass `-p transport-pipe --test conformance`",
            "",
            "Caused by:",
            "  process didn't exit successfully: `/t/debug/deps/conformance-2.exe` (exit code: 0xc0000005, STATUS_ACCESS_VIOLATION)",
        ] {
            o.observe(line);
        }
        assert_eq!(
            o.failure_note(),
            "ended without a test report: conformance-2.exe (exit code: 0xc0000005, STATUS_ACCESS_VIOLATION)"
        );
    }

    #[test]
    fn a_killed_run_names_what_was_running() {
        let mut o = Outcome::default();
        for line in [
            "     Running unittests src/lib.rs (target/debug/deps/transport_core-1)",
            "     Running tests/conformance.rs (target/debug/deps/conformance-2)",
            "test fifo_from_child has been running for over 60 seconds",
        ] {
            o.observe(line);
        }
        o.timed_out = true;
        assert_eq!(
            o.failure_note(),
            "in tests/conformance.rs, still running: fifo_from_child"
        );
    }

    #[test]
    fn a_build_error_is_the_note_when_no_test_failed() {
        let mut o = Outcome::default();
        o.observe("error[E0425]: cannot find value `x` in this scope");
        o.observe("error: could not compile `transport-pipe`");
        assert_eq!(
            o.failure_note(),
            "error[E0425]: cannot find value `x` in this scope"
        );
    }
}
