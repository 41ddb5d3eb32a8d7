//! Python's classic worker pool, as real processes: the parent fills a task
//! queue, N worker processes (this same program, started again) take tasks
//! and put results on a second queue, and the parent collects them.
//!
//! ```text
//! cargo run -p transport-queue --example worker_pool
//! ```
//!
//! The Python it mirrors:
//!
//! ```text
//! def worker(tasks, results):
//!     for n in iter(tasks.get, None):
//!         results.put((n, n * n))
//!         tasks.task_done()
//!     tasks.task_done()
//!
//! tasks, results = JoinableQueue(), Queue()
//! procs = [Process(target=worker, args=(tasks, results)) for _ in range(4)]
//! ...
//! ```

use std::{env, error::Error, process::Command};

use transport_core::{CommandExt, from_env};
use transport_queue::Queue;

const WORKERS: u32 = 4;
const TASKS: u64 = 1000;

/// One result: which worker squared which number.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
struct Squared {
    worker: u32,
    n: u64,
    square: u64,
}

fn main() -> Result<(), Box<dyn Error>> {
    match env::var("WORKER_ID") {
        Ok(id) => worker(id.parse()?),
        Err(_) => parent(),
    }
}

fn parent() -> Result<(), Box<dyn Error>> {
    // `None` is the "no more work" sentinel, as in Python.
    let tasks = transport_queue::Queue::<Option<u64>>::unbounded();
    let results = transport_queue::Queue::<Squared>::unbounded();

    let mut workers = Vec::new();
    for id in 0..WORKERS {
        let mut cmd = Command::new(env::current_exe()?);
        cmd.env("WORKER_ID", id.to_string())
            .endpoint("tasks", tasks.clone())?
            .endpoint("results", results.clone())?;
        workers.push(cmd.start()?);
    }

    for n in 0..TASKS {
        tasks.put(Some(n))?;
    }
    for _ in 0..WORKERS {
        tasks.put(None)?;
    }

    let mut total = 0u64;
    let mut per_worker = [0u32; WORKERS as usize];
    for _ in 0..TASKS {
        let r = results.get()?;
        assert_eq!(r.square, r.n * r.n, "worker {} got {} wrong", r.worker, r.n);
        total += r.square.to_native();
        per_worker[r.worker.to_native() as usize] += 1;
    }
    // Every task (sentinels included) was marked done.
    tasks.join()?;
    for mut w in workers {
        let status = w.wait()?;
        assert!(status.success(), "a worker failed: {status}");
    }
    let expected: u64 = (0..TASKS).map(|n| n * n).sum();
    assert_eq!(total, expected);
    println!("{TASKS} tasks done by {WORKERS} worker processes {per_worker:?}; sum of squares {total}");
    Ok(())
}

fn worker(id: u32) -> Result<(), Box<dyn Error>> {
    let tasks: Queue<Option<u64>> = from_env("tasks")?;
    let results: Queue<Squared> = from_env("results")?;
    loop {
        let task = tasks.get()?;
        let Some(n) = task.as_ref().map(|n| n.to_native()) else {
            tasks.task_done()?;
            return Ok(());
        };
        results.put(Squared {
            worker: id,
            n,
            square: n * n,
        })?;
        tasks.task_done()?;
    }
}
