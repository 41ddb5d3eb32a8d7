//! The outputs: `results.json` (one record per figure), `results.md` (the
//! tables, ratios and goals), `chart.svg`, and `machine.json`.

mod chart;
mod facts;
mod goals;
mod markdown;
mod states;

use std::{fs, path::Path};

pub use facts::Facts;

use crate::{
    json::{self, Value},
    load,
    measure::{Pattern, Run},
    state::State,
    suite::Measurement,
};

/// One figure: the median of its runs and their spread.
#[derive(Clone, Debug)]
pub struct Figure {
    /// The subject.
    pub subject: &'static str,
    /// The mode.
    pub mode: &'static str,
    /// The pattern.
    pub pattern: Pattern,
    /// Payload bytes.
    pub payload: usize,
    /// The metric (`p50_us`, `msgs_per_s`, ...).
    pub metric: &'static str,
    /// The median over runs.
    pub median: f64,
    /// The smallest run.
    pub min: f64,
    /// The largest run.
    pub max: f64,
    /// How many runs another process disturbed.
    pub disturbed: usize,
}

impl Figure {
    /// Half the range, in percent of the median.
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / 2.0 / self.median * 100.0
        }
    }
}

/// The unit of a metric.
pub fn unit(metric: &str) -> &'static str {
    match metric {
        "p50_us" | "p99_us" | "p999_us" => "us",
        "msgs_per_s" => "msgs/s",
        "mb_per_s" => "MB/s",
        "ops_per_s" => "ops/s",
        "tasks_per_s" => "tasks/s",
        _ => "",
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Every figure of every measurement with at least one run.
pub fn figures(measurements: &[Measurement]) -> Vec<Figure> {
    figures_where(measurements, |_| true)
}

/// The figures of the runs whose machine state `keep` accepts: medians
/// within one state, where the state moves every figure.
pub fn figures_where(measurements: &[Measurement], keep: impl Fn(&State) -> bool) -> Vec<Figure> {
    let mut out = Vec::new();
    for m in measurements {
        let runs: Vec<&Run> = m
            .runs
            .iter()
            .enumerate()
            .filter(|&(i, _)| keep(&m.states.get(i).copied().unwrap_or_default()))
            .map(|(_, r)| r)
            .collect();
        let Some(first) = runs.first() else { continue };
        let disturbed = runs.iter().filter(|r| load::disturbed(r.other_cpu_pct)).count();
        for &(metric, _) in &first.metrics {
            let mut values: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.metrics.iter().find(|(k, _)| *k == metric).map(|(_, v)| *v))
                .collect();
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            out.push(Figure {
                subject: m.row.subject,
                mode: m.row.mode,
                pattern: m.bench.pattern,
                payload: m.bench.payload,
                metric,
                median: median(&mut values),
                min,
                max,
                disturbed,
            });
        }
    }
    out
}

/// Looks one figure up.
pub fn find<'f>(
    figures: &'f [Figure],
    subject: &str,
    mode: &str,
    pattern: Pattern,
    payload: usize,
    metric: &str,
) -> Option<&'f Figure> {
    figures.iter().find(|f| {
        f.subject == subject
            && f.mode == mode
            && f.pattern == pattern
            && f.payload == payload
            && f.metric == metric
    })
}

/// One line about a run, for the progress output.
pub fn summary(run: &Run) -> String {
    let mut words: Vec<String> = run
        .metrics
        .iter()
        .map(|(k, v)| format!("{k}={}", markdown::number(*v)))
        .collect();
    match run.other_cpu_pct {
        Some(p) if load::disturbed(Some(p)) => words.push(format!("others took {p:.0} % CPU (flagged)")),
        Some(p) => words.push(format!("others {p:.0} %")),
        None => {}
    }
    if !run.pinned {
        words.push("not pinned".into());
    }
    words.join(" ")
}

fn record(
    subject: &str,
    mode: &str,
    pattern: Pattern,
    payload: usize,
    metric: &str,
    value: f64,
    unit: &str,
) -> String {
    json::object(&[
        ("subject", Value::Str(subject.to_owned())),
        ("mode", Value::Str(mode.to_owned())),
        ("pattern", Value::Str(pattern.as_str().to_owned())),
        ("payload", Value::Int(payload as i64)),
        ("metric", Value::Str(metric.to_owned())),
        ("value", Value::Num(value)),
        ("unit", Value::Str(unit.to_owned())),
    ])
}

/// The records of `results.json`: each figure's median, then its spread as
/// `<metric>_min` / `<metric>_max`, and per measurement the CPU share other
/// processes took in its most disturbed run (`other_cpu_pct`).
pub fn records(measurements: &[Measurement], figures: &[Figure]) -> Vec<String> {
    let mut out = Vec::new();
    for f in figures {
        let u = unit(f.metric);
        out.push(record(
            f.subject, f.mode, f.pattern, f.payload, f.metric, f.median, u,
        ));
        out.push(record(
            f.subject,
            f.mode,
            f.pattern,
            f.payload,
            &format!("{}_min", f.metric),
            f.min,
            u,
        ));
        out.push(record(
            f.subject,
            f.mode,
            f.pattern,
            f.payload,
            &format!("{}_max", f.metric),
            f.max,
            u,
        ));
    }
    for m in measurements {
        let worst = m
            .runs
            .iter()
            .filter_map(|r| r.other_cpu_pct)
            .fold(None, |a: Option<f64>, p| Some(a.map_or(p, |a| a.max(p))));
        if let Some(p) = worst {
            out.push(record(
                m.row.subject,
                m.row.mode,
                m.bench.pattern,
                m.bench.payload,
                "other_cpu_pct",
                p,
                "%",
            ));
        }
    }
    out
}

/// Writes every output into `dir`.
pub fn write(dir: &Path, facts: &Facts, measurements: &[Measurement]) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let figures = figures(measurements);
    let put = |name: &str, text: &str| {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
        Ok::<(), String>(())
    };
    put("results.json", &json::array(&records(measurements, &figures)))?;
    put("machine.json", &facts.to_json(states::json(measurements)))?;
    let md = markdown::render(facts, measurements, &figures);
    put("results.md", &md)?;
    chart::draw(&dir.join("chart.svg"), facts, &figures)?;
    eprintln!("wrote {}", dir.join("chart.svg").display());
    println!("{md}");
    Ok(())
}
