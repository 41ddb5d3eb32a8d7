//! The goals the backend issues set against peers, checked on this run's
//! figures.

use super::{Figure, find};
use crate::measure::Pattern;

/// Which way a ratio has to go.
#[derive(Clone, Copy, Debug)]
pub enum Bound {
    /// ours ÷ peer must be at most this (times: lower is better).
    AtMost(f64),
    /// ours ÷ peer must be at least this (rates: higher is better).
    AtLeast(f64),
}

/// One goal: ours against a peer on one figure.
#[derive(Clone, Copy, Debug)]
pub struct Goal {
    /// The issue that sets it.
    pub issue: u32,
    /// Our subject and mode.
    pub ours: (&'static str, &'static str),
    /// The peer's subject and mode (or ours in another mode).
    pub peer: (&'static str, &'static str),
    /// The pattern.
    pub pattern: Pattern,
    /// Payload bytes.
    pub payload: usize,
    /// The metric compared.
    pub metric: &'static str,
    /// The bound on ours ÷ peer.
    pub bound: Bound,
}

const fn goal(
    issue: u32,
    ours: (&'static str, &'static str),
    peer: (&'static str, &'static str),
    pattern: Pattern,
    payload: usize,
    metric: &'static str,
    bound: Bound,
) -> Goal {
    Goal {
        issue,
        ours,
        peer,
        pattern,
        payload,
        metric,
        bound,
    }
}

use Bound::{AtLeast, AtMost};
use Pattern::{LockIncrements as Lock, Rtt, Throughput as Thr};

const MIB: usize = 1 << 20;

/// Every goal of issues 3 (pipe), 4 (queue), 5 (shm), 6 (async), 15
/// (`Select` over eight receivers against one `recv`; four consumer
/// processes on the shared-memory ring against the queue), 17 (listener) and 18
/// (nats, against the raw `async-nats` client on the same server).
pub const GOALS: &[Goal] = &[
    goal(
        3,
        ("pipe", "default"),
        ("interprocess", "default"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.1),
    ),
    goal(
        3,
        ("pipe", "default"),
        ("interprocess", "default"),
        Thr,
        64,
        "msgs_per_s",
        AtLeast(1.0),
    ),
    goal(
        3,
        ("pipe", "default"),
        ("interprocess", "default"),
        Thr,
        MIB,
        "mb_per_s",
        AtLeast(0.9),
    ),
    goal(
        4,
        ("queue", "default"),
        ("ipc-channel", "default"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.1),
    ),
    goal(
        4,
        ("queue", "default"),
        ("ipc-channel", "default"),
        Thr,
        64,
        "msgs_per_s",
        AtLeast(1.0),
    ),
    goal(
        4,
        ("queue", "default"),
        ("python-queue", "default"),
        Thr,
        64,
        "msgs_per_s",
        AtLeast(5.0),
    ),
    goal(
        5,
        ("shm", "busy-poll"),
        ("iceoryx2", "busy-poll"),
        Rtt,
        64,
        "p50_us",
        AtMost(0.6),
    ),
    goal(
        5,
        ("shm", "busy-poll"),
        ("iceoryx2", "busy-poll"),
        Thr,
        64,
        "msgs_per_s",
        AtLeast(5.0),
    ),
    goal(
        5,
        ("shm", "busy-poll"),
        ("iceoryx2", "busy-poll"),
        Thr,
        MIB,
        "mb_per_s",
        AtLeast(0.9),
    ),
    goal(
        5,
        ("shm", "blocking"),
        ("iceoryx2", "blocking"),
        Rtt,
        64,
        "p50_us",
        AtMost(0.5),
    ),
    goal(
        5,
        ("shm", "validated"),
        ("shm", "unchecked"),
        Rtt,
        256,
        "p50_us",
        AtMost(1.3),
    ),
    goal(
        5,
        ("shm", "default"),
        ("python-value", "default"),
        Lock,
        8,
        "ops_per_s",
        AtLeast(20.0),
    ),
    goal(
        6,
        ("queue", "async"),
        ("queue", "default"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.5),
    ),
    goal(
        6,
        ("pipe", "async"),
        ("pipe", "default"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.5),
    ),
    goal(
        6,
        ("shm", "async"),
        ("shm", "blocking"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.5),
    ),
    goal(
        17,
        ("listener", "rust-rust"),
        ("python-listener", "default"),
        Rtt,
        64,
        "p50_us",
        AtMost(0.5),
    ),
    goal(
        17,
        ("listener", "rust-rust"),
        ("python-listener", "default"),
        Rtt,
        4096,
        "p50_us",
        AtMost(0.5),
    ),
    goal(
        17,
        ("listener", "rust-python"),
        ("python-listener", "default"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.0),
    ),
    goal(
        17,
        ("listener", "rust-python"),
        ("python-listener", "default"),
        Rtt,
        4096,
        "p50_us",
        AtMost(1.0),
    ),
    goal(
        17,
        ("listener", "rust-python"),
        ("python-listener", "default"),
        Thr,
        64,
        "msgs_per_s",
        AtLeast(1.0),
    ),
    goal(
        17,
        ("listener", "rust-python"),
        ("python-listener", "default"),
        Thr,
        4096,
        "msgs_per_s",
        AtLeast(1.0),
    ),
    goal(
        18,
        ("nats", "at-most-once"),
        ("async-nats", "core"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.2),
    ),
    goal(
        18,
        ("nats", "at-most-once"),
        ("async-nats", "core"),
        Thr,
        64,
        "msgs_per_s",
        AtLeast(0.9),
    ),
    goal(
        18,
        ("nats", "at-most-once"),
        ("async-nats", "core"),
        Thr,
        4096,
        "msgs_per_s",
        AtLeast(0.9),
    ),
    goal(
        18,
        ("nats", "at-least-once"),
        ("async-nats", "jetstream"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.2),
    ),
    goal(
        15,
        ("select-queue", "select-8"),
        ("select-queue", "recv-1"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.5),
    ),
    goal(
        15,
        ("select-pipe", "select-8"),
        ("select-pipe", "recv-1"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.5),
    ),
    goal(
        15,
        ("select-shm", "select-8"),
        ("select-shm", "recv-1"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.5),
    ),
    goal(
        15,
        ("mpmc-shm", "4-consumers"),
        ("mpmc-queue", "4-consumers"),
        Thr,
        64,
        "msgs_per_s",
        AtLeast(5.0),
    ),
];

/// The goals of issue 13: shared memory against crossbar (`pool`, its
/// block-pool path with a credit window; `podbus`, its bounded `PodBus`)
/// and iceoryx2, and the queue's large messages against raw ipc-channel.
/// The shared-memory figures move with the machine's state (see
/// `crate::state`), so these are checked on the runs of one state at a
/// time.
pub const WITHIN_STATE: &[Goal] = &[
    goal(
        13,
        ("shm", "busy-poll"),
        ("crossbar", "podbus"),
        Rtt,
        64,
        "p50_us",
        AtMost(1.0),
    ),
    goal(
        13,
        ("shm", "busy-poll"),
        ("crossbar", "pool"),
        Rtt,
        64,
        "p50_us",
        AtMost(0.8),
    ),
    goal(
        13,
        ("shm", "busy-poll"),
        ("crossbar", "podbus"),
        Thr,
        64,
        "msgs_per_s",
        AtLeast(2.0),
    ),
    goal(
        13,
        ("shm", "busy-poll"),
        ("crossbar", "pool"),
        Thr,
        64,
        "msgs_per_s",
        AtLeast(2.0),
    ),
    goal(
        13,
        ("shm", "unchecked"),
        ("crossbar", "pool"),
        Rtt,
        256,
        "p50_us",
        AtMost(1.0),
    ),
    goal(
        13,
        ("shm", "validated"),
        ("crossbar", "pool"),
        Rtt,
        256,
        "p50_us",
        AtMost(1.2),
    ),
    // The same two bounds like for like: the quote in crossbar's flat
    // shape, still an rkyv archive (see `subjects/flat_quote.rs`).
    goal(
        13,
        ("shm", "flat-unchecked"),
        ("crossbar", "pool"),
        Rtt,
        256,
        "p50_us",
        AtMost(1.0),
    ),
    goal(
        13,
        ("shm", "flat-validated"),
        ("crossbar", "pool"),
        Rtt,
        256,
        "p50_us",
        AtMost(1.2),
    ),
    goal(
        13,
        ("shm", "unchecked"),
        ("shm", "validated"),
        Thr,
        256,
        "msgs_per_s",
        AtLeast(1.0),
    ),
    goal(
        13,
        ("shm", "busy-poll"),
        ("crossbar", "pool"),
        Thr,
        MIB,
        "mb_per_s",
        AtLeast(1.0),
    ),
    goal(
        13,
        ("shm", "busy-poll"),
        ("iceoryx2", "busy-poll"),
        Thr,
        MIB,
        "mb_per_s",
        AtLeast(1.0),
    ),
    goal(
        13,
        ("queue", "default"),
        ("ipc-channel", "default"),
        Thr,
        MIB,
        "mb_per_s",
        AtLeast(1.5),
    ),
];

/// The outcome of one goal on this run.
#[derive(Debug)]
pub enum Outcome {
    /// Both figures exist: the ratio ours ÷ peer, and whether it is met.
    Measured { ratio: f64, met: bool },
    /// A figure is missing: whose.
    Missing(String),
}

impl Goal {
    /// Checks the goal on `figures`.
    pub fn check(&self, figures: &[Figure]) -> Outcome {
        let get = |(s, m): (&str, &str)| find(figures, s, m, self.pattern, self.payload, self.metric);
        match (get(self.ours), get(self.peer)) {
            (Some(o), Some(p)) if p.median > 0.0 => {
                let ratio = o.median / p.median;
                let met = match self.bound {
                    AtMost(b) => ratio <= b,
                    AtLeast(b) => ratio >= b,
                };
                Outcome::Measured { ratio, met }
            }
            (None, _) => Outcome::Missing(format!("{} {}", self.ours.0, self.ours.1)),
            _ => Outcome::Missing(format!("{} {}", self.peer.0, self.peer.1)),
        }
    }

    /// The goal in words: `RTT 64 B p50 ≤ 1.1×`.
    pub fn describe(&self) -> String {
        let what = match (self.pattern, self.metric) {
            (Rtt, m) => format!("RTT {} {}", size(self.payload), m.trim_end_matches("_us")),
            (Thr, "msgs_per_s") => format!("msgs/s {}", size(self.payload)),
            (Thr, _) => format!("MB/s {}", size(self.payload)),
            (Lock, _) => "locked increments/s".to_owned(),
            (Pattern::Pool, _) => format!("pool tasks/s {}", size(self.payload)),
        };
        let bound = match self.bound {
            AtMost(b) => format!("≤ {b}×"),
            AtLeast(b) => format!("≥ {b}×"),
        };
        format!(
            "{what}: {} {} ÷ {} {} {bound}",
            self.ours.0, self.ours.1, self.peer.0, self.peer.1
        )
    }
}

/// `64 B`, `4 KiB`, `1 MiB`.
pub fn size(bytes: usize) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}
