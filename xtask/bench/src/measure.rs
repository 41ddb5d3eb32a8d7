//! What one run measures and how its figures are computed.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// Round trips: the parent sends, the child echoes.
    Rtt,
    /// One-way messages from parent to child, timed until the child
    /// acknowledged the last one.
    Throughput,
    /// Increments of a shared value under its lock, from both processes.
    LockIncrements,
    /// Tasks through a pool of worker processes, timed from the first
    /// task given until the last result is back.
    Pool,
}

impl Pattern {
    /// The name used in the JSON records.
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::Rtt => "rtt",
            Pattern::Throughput => "throughput",
            Pattern::LockIncrements => "lock-increments",
            Pattern::Pool => "pool",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Pattern::Rtt,
            Pattern::Throughput,
            Pattern::LockIncrements,
            Pattern::Pool,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }
}

/// One run of one measurement: what the parent and the child do.
#[derive(Clone, Debug)]
pub struct Job {
    /// The subject (`local`, `iceoryx2`, ...).
    pub subject: &'static str,
    /// The subject's mode (`default`, `busy-poll`, ...).
    pub mode: &'static str,
    /// What is measured.
    pub pattern: Pattern,
    /// Payload bytes per message (for lock increments: the value's size).
    pub payload: usize,
    /// Timed messages, round trips or increments (per process).
    pub count: usize,
    /// Untimed messages or round trips before the timed ones.
    pub warmup: usize,
    /// How long the run may take before it is abandoned.
    pub limit: Duration,
}

impl Job {
    /// The instant by which the run must be over.
    pub fn deadline(&self, start: Instant) -> Instant {
        start + self.limit
    }
}

/// The figures of one run.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// `(metric, value)` pairs, with the metric names of the JSON records.
    pub metrics: Vec<(&'static str, f64)>,
    /// CPU time other processes took during the timed part, in percent of
    /// one CPU; `None` where the platform cannot tell.
    pub other_cpu_pct: Option<f64>,
    /// Whether both sides were pinned to their CPUs.
    pub pinned: bool,
}

/// Round-trip figures from the measured durations, in nanoseconds.
pub fn rtt_metrics(samples: &mut [u64]) -> Vec<(&'static str, f64)> {
    samples.sort_unstable();
    vec![
        ("p50_us", percentile(samples, 0.50) / 1e3),
        ("p99_us", percentile(samples, 0.99) / 1e3),
        ("p999_us", percentile(samples, 0.999) / 1e3),
    ]
}

/// The `q` quantile of sorted `samples` (nearest rank).
pub fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Less a hair, so that 0.999 × 20,000 is rank 19,980 despite rounding.
    let rank = (q * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// Throughput figures: messages per second and MB (10^6 B) per second.
pub fn throughput_metrics(messages: usize, payload: usize, elapsed: Duration) -> Vec<(&'static str, f64)> {
    let secs = elapsed.as_secs_f64().max(1e-9);
    vec![
        ("msgs_per_s", messages as f64 / secs),
        ("mb_per_s", (messages * payload) as f64 / secs / 1e6),
    ]
}

/// A payload of `len` bytes that is not all zeros (so nothing can elide
/// copying it).
pub fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

/// Reads every byte of a received payload, as a receiver that uses the
/// data would.
#[inline]
pub fn touch(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut sum = 0u64;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        sum = sum.wrapping_add(u64::from_le_bytes(word));
    }
    for &b in chunks.remainder() {
        sum = sum.wrapping_add(u64::from(b));
    }
    black_box(sum)
}

/// A deadline checked in busy loops every few thousand iterations.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(pub Instant);

impl Deadline {
    /// An error once the deadline has passed.
    pub fn check(&self, what: &str) -> Result<(), String> {
        if Instant::now() > self.0 {
            Err(format!("{what}: gave up at the run's time limit"))
        } else {
            Ok(())
        }
    }

    /// The time left, at least one millisecond.
    pub fn remaining(&self) -> Duration {
        self.0
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples: Vec<u64> = (1..=1000).rev().collect();
        let m = rtt_metrics(&mut samples);
        assert_eq!(m[0], ("p50_us", 0.5));
        assert_eq!(m[1], ("p99_us", 0.99));
        assert_eq!(m[2], ("p999_us", 0.999));
    }

    #[test]
    fn touch_reads_every_byte() {
        assert_eq!(touch(&[1, 0, 0, 0, 0, 0, 0, 0, 2, 3]), 6);
        assert_eq!(touch(&[]), 0);
    }

    #[test]
    fn throughput_counts_megabytes_as_a_million_bytes() {
        let m = throughput_metrics(1000, 1000, Duration::from_secs(1));
        assert_eq!(m, vec![("msgs_per_s", 1000.0), ("mb_per_s", 1.0)]);
    }
}
