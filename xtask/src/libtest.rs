//! Runs a cargo command, echoing its output as progress, and reads
//! libtest's report lines from it: counts, failed tests, skipped cases.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Command, Stdio},
    thread,
};

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
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// A short account of what went wrong, for a failed cell's note.
    pub fn failure_note(&self) -> String {
        if !self.failures.is_empty() {
            let shown: Vec<&str> = self.failures.iter().take(3).map(String::as_str).collect();
            let more = self.failures.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("failed: {}{more}", shown.join(", "))
        } else if let Some(e) = &self.first_error {
            e.clone()
        } else {
            "cargo failed without a test report".to_owned()
        }
    }
}

/// Runs `cmd`, echoing every line it prints (indented, on stderr) and
/// reading libtest's reports from both of its output streams.
pub fn run(mut cmd: Command) -> Result<Outcome, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    let stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let stderr = child.stderr.take().ok_or("stderr is not piped")?;
    let err = thread::spawn(move || echo(stderr));
    let mut outcome = echo(stdout);
    let status = child.wait().map_err(|e| format!("waiting for {program}: {e}"))?;
    outcome.merge(err.join().unwrap_or_default());
    outcome.success = status.success();
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
pub fn parse_result(line: &str) -> Option<(u64, u64)> {
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

/// Reads libtest's `test some::name ... FAILED` line.
fn failed_test(line: &str) -> Option<&str> {
    line.strip_prefix("test ")?.strip_suffix(" ... FAILED")
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
