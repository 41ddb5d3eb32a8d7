//! The machine and the run, as the report records them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{
    json::{self, Value},
    load,
    peer::{CHILD_CPU, PARENT_CPU},
    plan::Plan,
    subjects::python,
    suite::Measurement,
    sys,
};

/// What the report says about the machine and the run.
#[derive(Debug)]
pub struct Facts {
    /// `full` or `quick`.
    pub plan: &'static str,
    /// Runs per measurement.
    pub reps: usize,
    /// When the run started, UTC.
    pub started: String,
    /// How long it took.
    pub duration: Duration,
    /// The CPU's model.
    pub cpu: String,
    /// Logical CPUs.
    pub cores: usize,
    /// Kernel name and release.
    pub kernel: String,
    /// rustc version, profile and target of the benchmark.
    pub compiler: String,
    /// Python's version, and the start method its peers use.
    pub python: String,
    /// Pinning, and how many runs it applied to.
    pub pinning: String,
    /// The 1-minute load average when the run started.
    pub load_at_start: Option<f64>,
    /// Runs another process disturbed, and runs in all.
    pub disturbed: (usize, usize),
}

impl Facts {
    /// Gathers what can be known before the run.
    pub fn gather(plan: &Plan, reps: usize) -> Self {
        Facts {
            plan: plan.name,
            reps,
            started: utc_now(),
            duration: Duration::ZERO,
            cpu: sys::cpu_model().unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel: sys::kernel().unwrap_or_else(|| std::env::consts::OS.into()),
            compiler: format!(
                "{} ({} profile, {})",
                env!("BENCH_RUSTC_VERSION"),
                env!("BENCH_PROFILE"),
                env!("BENCH_TARGET")
            ),
            python: python::version().map_or_else(
                || format!("not found (`{}`)", python::interpreter()),
                |v| format!("{v}, multiprocessing start method \"spawn\""),
            ),
            pinning: String::new(),
            load_at_start: sys::load_average(),
            disturbed: (0, 0),
        }
    }

    /// Records whether the parent could pin itself.
    pub fn set_parent_pinned(&mut self, pinned: bool) {
        self.pinning = if pinned {
            format!("parent on CPU {PARENT_CPU}, child on CPU {CHILD_CPU}")
        } else {
            "not available on this platform".into()
        };
    }

    /// Adds what is known after the run.
    pub fn finish(&mut self, duration: Duration, measurements: &[Measurement]) {
        self.duration = duration;
        let runs: Vec<_> = measurements.iter().flat_map(|m| &m.runs).collect();
        let pinned = runs.iter().filter(|r| r.pinned).count();
        self.pinning = format!(
            "{}; {pinned} of {} runs pinned on both sides",
            self.pinning,
            runs.len()
        );
        let disturbed = runs.iter().filter(|r| load::disturbed(r.other_cpu_pct)).count();
        self.disturbed = (disturbed, runs.len());
    }

    /// The facts as one JSON object, with `machine_state` (already JSON:
    /// the probes of the machine's state around each run).
    pub fn to_json(&self, machine_state: String) -> String {
        let mut text = json::object(&[
            ("plan", Value::Str(self.plan.into())),
            ("repetitions", Value::Int(self.reps as i64)),
            ("started_utc", Value::Str(self.started.clone())),
            (
                "duration_s",
                Value::Num((self.duration.as_secs_f64() * 10.0).round() / 10.0),
            ),
            ("cpu", Value::Str(self.cpu.clone())),
            ("cores", Value::Int(self.cores as i64)),
            ("kernel", Value::Str(self.kernel.clone())),
            ("compiler", Value::Str(self.compiler.clone())),
            ("python", Value::Str(self.python.clone())),
            ("pinning", Value::Str(self.pinning.clone())),
            (
                "load_average_at_start",
                Value::Num(self.load_at_start.unwrap_or(f64::NAN)),
            ),
            ("disturbed_runs", Value::Int(self.disturbed.0 as i64)),
            ("runs", Value::Int(self.disturbed.1 as i64)),
            ("disturbed_threshold_pct_of_one_cpu", Value::Num(load::FLAG_PCT)),
            ("machine_state", Value::Raw(machine_state)),
        ]);
        text.push('\n');
        text
    }
}

/// The current time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// well-known algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
    }
}
