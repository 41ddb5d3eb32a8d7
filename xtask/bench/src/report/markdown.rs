//! `results.md`: the tables, ours and peers side by side, ratios, goals.

use std::fmt::Write;

use super::{
    Facts, Figure, find,
    goals::{GOALS, Outcome, size},
};
use crate::{load, measure::Pattern, subjects::Side, suite::Measurement};

/// A number with about three significant digits: `1.16 M`, `968 k`,
/// `5,692`, `13.0`, `0.741`.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 1e7 {
        format!("{:.1} M", v / 1e6)
    } else if a >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if a >= 1e5 {
        format!("{:.0} k", v / 1e3)
    } else if a >= 1e3 {
        let n = v.round() as i64;
        let s = n.abs().to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 { format!("-{out}") } else { out }
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A figure's cell: median, spread, and a flag for disturbed runs.
fn cell(f: Option<&Figure>) -> String {
    match f {
        None => "–".into(),
        Some(f) => {
            let flag = if f.disturbed > 0 { " ⚠" } else { "" };
            format!("{} ±{:.0}%{flag}", number(f.median), f.spread_pct())
        }
    }
}

fn ratio(ours: Option<&Figure>, peer: Option<&Figure>) -> String {
    match (ours, peer) {
        (Some(o), Some(p)) if p.median > 0.0 => format!("{:.2}×", o.median / p.median),
        _ => "–".into(),
    }
}

/// The subjects and modes that have figures, in row order.
fn measured_rows(
    measurements: &[Measurement],
    benches_of: fn(&Measurement) -> bool,
) -> Vec<(&'static str, &'static str, Side)> {
    let mut rows = Vec::new();
    for m in measurements.iter().filter(|m| benches_of(m)) {
        let key = (m.row.subject, m.row.mode, m.row.side);
        if !rows.contains(&key) {
            rows.push(key);
        }
    }
    rows
}

fn is_stream(m: &Measurement) -> bool {
    [
        crate::subjects::STREAM,
        crate::subjects::STREAM_SMALL,
        crate::subjects::THROUGHPUT,
    ]
    .contains(&m.row.benches)
}

fn is_structured(m: &Measurement) -> bool {
    m.row.benches == crate::subjects::STRUCTURED
}

fn is_listener(m: &Measurement) -> bool {
    m.row.benches == crate::subjects::LISTENER
}

fn is_lock(m: &Measurement) -> bool {
    m.bench.pattern == Pattern::LockIncrements
}

fn is_pool(m: &Measurement) -> bool {
    m.bench.pattern == Pattern::Pool
}

fn is_async(m: &Measurement) -> bool {
    m.row.mode == "async"
}

/// The sync mode an async row is compared with: the backend's default
/// waiting mode (shm blocks by default; the others have one mode).
fn sync_mode_of(subject: &str) -> &'static str {
    if subject == "shm" { "blocking" } else { "default" }
}

/// Renders the whole report.
pub fn render(facts: &Facts, measurements: &[Measurement], figures: &[Figure]) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# `cargo xtask bench` ({} run)\n", facts.plan);
    let _ = writeln!(
        w,
        "- started: {}, took {:.0} s",
        facts.started,
        facts.duration.as_secs_f64()
    );
    let _ = writeln!(w, "- CPU: {}, {} logical CPUs", facts.cpu, facts.cores);
    let _ = writeln!(w, "- kernel: {}", facts.kernel);
    let _ = writeln!(w, "- compiler: {}", facts.compiler);
    let _ = writeln!(w, "- Python: {}", facts.python);
    let _ = writeln!(w, "- pinning: {}", facts.pinning);
    if let Some(l) = facts.load_at_start {
        let _ = writeln!(w, "- load average at start: {l:.2}");
    }
    let _ = writeln!(
        w,
        "- each figure is the median of {} runs; ±: half the range of the runs, in % of the median",
        facts.reps
    );
    let _ = writeln!(
        w,
        "- ⚠: in at least one run of that figure, other processes took ≥ {:.0} % of a CPU \
         ({} of {} runs flagged; the machine is shared)",
        load::FLAG_PCT,
        facts.disturbed.0,
        facts.disturbed.1
    );
    let _ = writeln!(
        w,
        "- every receiver reads every payload byte; senders copy the payload in; MB = 10^6 B"
    );
    super::states::summary(w, measurements);
    let _ = writeln!(w);

    let stream = measured_rows(measurements, is_stream);
    let _ = writeln!(w, "## Round trip and throughput\n");
    let _ = writeln!(
        w,
        "| subject | mode | RTT 64 B p50 µs | p99 µs | p99.9 µs | msgs/s 64 B | MB/s 64 B | MB/s 4 KiB | MB/s 1 MiB |"
    );
    let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for &(s, m, side) in &stream {
        let f = |p, n, metric| find(figures, s, m, p, n, metric);
        let name = if side == Side::Ours {
            format!("**{s}**")
        } else {
            s.to_owned()
        };
        let _ = writeln!(
            w,
            "| {name} | {m} | {} | {} | {} | {} | {} | {} | {} |",
            cell(f(Pattern::Rtt, 64, "p50_us")),
            cell(f(Pattern::Rtt, 64, "p99_us")),
            cell(f(Pattern::Rtt, 64, "p999_us")),
            cell(f(Pattern::Throughput, 64, "msgs_per_s")),
            cell(f(Pattern::Throughput, 64, "mb_per_s")),
            cell(f(Pattern::Throughput, 4096, "mb_per_s")),
            cell(f(Pattern::Throughput, 1 << 20, "mb_per_s")),
        );
    }

    let ours: Vec<_> = stream.iter().filter(|r| r.2 == Side::Ours).collect();
    let peers: Vec<_> = stream.iter().filter(|r| r.2 == Side::Peer).collect();
    if !ours.is_empty() && !peers.is_empty() {
        let _ = writeln!(w, "\n## Ratios, ours ÷ peer, same run\n");
        let _ = writeln!(w, "RTT: lower is better; msgs/s and MB/s: higher is better.\n");
        let _ = writeln!(
            w,
            "| ours | peer | RTT 64 B p50 | msgs/s 64 B | MB/s 4 KiB | MB/s 1 MiB |"
        );
        let _ = writeln!(w, "|---|---|---:|---:|---:|---:|");
        for &&(os, om, _) in &ours {
            for &&(ps, pm, _) in &peers {
                let r = |p, n, metric| {
                    ratio(
                        find(figures, os, om, p, n, metric),
                        find(figures, ps, pm, p, n, metric),
                    )
                };
                let _ = writeln!(
                    w,
                    "| {os} {om} | {ps} {pm} | {} | {} | {} | {} |",
                    r(Pattern::Rtt, 64, "p50_us"),
                    r(Pattern::Throughput, 64, "msgs_per_s"),
                    r(Pattern::Throughput, 4096, "mb_per_s"),
                    r(Pattern::Throughput, 1 << 20, "mb_per_s"),
                );
            }
        }
    }

    let structured = measured_rows(measurements, is_structured);
    if !structured.is_empty() {
        let _ = writeln!(
            w,
            "\n## Structured 256 B message: validated, unchecked and serde receive\n"
        );
        let _ = writeln!(
            w,
            "| subject | mode | RTT p50 µs | p99 µs | msgs/s | RTT p50 ÷ unchecked | msgs/s ÷ validated |"
        );
        let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|");
        for &(s, m, _) in &structured {
            let f = |p, metric| find(figures, s, m, p, 256, metric);
            let vs = ratio(
                f(Pattern::Rtt, "p50_us"),
                find(figures, s, "unchecked", Pattern::Rtt, 256, "p50_us"),
            );
            let rate = ratio(
                f(Pattern::Throughput, "msgs_per_s"),
                find(figures, s, "validated", Pattern::Throughput, 256, "msgs_per_s"),
            );
            let _ = writeln!(
                w,
                "| {s} | {m} | {} | {} | {} | {vs} | {rate} |",
                cell(f(Pattern::Rtt, "p50_us")),
                cell(f(Pattern::Rtt, "p99_us")),
                cell(f(Pattern::Throughput, "msgs_per_s")),
            );
        }
    }

    let asyncs = measured_rows(measurements, is_async);
    if !asyncs.is_empty() {
        let _ = writeln!(w, "\n## Async (tokio, both processes) vs sync round trip, 64 B\n");
        let _ = writeln!(
            w,
            "| subject | async p50 µs | p99 µs | sync mode | sync p50 µs | async ÷ sync |"
        );
        let _ = writeln!(w, "|---|---:|---:|---|---:|---:|");
        for &(s, m, _) in &asyncs {
            let sync = sync_mode_of(s);
            let a = find(figures, s, m, Pattern::Rtt, 64, "p50_us");
            let b = find(figures, s, sync, Pattern::Rtt, 64, "p50_us");
            let _ = writeln!(
                w,
                "| {s} | {} | {} | {sync} | {} | {} |",
                cell(a),
                cell(find(figures, s, m, Pattern::Rtt, 64, "p99_us")),
                cell(b),
                ratio(a, b),
            );
        }
    }

    let listeners = measured_rows(measurements, is_listener);
    if !listeners.is_empty() {
        let _ = writeln!(
            w,
            "\n## Listener / Client: `send_bytes` over a socket file with an authkey\n"
        );
        let _ = writeln!(
            w,
            "| subject | mode | RTT 64 B p50 µs | RTT 4 KiB p50 µs | msgs/s 64 B | msgs/s 4 KiB | RTT 64 B ÷ Python's |"
        );
        let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|");
        for &(s, m, _) in &listeners {
            let f = |p, n, metric| find(figures, s, m, p, n, metric);
            let vs = ratio(
                f(Pattern::Rtt, 64, "p50_us"),
                find(figures, "python-listener", "default", Pattern::Rtt, 64, "p50_us"),
            );
            let _ = writeln!(
                w,
                "| {s} | {m} | {} | {} | {} | {} | {vs} |",
                cell(f(Pattern::Rtt, 64, "p50_us")),
                cell(f(Pattern::Rtt, 4096, "p50_us")),
                cell(f(Pattern::Throughput, 64, "msgs_per_s")),
                cell(f(Pattern::Throughput, 4096, "msgs_per_s")),
            );
        }
    }

    let locks = measured_rows(measurements, is_lock);
    if !locks.is_empty() {
        let _ = writeln!(w, "\n## Locked increments of a shared value, two processes\n");
        let _ = writeln!(w, "| subject | mode | increments/s |");
        let _ = writeln!(w, "|---|---|---:|");
        for &(s, m, _) in &locks {
            let _ = writeln!(
                w,
                "| {s} | {m} | {} |",
                cell(find(figures, s, m, Pattern::LockIncrements, 8, "ops_per_s"))
            );
        }
    }

    let pools = measured_rows(measurements, is_pool);
    if !pools.is_empty() {
        let _ = writeln!(
            w,
            "\n## Pools of {} worker processes, tasks/s (each with the best chunk size it tried)\n",
            crate::subjects::pool::WORKERS
        );
        let _ = writeln!(
            w,
            "| subject | trivial tasks | 1 MiB argument | ÷ python-pool (trivial) | ÷ python-pool (1 MiB) |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|");
        let f = |s: &str, payload| find(figures, s, "default", Pattern::Pool, payload, "tasks_per_s");
        for &(s, m, _) in &pools {
            let _ = writeln!(
                w,
                "| {s} | {} | {} | {} | {} |",
                cell(find(figures, s, m, Pattern::Pool, 8, "tasks_per_s")),
                cell(find(figures, s, m, Pattern::Pool, 1 << 20, "tasks_per_s")),
                ratio(f(s, 8), f("python-pool", 8)),
                ratio(f(s, 1 << 20), f("python-pool", 1 << 20)),
            );
        }
    }

    let _ = writeln!(
        w,
        "\n## Goals (issues 3–6, 17 and 18), ours ÷ peer in this run (all runs)\n"
    );
    let _ = writeln!(w, "| issue | goal | measured | verdict |");
    let _ = writeln!(w, "|---:|---|---:|---|");
    for g in GOALS {
        let (measured, verdict) = match g.check(figures) {
            Outcome::Measured { ratio, met } => (
                format!("{ratio:.2}×"),
                if met {
                    "met".to_owned()
                } else {
                    "missed".to_owned()
                },
            ),
            Outcome::Missing(who) => ("–".into(), format!("not measured: no figure for {who}")),
        };
        let _ = writeln!(w, "| {} | {} | {measured} | {verdict} |", g.issue, g.describe());
    }

    super::states::goals(w, measurements);

    let failed: Vec<&Measurement> = measurements.iter().filter(|m| !m.failures.is_empty()).collect();
    if !failed.is_empty() {
        let _ = writeln!(w, "\n## Failed runs\n");
        for m in failed {
            for e in &m.failures {
                let _ = writeln!(
                    w,
                    "- {} {} {} {}: {e}",
                    m.row.subject,
                    m.row.mode,
                    m.bench.pattern.as_str(),
                    size(m.bench.payload)
                );
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_three_digits() {
        assert_eq!(number(1_160_000.0), "1.16 M");
        assert_eq!(number(16_200_000.0), "16.2 M");
        assert_eq!(number(968_000.0), "968 k");
        assert_eq!(number(15_893.0), "15,893");
        assert_eq!(number(13.04), "13.0");
        assert_eq!(number(0.7412), "0.741");
        assert_eq!(number(f64::NAN), "–");
    }
}
