//! How much each measurement does: the full run follows the method of the
//! shared peer figures; `--quick` is a smoke test of the same code.

use std::time::Duration;

use crate::{measure::Pattern, subjects::Bench};

/// The sizes of one kind of run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// `full` or `quick`.
    pub name: &'static str,
    /// Timed round trips.
    pub rtt: usize,
    /// Untimed round trips before them.
    pub rtt_warmup: usize,
    /// Messages at 64 B (and for the 256 B structured message).
    pub small: usize,
    /// Messages at 4 KiB.
    pub medium: usize,
    /// Messages at 1 MiB.
    pub large: usize,
    /// Locked increments per process.
    pub increments: usize,
    /// Trivial tasks through a pool.
    pub pool_tasks: usize,
    /// Tasks with a 1 MiB argument through a pool.
    pub pool_large: usize,
    /// How long one run may take.
    pub limit: Duration,
}

/// 1,000 + 20,000 round trips; 1,000,000 × 64 B, 200,000 × 4 KiB,
/// 2,000 × 1 MiB with a tenth more as warm-up; 2 × 500,000 increments;
/// 100,000 trivial pool tasks and 120 with a 1 MiB argument.
pub const FULL: Plan = Plan {
    name: "full",
    rtt: 20_000,
    rtt_warmup: 1_000,
    small: 1_000_000,
    medium: 200_000,
    large: 2_000,
    increments: 500_000,
    pool_tasks: 100_000,
    pool_large: 120,
    limit: Duration::from_secs(180),
};

/// A twentieth of the full run.
pub const QUICK: Plan = Plan {
    name: "quick",
    rtt: 2_000,
    rtt_warmup: 200,
    small: 50_000,
    medium: 10_000,
    large: 100,
    increments: 25_000,
    pool_tasks: 5_000,
    pool_large: 12,
    limit: Duration::from_secs(60),
};

impl Plan {
    /// Timed count and warm-up for one measurement.
    pub fn counts(&self, bench: &Bench) -> (usize, usize) {
        match bench.pattern {
            Pattern::Rtt => (self.rtt, self.rtt_warmup),
            Pattern::LockIncrements => (self.increments, 0),
            // The pool programs warm up on their own.
            Pattern::Pool if bench.payload >= 1 << 20 => (self.pool_large, 0),
            Pattern::Pool => (self.pool_tasks, 0),
            Pattern::Throughput => {
                let n = if bench.payload >= 1 << 20 {
                    self.large
                } else if bench.payload >= 4096 {
                    self.medium
                } else {
                    self.small
                };
                (n, n / 10)
            }
        }
    }
}
