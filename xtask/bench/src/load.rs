//! Did another process take CPU time during a run? The machine's busy
//! time minus the time our own processes used, over the timed part.

use std::time::Instant;

use crate::sys;

/// CPU time others may take (percent of one CPU) before a run is flagged.
pub const FLAG_PCT: f64 = 10.0;

/// CPU seconds of counter rounding forgiven per run (two 10 ms ticks).
const TICK_SLACK_S: f64 = 0.02;

/// A snapshot of CPU counters at the start of a timed part.
#[derive(Debug)]
pub struct CpuWatch {
    start: Instant,
    machine: Option<f64>,
    ours: Option<f64>,
    pids: Vec<u32>,
}

fn ours_seconds(pids: &[u32]) -> Option<f64> {
    pids.iter().map(|&pid| sys::process_cpu_seconds(pid)).sum()
}

impl CpuWatch {
    /// Starts watching; `peer` is the child process, if the peer is one
    /// (a thread peer is counted with this process).
    pub fn start(peer: Option<u32>) -> Self {
        let mut pids = vec![std::process::id()];
        pids.extend(peer);
        CpuWatch {
            start: Instant::now(),
            machine: sys::machine_busy_seconds(),
            ours: ours_seconds(&pids),
            pids,
        }
    }

    /// The CPU time other processes took since [`start`](Self::start), in
    /// percent of one CPU; `None` where the platform cannot tell.
    pub fn other_pct(&self) -> Option<f64> {
        let wall = self.start.elapsed().as_secs_f64();
        let machine = sys::machine_busy_seconds()? - self.machine?;
        let ours = ours_seconds(&self.pids)? - self.ours?;
        // The counters tick at 100 Hz on Linux: a tick or two of difference
        // is rounding, not another process.
        let other = (machine - ours - TICK_SLACK_S).max(0.0);
        Some(other / wall.max(1e-3) * 100.0)
    }
}

/// Whether a run's `other_pct` counts as disturbed.
pub fn disturbed(other_pct: Option<f64>) -> bool {
    other_pct.is_some_and(|p| p >= FLAG_PCT)
}
