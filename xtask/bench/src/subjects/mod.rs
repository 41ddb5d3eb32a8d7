//! Everything the benchmark measures: our backends and the peers, one row
//! per subject and mode, in [`ROWS`].

pub mod crossbar;
pub mod flat_quote;
pub mod iceoryx2;
pub mod interprocess;
pub mod ipc_channel;
pub mod listener;
pub mod memcpy;
pub mod mpmc;
pub mod nats;
pub mod ours;
pub mod ours_async;
pub mod pool;
pub mod python;
pub mod select;
pub mod serde_quote;
pub mod shm_lock;

use transport_core::local::Local;
use transport_pipe::Pipe;
use transport_queue::QueueTransport;
use transport_shm::{Shm, ShmBusyPoll, ShmMpmc};

use crate::{
    measure::{Job, Pattern, Run},
    peer::ChildJob,
};

/// The parent side of a row: runs one job, returns its figures.
pub type ParentFn = fn(&Job) -> Result<Run, String>;
/// The child side of a row, run in a child process.
pub type ChildFn = fn(&ChildJob) -> Result<(), String>;

/// Whether a row is one of ours or a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// One of our backends.
    Ours,
    /// A peer we compare against.
    Peer,
}

/// One measurement of a row: a pattern and a payload size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bench {
    /// What is measured.
    pub pattern: Pattern,
    /// Payload bytes.
    pub payload: usize,
}

const fn bench(pattern: Pattern, payload: usize) -> Bench {
    Bench { pattern, payload }
}

/// RTT 64 B and one-way throughput at 64 B, 4 KiB and 1 MiB.
pub const STREAM: &[Bench] = &[
    bench(Pattern::Rtt, 64),
    bench(Pattern::Throughput, 64),
    bench(Pattern::Throughput, 4096),
    bench(Pattern::Throughput, 1 << 20),
];
/// [`STREAM`] without 1 MiB: for peers whose messages are fixed-size
/// values that cannot be that large.
pub const STREAM_SMALL: &[Bench] = &[
    bench(Pattern::Rtt, 64),
    bench(Pattern::Throughput, 64),
    bench(Pattern::Throughput, 4096),
];
/// RTT and throughput of the 256 B structured message.
pub const STRUCTURED: &[Bench] = &[bench(Pattern::Rtt, 256), bench(Pattern::Throughput, 256)];
/// Locked increments of a shared 8-byte value.
pub const LOCK: &[Bench] = &[bench(Pattern::LockIncrements, 8)];
/// One-way throughput only, at 64 B, 4 KiB and 1 MiB.
pub const THROUGHPUT: &[Bench] = &[
    bench(Pattern::Throughput, 64),
    bench(Pattern::Throughput, 4096),
    bench(Pattern::Throughput, 1 << 20),
];
/// `send_bytes` round trips and one-way messages at 64 B and 4 KiB: the
/// listener rows of issue 17.
pub const LISTENER: &[Bench] = &[
    bench(Pattern::Rtt, 64),
    bench(Pattern::Rtt, 4096),
    bench(Pattern::Throughput, 64),
    bench(Pattern::Throughput, 4096),
];
/// Tasks through a pool: trivial ones (an 8-byte integer squared) and
/// ones with a 1 MiB argument.
pub const POOL: &[Bench] = &[bench(Pattern::Pool, 8), bench(Pattern::Pool, 1 << 20)];
/// RTT 64 B only.
pub const RTT: &[Bench] = &[bench(Pattern::Rtt, 64)];

/// How a row is run: the two sides of its measurement.
#[derive(Clone, Copy, Debug)]
pub struct Runner {
    /// The parent's side.
    pub parent: ParentFn,
    /// The child process's side, for rows whose child is this program.
    pub child: Option<ChildFn>,
}

/// One subject in one mode, and what is measured of it.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// `local`, `pipe`, `iceoryx2`, `python-queue`, ...
    pub subject: &'static str,
    /// `default`, `busy-poll`, `blocking`, `async`, `validated`, `unchecked`,
    /// `serde`, `flat-validated`, `flat-unchecked`, ...
    pub mode: &'static str,
    /// Ours or a peer.
    pub side: Side,
    /// The measurements.
    pub benches: &'static [Bench],
    /// How it is run.
    pub runner: Runner,
}

const fn peer(
    subject: &'static str,
    mode: &'static str,
    benches: &'static [Bench],
    parent: ParentFn,
    child: Option<ChildFn>,
) -> Row {
    Row {
        subject,
        mode,
        side: Side::Peer,
        benches,
        runner: Runner { parent, child },
    }
}

/// Every row, ours first. A backend of ours joins with one line per mode:
/// `ours::stream::<transport_pipe::Pipe>("pipe", "default")` (and the crate
/// added to this crate's dependencies).
pub const ROWS: &[Row] = &[
    // Ours.
    ours::stream::<Local>("local", "default"),
    ours::structured::<Local>("local", "validated"),
    ours::structured::<Local>("local", "unchecked"),
    ours::structured::<Local>("local", "serde"),
    ours_async::rtt::<Local>("local"),
    ours::stream::<QueueTransport>("queue", "default"),
    ours::structured::<QueueTransport>("queue", "validated"),
    ours::structured::<QueueTransport>("queue", "unchecked"),
    ours::structured::<QueueTransport>("queue", "serde"),
    ours_async::rtt::<QueueTransport>("queue"),
    ours::stream::<Pipe>("pipe", "default"),
    ours::structured::<Pipe>("pipe", "validated"),
    ours::structured::<Pipe>("pipe", "unchecked"),
    ours::structured::<Pipe>("pipe", "serde"),
    ours_async::rtt::<Pipe>("pipe"),
    ours::stream::<ShmBusyPoll>("shm", "busy-poll"),
    ours::stream::<Shm>("shm", "blocking"),
    ours::structured::<ShmBusyPoll>("shm", "validated"),
    ours::structured::<ShmBusyPoll>("shm", "unchecked"),
    ours::structured::<ShmBusyPoll>("shm", "serde"),
    ours::structured::<ShmBusyPoll>("shm", "flat-validated"),
    ours::structured::<ShmBusyPoll>("shm", "flat-unchecked"),
    ours_async::rtt::<Shm>("shm"),
    select::row::<QueueTransport>("select-queue", "recv-1"),
    select::row::<QueueTransport>("select-queue", "select-8"),
    select::row::<Pipe>("select-pipe", "recv-1"),
    select::row::<Pipe>("select-pipe", "select-8"),
    select::row::<Shm>("select-shm", "recv-1"),
    select::row::<Shm>("select-shm", "select-8"),
    mpmc::row::<QueueTransport>("mpmc-queue"),
    mpmc::row::<ShmMpmc>("mpmc-shm"),
    ours::stream::<nats::OnBenchServer<false>>("nats", "at-most-once"),
    ours_rtt::<nats::OnBenchServer<true>>("nats", "at-least-once"),
    ours_rtt::<nats::OnBenchServer<true, true>>("nats", "at-least-once-dedup"),
    Row {
        subject: "listener",
        mode: "rust-rust",
        side: Side::Ours,
        benches: LISTENER,
        runner: Runner {
            parent: listener::parent,
            child: Some(listener::child),
        },
    },
    Row {
        subject: "listener",
        mode: "rust-rust-no-spin",
        side: Side::Ours,
        benches: LISTENER,
        runner: Runner {
            parent: listener::parent,
            child: Some(listener::child),
        },
    },
    Row {
        subject: "listener",
        mode: "rust-python",
        side: Side::Ours,
        benches: LISTENER,
        runner: Runner {
            parent: listener::parent,
            child: None,
        },
    },
    Row {
        subject: "shm",
        mode: "default",
        side: Side::Ours,
        benches: LOCK,
        runner: Runner {
            parent: shm_lock::parent,
            child: Some(shm_lock::child),
        },
    },
    pool_row("pool-queue", Side::Ours),
    pool_row("pool-pipe", Side::Ours),
    pool_row("pool-shm", Side::Ours),
    // Peers.
    peer(
        "interprocess",
        "default",
        STREAM,
        interprocess::parent,
        Some(interprocess::child),
    ),
    peer(
        "ipc-channel",
        "default",
        STREAM,
        ipc_channel::parent,
        Some(ipc_channel::child),
    ),
    peer(
        "iceoryx2",
        "busy-poll",
        STREAM,
        iceoryx2::parent,
        Some(iceoryx2::child),
    ),
    peer(
        "iceoryx2",
        "blocking",
        STREAM,
        iceoryx2::parent,
        Some(iceoryx2::child),
    ),
    peer(
        "crossbar",
        "pool",
        STREAM,
        crossbar::parent,
        Some(crossbar::child),
    ),
    peer(
        "crossbar",
        "pool",
        STRUCTURED,
        crossbar::parent,
        Some(crossbar::child),
    ),
    peer(
        "crossbar",
        "podbus",
        STREAM_SMALL,
        crossbar::parent,
        Some(crossbar::child),
    ),
    peer(
        "crossbar",
        "podbus",
        STRUCTURED,
        crossbar::parent,
        Some(crossbar::child),
    ),
    peer("python-queue", "default", STREAM, python::parent, None),
    peer("python-pipe", "default", STREAM, python::parent, None),
    peer("python-value", "default", LOCK, python::parent, None),
    peer("python-listener", "default", LISTENER, python::parent, None),
    peer("memcpy", "default", THROUGHPUT, memcpy::parent, None),
    nats::raw("core", STREAM),
    nats::raw("jetstream", RTT),
    nats::python_row(NATS_PY),
    pool_row("python-pool", Side::Peer),
    pool_row("python-executor", Side::Peer),
];

/// A pool's row: its program runs the pool and its workers itself.
const fn pool_row(subject: &'static str, side: Side) -> Row {
    Row {
        subject,
        mode: "default",
        side,
        benches: POOL,
        runner: Runner {
            parent: pool::parent,
            child: None,
        },
    }
}

/// The `nats-py` peer: RTT 64 B and throughput at 64 B and 4 KiB.
pub const NATS_PY: &[Bench] = &[
    bench(Pattern::Rtt, 64),
    bench(Pattern::Throughput, 64),
    bench(Pattern::Throughput, 4096),
];

/// A backend's byte-stream row measuring the round trip only (at least
/// once, where each message is a stored, acknowledged publish).
const fn ours_rtt<T: transport_core::Transport>(subject: &'static str, mode: &'static str) -> Row {
    let mut row = ours::stream::<T>(subject, mode);
    row.benches = RTT;
    row
}

/// Every subject name, for `--subjects`.
pub fn subject_names() -> Vec<&'static str> {
    distinct(|row| row.subject)
}

/// Every mode of a row, once each, in row order.
pub fn mode_names() -> Vec<&'static str> {
    distinct(|row| row.mode)
}

/// `field` of every row, once each, in row order.
fn distinct(field: fn(&Row) -> &'static str) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for row in ROWS {
        if !names.contains(&field(row)) {
            names.push(field(row));
        }
    }
    names
}

/// The row a child process was started for (`subject/mode`).
pub fn child_of(role: &str) -> Option<ChildFn> {
    ROWS.iter()
        .find(|row| format!("{}/{}", row.subject, row.mode) == role)
        .and_then(|row| row.runner.child)
}

/// A number unique within this process, for resource names.
pub fn next_id() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
