//! Python's worker pool (a task `Queue`, worker processes, a result
//! `Queue`), as real processes, the same code on every backend:
//!
//! ```text
//! cargo run --release -p transport-adapters --example worker_pool
//! cargo run --release -p transport-adapters --example worker_pool --no-default-features --features pipe
//! cargo run --release -p transport-adapters --example worker_pool --no-default-features --features shm
//! ```
//!
//! The parent starts four copies of this program as workers. Pipes and the
//! shared-memory channel have one consumer per channel, so instead of one
//! shared task queue each worker gets a task channel and a result channel
//! of its own (on `queue` too, so the program is the same everywhere). The
//! work is still shared out as with one queue: in the parent, a feeder
//! thread per worker takes the next task from a common counter as soon as
//! its worker has sent back the previous result, so a fast worker takes
//! more. The parent checks every answer and prints what each worker did.
//!
//! The Python it mirrors:
//!
//! ```text
//! def worker(tasks, results):
//!     for task in iter(tasks.get, None):
//!         results.put(count_primes(task))
//! ```

#[path = "common/pool.rs"]
mod pool;

use std::{
    env,
    error::Error,
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    thread,
    time::Instant,
};

use pool::{Done, Report, TASKS, Task, WORKER_ID, WORKERS};
use transport_adapters::{Backend, Receiver, Sender};
use transport_core::{CommandExt, Transport, from_env};

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    match env::var(WORKER_ID) {
        Ok(id) => worker(id.parse()?),
        Err(_) => parent(),
    }
}

fn parent() -> Result<(), Box<dyn Error + Send + Sync>> {
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let report = Arc::new(Mutex::new(Report::default()));
    let mut children = Vec::new();
    let mut feeders = Vec::new();
    for id in 0..WORKERS {
        let (task_tx, task_rx) = transport_adapters::bounded::<Task>(4)?;
        let (done_tx, done_rx) = transport_adapters::bounded::<Done>(4)?;
        let mut cmd = Command::new(env::current_exe()?);
        cmd.env(WORKER_ID, id.to_string())
            .endpoint("tasks", task_rx)?
            .endpoint("results", done_tx)?;
        children.push(cmd.spawn()?);
        let (next, report) = (Arc::clone(&next), Arc::clone(&report));
        feeders.push(thread::spawn(move || feed(task_tx, done_rx, &next, &report)));
    }
    for feeder in feeders {
        feeder.join().map_err(|_| "a feeder thread panicked")??;
    }
    for mut child in children {
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("a worker failed: {status}").into());
        }
    }
    let report = report
        .lock()
        .map_err(|_| "a feeder panicked holding the report")?;
    report.print(Backend::NAME, start.elapsed());
    Ok(())
}

/// Keeps one worker busy: a task out, its result back, the next task.
fn feed(
    tasks: Sender<Task>,
    results: Receiver<Done>,
    next: &AtomicU64,
    report: &Mutex<Report>,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    loop {
        let id = next.fetch_add(1, Ordering::Relaxed);
        if id >= TASKS {
            break;
        }
        tasks.send(pool::task(id))?;
        let done = results.recv()?;
        report
            .lock()
            .map_err(|_| "the report lock is poisoned")?
            .record(&done);
    }
    // No more work: the worker's receive says `Disconnected`, as Python's
    // `None` sentinel would.
    drop(tasks);
    match results.recv() {
        Err(e) if e.is_disconnected() => Ok(()),
        Err(e) => Err(e.into()),
        Ok(_) => Err("a worker sent a result nobody asked for".into()),
    }
}

fn worker(id: u32) -> Result<(), Box<dyn Error + Send + Sync>> {
    let tasks: Receiver<Task> = from_env("tasks")?;
    let results: Sender<Done> = from_env("results")?;
    for task in tasks.iter() {
        results.send(pool::work(id, &*task?))?;
    }
    Ok(())
}
