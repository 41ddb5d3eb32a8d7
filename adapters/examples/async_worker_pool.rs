//! A worker pool written by hand on the async channels, with tokio in every
//! process (`worker_pool.rs` is the same work on `Pool`), the same code on
//! every backend:
//!
//! ```text
//! cargo run --release -p transport-adapters --example async_worker_pool
//! cargo run --release -p transport-adapters --example async_worker_pool --no-default-features --features pipe
//! cargo run --release -p transport-adapters --example async_worker_pool --no-default-features --features shm
//! ```
//!
//! The parent runs one task per worker process instead of a thread: it
//! keeps two tasks in flight on the worker's task channel, and
//! `send().await` waits (without blocking a thread) if the channel is full.
//! Each worker reads its tasks as a `Stream` and answers with
//! `send().await`; its stream ends when the parent drops the task channel.

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
    time::Instant,
};

use futures::StreamExt;
use pool::{Done, Report, TASKS, Task, WORKER_ID, WORKERS};
use transport_adapters::{AsyncReceiver, AsyncSender, Backend};
use transport_core::{CommandExt, Transport, from_env};

/// Tasks each worker has in flight: one it works on, one waiting.
const IN_FLIGHT: u64 = 2;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    match env::var(WORKER_ID) {
        Ok(id) => worker(id.parse()?).await,
        Err(_) => parent().await,
    }
}

async fn parent() -> Result<(), Box<dyn Error + Send + Sync>> {
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
        children.push(cmd.start()?);
        let (tasks, results) = (AsyncSender::from(task_tx), AsyncReceiver::from(done_rx));
        feeders.push(tokio::spawn(feed(
            tasks,
            results,
            Arc::clone(&next),
            Arc::clone(&report),
        )));
    }
    for feeder in feeders {
        feeder.await??;
    }
    for mut child in children {
        let status = tokio::task::spawn_blocking(move || child.wait()).await??;
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

/// Keeps one worker busy with up to [`IN_FLIGHT`] tasks.
async fn feed(
    tasks: AsyncSender<Task>,
    mut results: AsyncReceiver<Done>,
    next: Arc<AtomicU64>,
    report: Arc<Mutex<Report>>,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    let take = || Some(next.fetch_add(1, Ordering::Relaxed)).filter(|&id| id < TASKS);
    let mut in_flight = 0;
    while in_flight < IN_FLIGHT {
        let Some(id) = take() else { break };
        tasks.send(pool::task(id)).await?;
        in_flight += 1;
    }
    while in_flight > 0 {
        let done = results.recv().await?;
        report
            .lock()
            .map_err(|_| "the report lock is poisoned")?
            .record(&done);
        in_flight -= 1;
        if let Some(id) = take() {
            tasks.send(pool::task(id)).await?;
            in_flight += 1;
        }
    }
    // No more work: the worker's stream ends.
    drop(tasks);
    match results.recv().await {
        Err(e) if e.is_disconnected() => Ok(()),
        Err(e) => Err(e.into()),
        Ok(_) => Err("a worker sent a result nobody asked for".into()),
    }
}

async fn worker(id: u32) -> Result<(), Box<dyn Error + Send + Sync>> {
    let mut tasks: AsyncReceiver<Task> = from_env("tasks")?;
    let results: AsyncSender<Done> = from_env("results")?;
    while let Some(task) = tasks.next().await {
        let done = pool::work(id, &*task?);
        results.send(done).await?;
    }
    Ok(())
}
