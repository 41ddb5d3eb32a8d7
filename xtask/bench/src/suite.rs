//! The whole run: every selected row, every measurement, repeated, then
//! the report.

use std::{path::PathBuf, time::Instant};

use crate::{
    measure::{Job, Run},
    peer,
    plan::{self, Plan},
    report::{self, Facts},
    state::{self, State},
    subjects::{self, Bench, ROWS, Row},
};

/// The command line.
#[derive(Debug)]
pub struct Options {
    /// The reduced smoke-test run.
    pub quick: bool,
    /// Only these subjects (all when empty).
    pub subjects: Vec<String>,
    /// Only rows in these modes (all when empty).
    pub modes: Vec<String>,
    /// Runs per measurement.
    pub reps: usize,
    /// Where the outputs go.
    pub out: PathBuf,
}

/// At least this many runs per measurement.
const MIN_REPS: usize = 3;

impl Options {
    /// Parses the command line.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut opts = Options {
            quick: false,
            subjects: Vec::new(),
            modes: Vec::new(),
            reps: MIN_REPS,
            out: PathBuf::from("target/bench"),
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--quick" => opts.quick = true,
                "--subjects" => {
                    let list = value("--subjects")?;
                    opts.subjects
                        .extend(list.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
                }
                "--modes" => {
                    let list = value("--modes")?;
                    opts.modes
                        .extend(list.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
                }
                "--reps" => {
                    let n = value("--reps")?;
                    opts.reps = n.parse().map_err(|_| format!("--reps `{n}` is not a number"))?;
                }
                "--out" => opts.out = PathBuf::from(value("--out")?),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        if opts.reps < MIN_REPS {
            return Err(format!("--reps must be at least {MIN_REPS}"));
        }
        let known = subjects::subject_names();
        for s in &opts.subjects {
            if !known.contains(&s.as_str()) {
                return Err(format!(
                    "unknown subject `{s}`; the subjects are {}",
                    known.join(", ")
                ));
            }
        }
        let modes = subjects::mode_names();
        for m in &opts.modes {
            if !modes.contains(&m.as_str()) {
                return Err(format!("unknown mode `{m}`; the modes are {}", modes.join(", ")));
            }
        }
        Ok(opts)
    }

    fn wants(&self, row: &Row) -> bool {
        (self.subjects.is_empty() || self.subjects.iter().any(|s| s == row.subject))
            && (self.modes.is_empty() || self.modes.iter().any(|m| m == row.mode))
    }
}

/// One measurement of one row, and its runs.
#[derive(Debug)]
pub struct Measurement {
    /// The row.
    pub row: &'static Row,
    /// What is measured.
    pub bench: Bench,
    /// The runs that succeeded.
    pub runs: Vec<Run>,
    /// The machine's state around each of them (the same order).
    pub states: Vec<State>,
    /// Why the others failed.
    pub failures: Vec<String>,
}

/// Runs everything `opts` selects and writes the report. `Ok(false)` when a
/// run of ours failed, or every run of a peer's measurement did (the report
/// is still written).
pub fn run(opts: Options) -> Result<bool, String> {
    let plan: Plan = if opts.quick { plan::QUICK } else { plan::FULL };
    let started = Instant::now();
    // Before pinning: the CPU count would otherwise see one CPU.
    let mut facts = Facts::gather(&plan, opts.reps);
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    facts.set_parent_pinned(parent_pinned);
    let rows: Vec<&'static Row> = ROWS.iter().filter(|r| opts.wants(r)).collect();
    let mut measurements: Vec<Measurement> = rows
        .iter()
        .flat_map(|&row| {
            row.benches.iter().map(move |&bench| Measurement {
                row,
                bench,
                runs: Vec::new(),
                states: Vec::new(),
                failures: Vec::new(),
            })
        })
        .collect();
    eprintln!(
        "transport-bench: {} run, {} measurements × {} repetitions, parent on CPU {} ({})",
        plan.name,
        measurements.len(),
        opts.reps,
        peer::PARENT_CPU,
        if parent_pinned { "pinned" } else { "not pinned" }
    );
    let iceoryx2_before = subjects::iceoryx2::census();
    let crossbar_before = subjects::crossbar::census();
    // Repetition-major, so a burst of load elsewhere spreads over subjects
    // instead of spoiling all runs of one.
    for rep in 1..=opts.reps {
        for m in measurements.iter_mut() {
            let parent = m.row.runner.parent;
            let (count, warmup) = plan.counts(&m.bench);
            let job = Job {
                subject: m.row.subject,
                mode: m.row.mode,
                pattern: m.bench.pattern,
                payload: m.bench.payload,
                count,
                warmup,
                limit: plan.limit,
            };
            eprint!(
                "[{rep}/{}] {:<13} {:<10} {:<15} {:>8} B ... ",
                opts.reps,
                job.subject,
                job.mode,
                job.pattern.as_str(),
                job.payload
            );
            // The probe runs while no child does, so it measures the
            // machine, not the run.
            let before = state::probe();
            let t0 = Instant::now();
            let outcome = parent(&job);
            let took = t0.elapsed();
            let around = State {
                before_ns: before,
                after_ns: state::probe(),
            };
            match outcome {
                Ok(run) => {
                    eprintln!(
                        "{} [{}] ({:.1} s)",
                        report::summary(&run),
                        around.describe(),
                        took.as_secs_f64()
                    );
                    m.runs.push(run);
                    m.states.push(around);
                }
                Err(e) => {
                    eprintln!("FAILED: {e}");
                    m.failures.push(e);
                }
            }
        }
    }
    subjects::iceoryx2::remove_new(&iceoryx2_before);
    subjects::crossbar::remove_new(&crossbar_before);
    subjects::nats::stop();
    facts.finish(started.elapsed(), &measurements);
    report::write(&opts.out, &facts, &measurements)?;
    // A failed run of ours fails the task. A peer's failed run is reported
    // (results.md, "Failed runs") and fails the task only when no run of
    // that measurement succeeded: a peer such as core NATS, which has no
    // flow control and drops what a slow subscriber cannot take, may stall
    // one run on a busy machine.
    Ok(measurements
        .iter()
        .all(|m| m.failures.is_empty() || (m.row.side == subjects::Side::Peer && !m.runs.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn modes_select_rows_within_subjects() {
        let opts = parse(&["--subjects", "shm", "--modes", "validated,unchecked"]).unwrap();
        let picked: Vec<(&str, &str)> = ROWS
            .iter()
            .filter(|r| opts.wants(r))
            .map(|r| (r.subject, r.mode))
            .collect();
        assert!(picked.contains(&("shm", "validated")));
        assert!(picked.contains(&("shm", "unchecked")));
        assert!(
            picked
                .iter()
                .all(|&(s, m)| s == "shm" && (m == "validated" || m == "unchecked"))
        );
        let all_shm = parse(&["--subjects", "shm"]).unwrap();
        assert!(ROWS.iter().filter(|r| all_shm.wants(r)).count() > picked.len());
    }

    #[test]
    fn unknown_mode_is_refused() {
        let err = parse(&["--modes", "no-such-mode"]).unwrap_err();
        assert!(err.contains("unknown mode `no-such-mode`"), "{err}");
    }
}
