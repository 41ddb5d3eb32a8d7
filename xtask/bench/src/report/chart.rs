//! `chart.svg`: RTT and throughput per subject, drawn with plotters.
//! Horizontal bars on log scales, ours in colour and peers in grey on the
//! left; one bar per payload size on the right.

use std::path::Path;

use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{Facts, Figure, find};
use crate::measure::Pattern;

const WIDTH: u32 = 1280;
const ROW_PX: u32 = 34;
const OURS: RGBColor = RGBColor(0x1f, 0x6f, 0xb4);
const PEER: RGBColor = RGBColor(0x9a, 0x9a, 0x9a);
const SIZES: [(usize, &str, RGBColor); 3] = [
    (64, "64 B", RGBColor(0x8e, 0xc5, 0xe8)),
    (4096, "4 KiB", RGBColor(0x3a, 0x8f, 0xd0)),
    (1 << 20, "1 MiB", RGBColor(0x0b, 0x3d, 0x6e)),
];

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("drawing the chart: {e}")
}

/// The (subject, mode) pairs with a figure for `pattern`, in order.
fn subjects(figures: &[Figure], pattern: Pattern, payloads: &[usize]) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    for f in figures {
        if f.pattern == pattern && payloads.contains(&f.payload) && !out.contains(&(f.subject, f.mode)) {
            out.push((f.subject, f.mode));
        }
    }
    out
}

fn is_ours(subject: &str) -> bool {
    matches!(subject, "local" | "queue" | "pipe" | "shm")
}

/// A log range around `values` with room on both sides.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo.is_finite() && hi > 0.0 {
        (lo / 2.0, hi * 3.0)
    } else {
        (0.1, 10.0)
    }
}

/// Draws the chart into `path`.
pub fn draw(path: &Path, facts: &Facts, figures: &[Figure]) -> Result<(), String> {
    // Bottom-up: reversed so the first row (ours) is at the top.
    let mut rtt = subjects(figures, Pattern::Rtt, &[64]);
    rtt.reverse();
    let mut thr = subjects(figures, Pattern::Throughput, &[64, 4096, 1 << 20]);
    thr.reverse();
    let rows = rtt.len().max(thr.len()).max(1) as u32;
    let height = 150 + ROW_PX * rows;
    let base = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    base.fill(&WHITE).map_err(err)?;
    let title = format!(
        "cargo xtask bench ({} run, {}): {}, {} CPUs, {}",
        facts.plan, facts.started, facts.cpu, facts.cores, facts.kernel
    );
    let area = base.titled(&title, ("sans-serif", 16)).map_err(err)?;
    let (left, right) = area.split_horizontally(WIDTH / 2);

    // Round trip: a bar to the median, a tick at p99.
    let p50 = |s, m| find(figures, s, m, Pattern::Rtt, 64, "p50_us").map(|f| f.median);
    let p99 = |s, m| find(figures, s, m, Pattern::Rtt, 64, "p99_us").map(|f| f.median);
    let (lo, hi) = range(rtt.iter().flat_map(|&(s, m)| [p50(s, m), p99(s, m)]).flatten());
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "RTT 64 B, µs (bar: median, tick: p99; log scale)",
            ("sans-serif", 14),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(170)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..rtt.len().max(1) as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("µs")
        .draw()
        .map_err(err)?;
    for (i, &(s, m)) in rtt.iter().enumerate() {
        let y = i as f64;
        let color = if is_ours(s) { OURS } else { PEER };
        if let Some(v) = p50(s, m) {
            chart
                .draw_series([Rectangle::new([(lo, y + 0.15), (v, y + 0.85)], color.filled())])
                .map_err(err)?;
        }
        if let Some(v) = p99(s, m) {
            chart
                .draw_series([PathElement::new(
                    vec![(v, y + 0.1), (v, y + 0.9)],
                    BLACK.stroke_width(2),
                )])
                .map_err(err)?;
        }
        label(&base, chart.backend_coord(&(lo, y + 0.5)), s, m)?;
    }

    // Throughput: one bar per payload size.
    let mbs = |s, m, n| find(figures, s, m, Pattern::Throughput, n, "mb_per_s").map(|f| f.median);
    let (lo, hi) = range(
        thr.iter()
            .flat_map(|&(s, m)| SIZES.map(|(n, _, _)| mbs(s, m, n)))
            .flatten(),
    );
    let mut chart = ChartBuilder::on(&right)
        .caption("one-way throughput, MB/s (log scale)", ("sans-serif", 14))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(170)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..thr.len().max(1) as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("MB/s")
        .draw()
        .map_err(err)?;
    for (k, &(_, name, color)) in SIZES.iter().enumerate() {
        let bars: Vec<_> = thr
            .iter()
            .enumerate()
            .filter_map(|(i, &(s, m))| {
                let v = mbs(s, m, SIZES[k].0)?;
                let y = i as f64 + 0.1 + 0.27 * k as f64;
                Some(Rectangle::new([(lo, y), (v, y + 0.25)], color.filled()))
            })
            .collect();
        chart
            .draw_series(bars)
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    for (i, &(s, m)) in thr.iter().enumerate() {
        label(&base, chart.backend_coord(&(lo, i as f64 + 0.5)), s, m)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    base.present().map_err(err)
}

/// Writes `subject mode` to the left of a row.
fn label(
    base: &DrawingArea<SVGBackend<'_>, Shift>,
    at: (i32, i32),
    subject: &str,
    mode: &str,
) -> Result<(), String> {
    let style = TextStyle::from(("sans-serif", 13).into_font())
        .color(if is_ours(subject) { &OURS } else { &BLACK })
        .pos(Pos::new(HPos::Right, VPos::Center));
    let text = if is_ours(subject) {
        format!("{subject} {mode} (ours)")
    } else {
        format!("{subject} {mode}")
    };
    base.draw(&Text::new(text, (at.0 - 8, at.1), style)).map_err(err)
}
