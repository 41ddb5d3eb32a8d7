//! What `async_worker_pool` uses: the messages, the work, and the report
//! of who did what.

use std::{collections::BTreeMap, sync::OnceLock, time::Duration};

/// How many worker processes.
pub const WORKERS: u32 = 4;
/// How many tasks.
pub const TASKS: u64 = 400;
/// The environment variable that makes this program a worker, and says
/// which.
pub const WORKER_ID: &str = "TRANSPORT_POOL_WORKER";

/// One task: count the primes below `n`.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
pub struct Task {
    pub id: u64,
    pub n: u64,
}

/// What a worker sends back.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
pub struct Done {
    pub worker: u32,
    pub pid: u32,
    pub id: u64,
    pub n: u64,
    pub primes: u64,
    pub micros: u64,
}

/// Task `id`: sizes vary, so the workers that finish first take more.
pub fn task(id: u64) -> Task {
    Task {
        id,
        n: 2_000 + (id * 7_919) % 60_000,
    }
}

/// The primes below `n`, by trial division (real work, a little of it).
pub fn count_primes(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

/// The number of primes below each `n` up to the largest task, by a sieve:
/// how the parent checks the workers' answers without doing their work.
fn primes_below(n: u64) -> u64 {
    static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        const LIMIT: usize = 62_001;
        let mut composite = vec![false; LIMIT];
        let mut below = vec![0u64; LIMIT + 1];
        for k in 2..LIMIT {
            if !composite[k] {
                for m in (k * k..LIMIT).step_by(k) {
                    composite[m] = true;
                }
            }
            below[k + 1] = below[k] + u64::from(!composite[k]);
        }
        below
    });
    table[n as usize]
}

/// Does a task in a worker.
pub fn work(worker: u32, task: &ArchivedTask) -> Done {
    let start = std::time::Instant::now();
    let n = task.n.to_native();
    let primes = count_primes(n);
    Done {
        worker,
        pid: std::process::id(),
        id: task.id.to_native(),
        n,
        primes,
        micros: start.elapsed().as_micros() as u64,
    }
}

/// What one worker did, as the parent saw it.
#[derive(Default)]
pub struct Tally {
    pid: u32,
    tasks: u64,
    busy: Duration,
    biggest: Option<(u64, u64, u64)>,
}

/// Collects results and prints the report.
#[derive(Default)]
pub struct Report {
    workers: BTreeMap<u32, Tally>,
    seen: Vec<bool>,
}

impl Report {
    /// Records one result; panics on a wrong answer or a task done twice.
    pub fn record(&mut self, done: &ArchivedDone) {
        let (id, n, primes) = (done.id.to_native(), done.n.to_native(), done.primes.to_native());
        assert_eq!(n, task(id).n, "task {id} came back with another size");
        assert_eq!(
            primes,
            primes_below(n),
            "worker {} miscounted task {id}",
            done.worker
        );
        if self.seen.len() <= id as usize {
            self.seen.resize(id as usize + 1, false);
        }
        assert!(!self.seen[id as usize], "task {id} was done twice");
        self.seen[id as usize] = true;
        let t = self.workers.entry(done.worker.to_native()).or_default();
        t.pid = done.pid.to_native();
        t.tasks += 1;
        t.busy += Duration::from_micros(done.micros.to_native());
        if t.biggest.is_none_or(|(_, big, _)| n > big) {
            t.biggest = Some((id, n, primes));
        }
    }

    /// Prints what each worker did; panics unless every task was done.
    pub fn print(&self, backend: &str, elapsed: Duration) {
        let done = self.seen.iter().filter(|&&s| s).count() as u64;
        assert_eq!(done, TASKS, "some tasks were never done");
        println!("{TASKS} tasks, {WORKERS} worker processes, backend `{backend}`, {elapsed:.2?}:");
        for (worker, t) in &self.workers {
            let (id, n, primes) = t.biggest.unwrap_or_default();
            println!(
                "  worker {worker} (pid {}): {:>3} tasks, busy {:>8.2?}; its biggest: task {id}, {primes} primes below {n}",
                t.pid, t.tasks, t.busy
            );
        }
    }
}
