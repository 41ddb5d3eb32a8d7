//! Peers: Python's `multiprocessing` — `Queue` put/get of bytes, `Pipe`
//! `send_bytes`/`recv_bytes`, and `Value` + `Lock` increments — through the
//! system `python3` (or `$TRANSPORT_BENCH_PYTHON`) running
//! `python/mp_peers.py`, which spawns its own child and prints one
//! `result` line.

use std::process::{Command, Stdio};

use crate::{
    measure::{Job, Run},
    peer::Spawn,
};

/// The script, next to this crate's sources.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/mp_peers.py");

/// The Python interpreter to run.
pub fn interpreter() -> String {
    std::env::var("TRANSPORT_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// The interpreter's version line, if it runs.
pub fn version() -> Option<String> {
    let out = Command::new(interpreter()).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .trim()
    .to_owned();
    (!text.is_empty()).then_some(text)
}

/// The parent's side: runs the script for this job and reads its result.
pub fn parent(job: &Job) -> Result<Run, String> {
    let kind = job
        .subject
        .strip_prefix("python-")
        .ok_or_else(|| format!("`{}` is not a Python subject", job.subject))?;
    let mut cmd = Command::new(interpreter());
    cmd.arg(SCRIPT)
        .args(["--kind", kind, "--pattern", job.pattern.as_str()])
        .args(["--payload", &job.payload.to_string()])
        .args(["--count", &job.count.to_string()])
        .args(["--warmup", &job.warmup.to_string()])
        .args(["--limit", &job.limit.as_secs().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    run_script(cmd, job.limit)
}

/// Runs a Python peer script and reads its `result` line.
pub fn run_script(cmd: Command, limit: std::time::Duration) -> Result<Run, String> {
    let mut child = Spawn::from_command(cmd)
        .start(limit)
        .map_err(|e| format!("{e} (is `{}` installed?)", interpreter()))?;
    let mut result = None;
    while let Some(line) = child.line()? {
        if let Some(rest) = line.strip_prefix("result ") {
            result = Some(rest.to_owned());
        }
    }
    child.finish()?;
    parse_result(&result.ok_or("the script printed no result")?)
}

fn parse_result(line: &str) -> Result<Run, String> {
    let mut run = Run::default();
    for (key, value) in line.split_whitespace().filter_map(|kv| kv.split_once('=')) {
        let number: f64 = value
            .parse()
            .map_err(|_| format!("the script's `{key}={value}` is not a number"))?;
        match key {
            "pinned" => run.pinned = number == 1.0,
            "other_cpu_pct" => run.other_cpu_pct = Some(number),
            "p50_us" => run.metrics.push(("p50_us", number)),
            "p99_us" => run.metrics.push(("p99_us", number)),
            "p999_us" => run.metrics.push(("p999_us", number)),
            "msgs_per_s" => run.metrics.push(("msgs_per_s", number)),
            "mb_per_s" => run.metrics.push(("mb_per_s", number)),
            "ops_per_s" => run.metrics.push(("ops_per_s", number)),
            "tasks_per_s" => run.metrics.push(("tasks_per_s", number)),
            // Which chunk size gave the pool figure: printed, not recorded.
            "chunksize" => {}
            other => return Err(format!("the script reported an unknown figure `{other}`")),
        }
    }
    if run.metrics.is_empty() {
        return Err("the script's result has no figures".into());
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_result_line() {
        let run = parse_result("pinned=1 other_cpu_pct=2.5 p50_us=40 p99_us=60 p999_us=90").unwrap();
        assert!(run.pinned);
        assert_eq!(run.other_cpu_pct, Some(2.5));
        assert_eq!(run.metrics[0], ("p50_us", 40.0));
        assert!(parse_result("pinned=1 bogus=3").is_err());
        assert!(parse_result("pinned=1").is_err());
    }
}
