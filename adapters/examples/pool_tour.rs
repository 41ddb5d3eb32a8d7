//! The rest of the pool, in one short run, the same code on every backend:
//! one call in a child with `spawn`, `imap_unordered` over an endless
//! input, a worker that crashes mid-task while the others go on, the
//! async operations under tokio, and an initializer that every worker runs
//! once before its tasks.
//!
//! ```text
//! cargo run --release -p transport-adapters --example pool_tour
//! cargo run --release -p transport-adapters --example pool_tour --no-default-features --features pipe
//! cargo run --release -p transport-adapters --example pool_tour --no-default-features --features shm
//! ```

use std::{error::Error, sync::OnceLock};

use futures::StreamExt;
use transport_adapters::{
    Backend,
    pool::{Pool, TaskError, TaskErrorKind},
    process::{self, Entry, Initializer},
};
use transport_core::Transport;

/// The argument on which a worker dies, as a segfault or `kill -9` would
/// have it.
const CRASHES: u64 = 13;

/// What the initializer gave this worker to add to its squares.
static OFFSET: OnceLock<u64> = OnceLock::new();

/// `n` squared (plus the offset, if an initializer set one), with the pid
/// of the process that did it; dies on [`CRASHES`].
fn square(n: u64) -> (u64, u32) {
    if n == CRASHES {
        std::process::abort();
    }
    (n * n + OFFSET.get().copied().unwrap_or(0), std::process::id())
}

fn set_offset(offset: u64) {
    let _ = OFFSET.set(offset);
}

static SQUARE: Entry<u64, (u64, u32)> = Entry::new("square", square);
static SET_OFFSET: Initializer<u64> = Initializer::new("set_offset", set_offset);

fn main() -> Result<(), Box<dyn Error>> {
    process::init(&[&SQUARE, &SET_OFFSET]);
    println!("backend `{}`, parent {}", Backend::NAME, std::process::id());

    // One call, one child process.
    let (sq, pid) = process::spawn(&SQUARE, 12)?.wait()?;
    println!("spawn: 12² = {sq}, computed by process {pid}");

    let pool = Pool::new(&SQUARE, 4)?;

    // Results as they come, over an endless input: at most `window` tasks
    // are in the pool at a time.
    let mut firsts = Vec::new();
    for (position, result) in pool.imap_unordered(100..).take(5) {
        firsts.push((100 + position, result?.0));
    }
    println!("imap_unordered over 100..: the first five to finish, (n, n²): {firsts:?}");

    // A worker dies in the middle of task 13: only that task fails, the
    // worker is replaced, every other task completes.
    let results = pool.map(0..40);
    for (n, result) in results.iter().enumerate() {
        match result.as_ref().map_err(TaskError::kind) {
            Ok((sq, _)) if *sq == (n * n) as u64 => {}
            Err(TaskErrorKind::WorkerDied { pid, status }) if n as u64 == CRASHES => {
                let status = status.map_or("unknown".to_owned(), |s| s.to_string());
                println!("map: task {n} failed: worker {pid} died ({status}); the other 39 tasks answered");
            }
            other => return Err(format!("task {n}: unexpected {other:?}").into()),
        }
    }

    // The same from async code: the pool's thread waits, not the executor.
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let (sq, _) = pool.apply_future(9).await?;
        let sum: u64 = pool
            .imap_stream(100..200)
            .map(|(_, r)| r.map_or(0, |(sq, _)| sq))
            .fold(0, |a, b| async move { a + b })
            .await;
        println!("async: 9² = {sq}; the squares of 100..200 add up to {sum}");
        Ok::<_, TaskError>(())
    })?;

    // Every worker of this pool runs the initializer once, before its
    // first task, with the argument sent from here.
    let offset_pool = Pool::builder(&SQUARE)
        .workers(2)
        .initializer(&SET_OFFSET, 1000)
        .build()?;
    let (sq, pid) = offset_pool.apply(3)?;
    println!("initializer: 3² + 1000 = {sq}, computed by process {pid}");
    Ok(())
}
