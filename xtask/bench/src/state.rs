//! The machine's state: how far apart the two benchmark CPUs are right
//! now. On the shared virtual machines this runs on, the two vCPUs flip
//! every few seconds between a *near* placement (a cache line goes from one
//! to the other and back in about 130–150 ns, sometimes 80) and a *far*
//! one (220–380 ns), which moves every shared-memory figure 2–15× for every
//! subject at once. So the suite probes the state before and after each
//! run, and the report compares subjects within one state.
//!
//! The probe is a cache-line ping-pong: this thread (on
//! [`PARENT_CPU`](crate::peer::PARENT_CPU)) and a helper thread pinned to
//! [`CHILD_CPU`](crate::peer::CHILD_CPU) take turns incrementing one
//! 128-byte-aligned word, each waiting for the other's write. The figure is
//! the time of one round trip (two hand-overs), in the fastest of a few
//! batches.

use std::{
    fmt, hint,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use crate::peer;

/// Round trips per batch.
const ROUNDS: u64 = 2_000;
/// Batches per probe; the fastest is kept: a batch in which another
/// process took one of the CPUs is slower, never faster, than the
/// placement allows.
const BATCHES: usize = 5;
/// How long a probe may take before it gives up (a helper that is not
/// scheduled, on a machine busy with other work).
const PROBE_LIMIT: Duration = Duration::from_millis(1000);
/// Probes tried before the state counts as unknown.
const ATTEMPTS: usize = 2;

/// Round trips at most this long (ns) are `near`; longer ones `far`:
/// between the two modes the probe finds on this kind of machine.
pub const NEAR_MAX_NS: f64 = 190.0;

/// Where the two CPUs sit from each other, as a probe found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placement {
    /// A cache line crosses quickly (the lower mode of the probe).
    Near,
    /// A cache line crosses slowly (the upper mode).
    Far,
}

impl Placement {
    /// The placement a round trip of `ns` indicates.
    pub fn of(ns: f64) -> Self {
        if ns <= NEAR_MAX_NS {
            Placement::Near
        } else {
            Placement::Far
        }
    }

    /// The name used in the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Near => "near",
            Placement::Far => "far",
        }
    }

    /// Every placement, in report order.
    pub const ALL: [Placement; 2] = [Placement::Near, Placement::Far];
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The probes around one run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct State {
    /// The probe's round trip before the run, ns.
    pub before_ns: Option<f64>,
    /// The probe's round trip after the run, ns.
    pub after_ns: Option<f64>,
}

impl State {
    /// The run's placement: the one both probes found, `None` when they
    /// disagree (the state changed during the run) or one failed.
    pub fn placement(&self) -> Option<Placement> {
        let before = Placement::of(self.before_ns?);
        let after = Placement::of(self.after_ns?);
        (before == after).then_some(before)
    }

    /// The label and both probes, for the progress output:
    /// `near 141/152 ns`.
    pub fn describe(&self) -> String {
        let ns = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}"));
        format!("{} {}/{} ns", self.label(), ns(self.before_ns), ns(self.after_ns))
    }

    /// `near`, `far`, `mixed` (the probes disagree) or `unknown`.
    pub fn label(&self) -> &'static str {
        match (self.before_ns, self.after_ns, self.placement()) {
            (_, _, Some(p)) => p.as_str(),
            (Some(_), Some(_), None) => "mixed",
            _ => "unknown",
        }
    }
}

#[repr(align(128))]
struct Line(AtomicU64);

/// Probes the state now: the time of one round trip of a cache line
/// between this thread (pinned to the parent's CPU) and a helper pinned to
/// the child's. `None` where the helper cannot be pinned or the probe did
/// not finish in time, twice.
pub fn probe() -> Option<f64> {
    (0..ATTEMPTS).find_map(|_| probe_once())
}

fn probe_once() -> Option<f64> {
    if !peer::pin(peer::PARENT_CPU) {
        return None;
    }
    let line = Arc::new(Line(AtomicU64::new(0)));
    let (pinned_tx, pinned_rx) = mpsc::channel();
    let helper = {
        let line = Arc::clone(&line);
        thread::Builder::new()
            .name("bench-probe".into())
            .spawn(move || {
                let pinned = peer::pin(peer::CHILD_CPU);
                let _ = pinned_tx.send(pinned);
                if pinned {
                    answer(&line.0);
                }
            })
            .ok()?
    };
    let result = match pinned_rx.recv() {
        Ok(true) => ask(&line.0),
        _ => None,
    };
    // Tell the helper to stop whatever happened.
    line.0.store(u64::MAX, Ordering::Release);
    let _ = helper.join();
    result
}

/// The helper: answers each odd value with the next even one, until the
/// prober stores `u64::MAX` (or, past the probe's limit, gives up alone).
fn answer(word: &AtomicU64) {
    let start = Instant::now();
    let mut spins = 0u32;
    loop {
        let v = word.load(Ordering::Acquire);
        if v == u64::MAX {
            return;
        }
        if v % 2 == 1 {
            word.store(v + 1, Ordering::Release);
            continue;
        }
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(4096) && start.elapsed() > 2 * PROBE_LIMIT {
            return;
        }
        hint::spin_loop();
    }
}

/// The prober: `BATCHES` batches of `ROUNDS` round trips; the fastest
/// batch's time per round trip.
fn ask(word: &AtomicU64) -> Option<f64> {
    let start = Instant::now();
    let mut next = 1u64;
    let mut batches = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let t0 = Instant::now();
        for _ in 0..ROUNDS {
            word.store(next, Ordering::Release);
            let mut spins = 0u32;
            while word.load(Ordering::Acquire) != next + 1 {
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(4096) && start.elapsed() > PROBE_LIMIT {
                    return None;
                }
                hint::spin_loop();
            }
            next += 2;
        }
        batches.push(t0.elapsed().as_nanos() as f64 / ROUNDS as f64);
    }
    batches.into_iter().min_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_has_a_placement_only_when_both_probes_agree() {
        let s = |b, a| State {
            before_ns: b,
            after_ns: a,
        };
        assert_eq!(s(Some(140.0), Some(85.0)).placement(), Some(Placement::Near));
        assert_eq!(s(Some(300.0), Some(230.0)).placement(), Some(Placement::Far));
        assert_eq!(s(Some(140.0), Some(300.0)).label(), "mixed");
        assert_eq!(s(Some(140.0), Some(300.0)).placement(), None);
        assert_eq!(s(None, Some(300.0)).label(), "unknown");
        assert_eq!(s(Some(140.0), Some(150.0)).describe(), "near 140/150 ns");
    }

    #[test]
    fn the_probe_gives_a_time_or_nothing() {
        // On a machine with one CPU, or without pinning, there is nothing.
        if let Some(ns) = probe() {
            assert!(ns > 0.0 && ns.is_finite());
        }
    }
}
