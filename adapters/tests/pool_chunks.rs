//! The pool with chunks (several tasks in one message each way) across
//! real processes: this test binary, started again as the workers (each
//! test registers the entries and passes `--exact <itself>`). Run on the
//! default backend, and on each with `--no-default-features --features
//! pipe` (or `shm`).
//!
//! They run on the local backends: over NATS (the `nats` feature alone)
//! every worker needs a server to reach, which these tests do not start.

#![cfg(any(feature = "queue", feature = "pipe", feature = "shm"))]

use std::{collections::HashMap, time::Duration};

use futures::StreamExt;
use transport_adapters::{
    pool::{TaskError, TaskErrorKind},
    process,
};

#[path = "support/work.rs"]
mod work;

use work::{HANGS, KILLS_ITSELF, PANICS, WORK, pool};

fn init() {
    process::init(&[&WORK]);
}

/// How many tasks the bulk test runs: fewer in debug builds, and fewer
/// still under Wine, where each message costs many times what it costs
/// natively.
const MANY: u64 = if cfg!(windows) {
    10_000
} else if cfg!(debug_assertions) {
    100_000
} else {
    1_000_000
};

/// The tasks of the replacement test, at most 20 per worker (fewer on
/// Windows, where each replacement starts a process under Wine).
const RETIRE_TASKS: u64 = if cfg!(windows) { 200 } else { 1_000 };

#[test]
fn chunked_map_imap_and_imap_unordered_give_every_result() {
    init();
    let pool = pool("chunked_map_imap_and_imap_unordered_give_every_result")
        .window(16)
        .build()
        .expect("a pool");
    let began = std::time::Instant::now();
    let results = pool.map_chunked(0..MANY, 1_000);
    let took = began.elapsed();
    // A figure for the reader, not a check.
    println!(
        "map of {MANY} tasks in chunks of 1000 on 3 workers: {took:.2?}, {:.0} tasks/s",
        MANY as f64 / took.as_secs_f64()
    );
    assert_eq!(results.len() as u64, MANY);
    for (n, result) in (0..).zip(results) {
        assert_eq!(result.expect("a result").0, n * n, "task {n}");
    }
    // A last chunk shorter than the others.
    let odd: Vec<u64> = pool
        .map_chunked(0..1_001, 100)
        .into_iter()
        .map(|r| r.expect("a result").0)
        .collect();
    assert_eq!(odd, (0..1_001).map(|n| n * n).collect::<Vec<_>>());
    assert!(pool.map_chunked(std::iter::empty(), 10).is_empty());
    // An endless input: the window (at least a prefetch of chunks per
    // worker) keeps what is held bounded.
    let first: Vec<u64> = pool
        .imap_chunked(0.., 7)
        .take(5_000)
        .map(|r| r.expect("a result").0)
        .collect();
    assert_eq!(first, (0..5_000).map(|n| n * n).collect::<Vec<_>>());
    let mut seen: Vec<u64> = pool
        .imap_unordered_chunked(0..10_000, 64)
        .map(|(i, r)| {
            assert_eq!(r.expect("a result").0, i * i);
            i
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..10_000).collect::<Vec<_>>());
}

#[test]
fn the_builder_chunksize_serves_map_imap_and_the_async_operations() {
    init();
    let pool = pool("the_builder_chunksize_serves_map_imap_and_the_async_operations")
        .chunksize(50)
        .build()
        .expect("a pool");
    assert_eq!(pool.chunksize(), 50);
    let squares: Vec<u64> = pool
        .map(0..2_000)
        .into_iter()
        .map(|r| r.expect("a result").0)
        .collect();
    assert_eq!(squares, (0..2_000).map(|n| n * n).collect::<Vec<_>>());
    let ordered: Vec<u64> = pool.imap(0..777).map(|r| r.expect("a result").0).collect();
    assert_eq!(ordered, (0..777).map(|n| n * n).collect::<Vec<_>>());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let results = pool.map_async(0..1_234).await;
        for (n, r) in (0..).zip(results) {
            assert_eq!(r.expect("a result").0, n * n);
        }
        let mut seen: Vec<u64> = pool
            .imap_stream(0..999)
            .map(|(i, r)| {
                assert_eq!(r.expect("a result").0, i * i);
                i
            })
            .collect()
            .await;
        seen.sort_unstable();
        assert_eq!(seen, (0..999).collect::<Vec<_>>());
    });
    // One task is still one task.
    assert_eq!(pool.apply(12).expect("a result").0, 144);
}

/// A task's position in the input, and its outcome.
type Numbered = (u64, Result<(u64, u32), TaskError>);

/// Checks that the tasks of `killed` (and only they) failed with a SIGKILL
/// of their worker, and every other task gave its result.
fn only_the_chunk_failed(args: &[u64], results: &[Numbered], killed: std::ops::Range<u64>) {
    assert_eq!(results.len(), args.len());
    let mut died = 0;
    for (i, result) in results {
        let n = args[*i as usize];
        match result.as_ref().map_err(TaskError::kind) {
            Ok((sq, _)) => {
                assert!(!killed.contains(i), "task {i} of the killed chunk gave a result");
                assert_eq!(*sq, n * n, "task {i}");
            }
            Err(TaskErrorKind::WorkerDied { pid, status }) => {
                assert!(killed.contains(i), "task {i} failed: worker {pid} died");
                #[cfg(unix)]
                {
                    use std::os::unix::process::ExitStatusExt;
                    assert_eq!(status.and_then(|s| s.signal()), Some(9), "{status:?}");
                }
                let _ = status;
                died += 1;
            }
            Err(e) => panic!("task {i}: {e}"),
        }
    }
    assert_eq!(died, killed.end - killed.start);
}

#[test]
fn a_worker_killed_mid_chunk_fails_exactly_that_chunk() {
    init();
    let pool = pool("a_worker_killed_mid_chunk_fails_exactly_that_chunk")
        .build()
        .expect("a pool");
    // Chunks of 100: the 44th, [4300, 4400), kills its worker at its 22nd
    // task, so the 21 before it were run but not answered.
    let args: Vec<u64> = (0..10_000)
        .map(|n| if n == 4_321 { KILLS_ITSELF } else { n })
        .collect();
    let results: Vec<_> = (0..).zip(pool.map_chunked(args.iter().copied(), 100)).collect();
    only_the_chunk_failed(&args, &results, 4_300..4_400);
    // The same on the unordered iterator, with chunks of 64: the chunk
    // [1984, 2048) holds task 2000.
    let args: Vec<u64> = (0..5_000)
        .map(|n| if n == 2_000 { KILLS_ITSELF } else { n })
        .collect();
    let mut results: Vec<_> = pool.imap_unordered_chunked(args.iter().copied(), 64).collect();
    results.sort_unstable_by_key(|(i, _)| *i);
    assert!(results.iter().enumerate().all(|(k, (i, _))| k as u64 == *i));
    only_the_chunk_failed(&args, &results, 1_984..2_048);
    // The pool still has its workers.
    assert_eq!(pool.apply(12).expect("a result after the deaths").0, 144);
}

#[test]
fn a_panic_in_a_chunk_fails_only_its_task() {
    init();
    let pool = pool("a_panic_in_a_chunk_fails_only_its_task")
        .build()
        .expect("a pool");
    let args: Vec<u64> = (0..1_000).map(|n| if n == 555 { PANICS } else { n }).collect();
    let results = pool.map_chunked(args.iter().copied(), 50);
    for (n, result) in args.iter().zip(results) {
        match result.map_err(TaskError::into_kind) {
            Ok((sq, _)) => assert_eq!(sq, n * n),
            Err(TaskErrorKind::Panicked { message, .. }) => {
                assert_eq!(*n, PANICS);
                assert!(message.contains("panics"), "{message}");
            }
            Err(e) => panic!("task {n}: {e}"),
        }
    }
}

#[test]
fn auto_chunksize_picks_pythons_chunks_and_panics_fail_only_their_tasks() {
    init();
    let pool = pool("auto_chunksize_picks_pythons_chunks_and_panics_fail_only_their_tasks")
        .auto_chunksize()
        .build()
        .expect("a pool");
    // 2,000 tasks on 3 workers: chunks of 167 (Python's 2000 / 12, rounded
    // up), the last one shorter. Panics at a chunk's first, second and
    // last positions, alone in the middle of another, and at the very end.
    const CHUNK: usize = 167;
    let panics = [0, 1, CHUNK - 1, 500, 1_999];
    let args: Vec<u64> = (0..2_000)
        .map(|n| if panics.contains(&n) { PANICS } else { n as u64 })
        .collect();
    let results = pool.map(args.iter().copied());
    assert_eq!(results.len(), args.len());
    let mut pids: Vec<Option<u32>> = Vec::new();
    for (n, (arg, result)) in args.iter().zip(results).enumerate() {
        match result.map_err(TaskError::into_kind) {
            Ok((sq, pid)) => {
                assert_eq!(sq, arg * arg, "task {n}");
                pids.push(Some(pid));
            }
            Err(TaskErrorKind::Panicked { message, .. }) => {
                assert!(panics.contains(&n), "task {n} panicked");
                assert!(message.contains("panics"), "{message}");
                pids.push(None);
            }
            Err(e) => panic!("task {n}: {e}"),
        }
    }
    // Each chunk ran in one worker: one pid for all of its tasks.
    for (k, chunk) in pids.chunks(CHUNK).enumerate() {
        let mut ran: Vec<u32> = chunk.iter().flatten().copied().collect();
        ran.dedup();
        assert_eq!(ran.len(), 1, "chunk {k} ran in the workers {ran:?}");
    }
}

#[test]
fn the_timeout_bounds_a_whole_chunk() {
    init();
    let pool = pool("the_timeout_bounds_a_whole_chunk")
        .task_timeout(Duration::from_secs(2))
        .build()
        .expect("a pool");
    let results = pool.map_chunked((0..300).map(|n| if n == 105 { HANGS } else { n }), 10);
    for (n, result) in (0..).zip(results) {
        match result.map_err(TaskError::into_kind) {
            Ok((sq, _)) => {
                assert!(
                    !(100..110).contains(&n),
                    "task {n} of the hung chunk gave a result"
                );
                assert_eq!(sq, n * n);
            }
            Err(TaskErrorKind::Timeout { after, .. }) => {
                assert!((100..110).contains(&n), "task {n} timed out");
                assert_eq!(after, Duration::from_secs(2));
            }
            Err(e) => panic!("task {n}: {e}"),
        }
    }
    assert_eq!(pool.apply(5).expect("a result after the timeout").0, 25);
}

#[test]
fn max_tasks_per_child_with_chunks_loses_nothing() {
    init();
    let pool = pool("max_tasks_per_child_with_chunks_loses_nothing")
        .max_tasks_per_child(20)
        .chunksize(10)
        .build()
        .expect("a pool");
    let mut per_pid: HashMap<u32, usize> = HashMap::new();
    for (n, result) in (0..).zip(pool.map(0..RETIRE_TASKS)) {
        let (sq, pid) = result.expect("every task gives its result");
        assert_eq!(sq, n * n);
        *per_pid.entry(pid).or_default() += 1;
    }
    // Chunks of 10 fit 20 exactly: no worker runs more.
    assert!(per_pid.values().all(|&k| k <= 20), "{per_pid:?}");
    assert!(
        per_pid.len() as u64 >= RETIRE_TASKS / 20,
        "only {} workers",
        per_pid.len()
    );
}
