//! The machine's state around each run (see [`crate::state`]): the probes
//! in `machine.json`, and in `results.md` how many runs each state holds
//! and the goals of issue 13 checked within one state.

use std::fmt::Write;

use super::{
    figures_where,
    goals::{Outcome, WITHIN_STATE},
};
use crate::{
    json::{self, Value},
    state::{NEAR_MAX_NS, Placement, State},
    suite::Measurement,
};

/// What the probe measures, in the reports' words.
const PROBE: &str = "a cache line passed from CPU 0 to CPU 1 and back, ns per round trip \
                     (the fastest of 5 batches of 2,000), before and after each run";

/// Runs by label: near, far, mixed, unknown.
fn counts(measurements: &[Measurement]) -> [(&'static str, usize); 4] {
    let mut out = [("near", 0), ("far", 0), ("mixed", 0), ("unknown", 0)];
    for s in measurements.iter().flat_map(|m| &m.states) {
        if let Some(c) = out.iter_mut().find(|(l, _)| *l == s.label()) {
            c.1 += 1;
        }
    }
    out
}

/// The `machine_state` object of `machine.json`: the probe, the threshold,
/// the runs per state, and both probes of every run.
pub fn json(measurements: &[Measurement]) -> String {
    let runs: Vec<String> = measurements
        .iter()
        .flat_map(|m| {
            m.states.iter().enumerate().map(move |(i, s)| {
                json::object(&[
                    ("subject", Value::Str(m.row.subject.into())),
                    ("mode", Value::Str(m.row.mode.into())),
                    ("pattern", Value::Str(m.bench.pattern.as_str().into())),
                    ("payload", Value::Int(m.bench.payload as i64)),
                    ("run", Value::Int(i as i64 + 1)),
                    ("before_ns", Value::Num(s.before_ns.unwrap_or(f64::NAN))),
                    ("after_ns", Value::Num(s.after_ns.unwrap_or(f64::NAN))),
                    ("state", Value::Str(s.label().into())),
                ])
            })
        })
        .collect();
    let counts: Vec<(&str, Value)> = counts(measurements)
        .iter()
        .map(|&(l, n)| (l, Value::Int(n as i64)))
        .collect();
    json::object(&[
        ("probe", Value::Str(PROBE.into())),
        ("near_max_ns", Value::Num(NEAR_MAX_NS)),
        ("runs_by_state", Value::Raw(json::object(&counts))),
        ("runs", Value::Raw(format!("[{}]", runs.join(",")))),
    ])
}

/// The median, smallest and largest probe of `placement`.
fn probe_range(measurements: &[Measurement], placement: Placement) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = measurements
        .iter()
        .flat_map(|m| &m.states)
        .flat_map(|s| [s.before_ns, s.after_ns])
        .flatten()
        .filter(|&ns| Placement::of(ns) == placement)
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some((v[v.len() / 2], v[0], v[v.len() - 1]))
}

/// The bullets about the machine's state, under the report's header.
pub fn summary(w: &mut String, measurements: &[Measurement]) {
    let c = counts(measurements);
    let _ = writeln!(
        w,
        "- machine state: {PROBE}; near ≤ {NEAR_MAX_NS:.0} ns < far. Runs: {} near, {} far, \
         {} mixed (the state changed during the run: counted in neither), {} unknown",
        c[0].1, c[1].1, c[2].1, c[3].1
    );
    for p in Placement::ALL {
        if let Some((med, lo, hi)) = probe_range(measurements, p) {
            let _ = writeln!(w, "  - {p}: probe {med:.0} ns (from {lo:.0} to {hi:.0})");
        }
    }
    if c[0].1 > 0 && c[1].1 + c[2].1 > 0 || c[1].1 > 0 && c[2].1 > 0 {
        let _ = writeln!(
            w,
            "- ⚠ the tables below take each figure's median over runs in different machine \
             states, so their ratios mix states; the goals of issue 13 at the end are \
             checked within one state"
        );
    }
}

/// Runs of one goal's side in `placement`.
fn runs_in(
    measurements: &[Measurement],
    who: (&str, &str),
    goal: &super::goals::Goal,
    p: Placement,
) -> usize {
    measurements
        .iter()
        .filter(|m| {
            (m.row.subject, m.row.mode) == who
                && m.bench.pattern == goal.pattern
                && m.bench.payload == goal.payload
        })
        .flat_map(|m| &m.states)
        .filter(|s| s.placement() == Some(p))
        .count()
}

/// The goals of issue 13, each checked on the runs of one state at a time.
pub fn goals(w: &mut String, measurements: &[Measurement]) {
    let _ = writeln!(w, "\n## Goals of issue 13, within one machine state\n");
    let _ = writeln!(
        w,
        "Each cell: ours ÷ peer over the runs probed in that state before and after, \
         and how many runs of each side that is (a ratio from one run per side is noisy).\n"
    );
    let _ = writeln!(w, "| goal | near | far |");
    let _ = writeln!(w, "|---|---:|---:|");
    let per_state: Vec<(Placement, Vec<super::Figure>)> = Placement::ALL
        .iter()
        .map(|&p| {
            (
                p,
                figures_where(measurements, |s: &State| s.placement() == Some(p)),
            )
        })
        .collect();
    for g in WITHIN_STATE {
        let cells: Vec<String> = per_state
            .iter()
            .map(|(p, figures)| match g.check(figures) {
                Outcome::Measured { ratio, met } => format!(
                    "{ratio:.2}× {} ({}+{} runs)",
                    if met { "met" } else { "missed" },
                    runs_in(measurements, g.ours, g, *p),
                    runs_in(measurements, g.peer, g, *p)
                ),
                Outcome::Missing(_) => "–".into(),
            })
            .collect();
        let _ = writeln!(w, "| {} | {} |", g.describe(), cells.join(" | "));
    }
}
