//! The pool's initializer across real processes (this test binary, started
//! again as the workers): it runs once in every worker, replacement workers
//! included, before the tasks, with the argument the parent gave; one that
//! panics, runs past the task timeout, or a worker that ends in it, fails
//! the tasks with a typed error in bounded time instead of having the pool
//! start workers forever.
//! Run on the default backend, and with `--no-default-features --features
//! pipe` (or `shm`).

#![cfg(any(feature = "queue", feature = "pipe", feature = "shm"))]

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU32, Ordering},
        mpsc,
    },
    thread,
    time::Duration,
};

use transport_adapters::{
    pool::{Builder, INIT_FAILURES, Pool, TaskError, TaskErrorKind},
    process::{self, Entry, Initializer},
};

/// What this worker's initializer was given.
static GIVEN: OnceLock<String> = OnceLock::new();
/// How many times this process ran the initializer.
static RUNS: AtomicU32 = AtomicU32::new(0);

/// Keeps the argument for the tasks of this process.
fn remember(arg: String) {
    RUNS.fetch_add(1, Ordering::SeqCst);
    let _ = GIVEN.set(arg);
}

/// What a task gives back: its argument, the worker's pid, what the
/// initializer left, and how often it ran.
type Report = (u64, u32, String, u32);

/// The task: its argument, the worker's pid, what the initializer left,
/// and how often it ran.
fn report(n: u64) -> Report {
    let given = GIVEN.get().cloned().unwrap_or_default();
    (n, std::process::id(), given, RUNS.load(Ordering::SeqCst))
}

/// The environment variable naming the directory where [`explode`] leaves
/// a file named by its worker's pid.
const TRIES_DIR: &str = "POOL_INIT_TEST_TRIES";

/// Leaves a trace of this worker, and panics.
fn explode(arg: String) {
    if let Some(dir) = std::env::var_os(TRIES_DIR) {
        let _ = std::fs::write(PathBuf::from(dir).join(std::process::id().to_string()), b"");
    }
    panic!("cannot set up: {arg}");
}

fn leave(code: i32) {
    std::process::exit(code);
}

/// Never returns.
fn hang(_: u64) {
    loop {
        thread::park();
    }
}

static REPORT: Entry<u64, Report> = Entry::new("report", report);
static REMEMBER: Initializer<String> = Initializer::new("remember", remember);
static EXPLODE: Initializer<String> = Initializer::new("explode", explode);
static LEAVE: Initializer<i32> = Initializer::new("leave", leave);
static HANG: Initializer<u64> = Initializer::new("hang", hang);

fn init() {
    process::init(&[&REPORT, &REMEMBER, &EXPLODE, &LEAVE, &HANG]);
}

/// How long a test waits for what must come in bounded time: far beyond
/// what it takes, so that only a hang reaches it.
const PATIENCE: Duration = Duration::from_secs(120);

fn pool(test: &str) -> Builder<u64, Report> {
    Pool::builder(&REPORT)
        .workers(3)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
}

/// Builds the pool, to be shared with the thread of [`map_within`].
fn shared(builder: Builder<u64, Report>) -> Arc<Pool<u64, Report>> {
    Arc::new(builder.build().expect("a pool"))
}

/// The error of a task given to a pool that cannot run it, which must come
/// within [`PATIENCE`].
fn refused(pool: &Pool<u64, Report>, n: u64) -> TaskError {
    pool.apply_async(n)
        .wait_timeout(PATIENCE)
        .expect("apply answers in bounded time")
        .expect_err("no worker runs it")
}

type Results = Vec<Result<Report, TaskError>>;

/// Runs `map` of `0..n` on another thread, and waits for it at most
/// [`PATIENCE`] (a hang fails the test rather than stalling it).
fn map_within(pool: &Arc<Pool<u64, Report>>, n: u64) -> Results {
    let (tx, rx) = mpsc::channel();
    let pool = Arc::clone(pool);
    thread::spawn(move || {
        let results = pool.map(0..n);
        // Let go of the pool before the results are handed over: the test's
        // own handle is then the last, and the pool is terminated and its
        // workers reaped on the test's thread before the test ends. Dropped
        // after the send, the last handle could be this thread's, still
        // reaping while the test process exits; Wine then left that
        // process's last thread running (one run in ~20 of this file).
        drop(pool);
        let _ = tx.send(results);
    });
    rx.recv_timeout(PATIENCE).expect("map returns in bounded time")
}

/// Checks that every result is its task's, from a worker whose
/// initializer ran once with `arg`; the tasks per worker pid.
fn tasks_per_worker(results: Results, arg: &str) -> HashMap<u32, usize> {
    let mut per_pid = HashMap::new();
    for (n, result) in results.into_iter().enumerate() {
        let (m, pid, given, runs) = result.expect("every task gives its result");
        assert_eq!(m, n as u64);
        assert_eq!(given, arg, "worker {pid} saw another argument");
        assert_eq!(runs, 1, "worker {pid} ran its initializer {runs} times");
        *per_pid.entry(pid).or_insert(0) += 1;
    }
    per_pid
}

#[test]
fn the_initializer_runs_once_in_every_worker_before_its_tasks() {
    init();
    let arg = "from the parent ✓".to_owned();
    let pool = shared(
        pool("the_initializer_runs_once_in_every_worker_before_its_tasks")
            .initializer(&REMEMBER, arg.clone())
            // One task in a worker at a time spreads them over the workers.
            .prefetch(1),
    );
    let per_pid = tasks_per_worker(map_within(&pool, 300), &arg);
    assert!(!per_pid.contains_key(&std::process::id()));
    // Three workers, none replaced: at most three pids.
    assert!(
        (1..=3).contains(&per_pid.len()),
        "{} workers: {per_pid:?}",
        per_pid.len()
    );
    let (_, _, given, runs) = pool.apply(7).expect("apply after map");
    assert_eq!((given.as_str(), runs), (arg.as_str(), 1));
}

#[test]
fn replacement_workers_run_the_initializer_too() {
    init();
    let arg = "again".to_owned();
    let pool = shared(
        pool("replacement_workers_run_the_initializer_too")
            .initializer(&REMEMBER, arg.clone())
            .max_tasks_per_child(5),
    );
    let per_pid = tasks_per_worker(map_within(&pool, 100), &arg);
    assert!(per_pid.values().all(|&k| k <= 5), "{per_pid:?}");
    assert!(per_pid.len() >= 20, "only {} workers: {per_pid:?}", per_pid.len());
}

#[test]
fn a_panicking_initializer_fails_the_tasks_instead_of_hanging() {
    init();
    let tries = std::env::temp_dir().join(format!("pool-init-tries-{}", std::process::id()));
    std::fs::create_dir_all(&tries).expect("a directory for the workers' traces");
    let pool = shared(
        pool("a_panicking_initializer_fails_the_tasks_instead_of_hanging")
            .initializer(&EXPLODE, "no database".to_owned())
            .env(TRIES_DIR, &tries),
    );
    let results = map_within(&pool, 50);
    assert_eq!(results.len(), 50);
    for (n, result) in results.into_iter().enumerate() {
        match result.map_err(TaskError::into_kind) {
            Err(TaskErrorKind::InitPanicked {
                initializer,
                pid,
                message,
            }) => {
                assert_eq!(initializer, "explode", "task {n}");
                assert_eq!(message, "cannot set up: no database", "task {n}");
                assert_ne!(pid, std::process::id());
            }
            other => panic!("task {n}: {other:?}"),
        }
    }
    // The pool has given up: a later task fails the same way, at once.
    let error = refused(&pool, 1);
    assert!(error.is_init_failed(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("`explode`") && text.contains("cannot set up: no database"),
        "{text}"
    );
    // It started no more workers than the three, and one in place of
    // each failure but the last (all were reaped before the tasks failed).
    let started = std::fs::read_dir(&tries).expect("the traces").count();
    let _ = std::fs::remove_dir_all(&tries);
    let most = 3 + INIT_FAILURES as usize - 1;
    // A figure for the reader.
    println!("{started} workers ran the panicking initializer");
    assert!(
        (1..=most).contains(&started),
        "{started} workers ran the initializer, at most {most} expected"
    );
}

#[test]
fn a_worker_that_exits_in_its_initializer_fails_the_tasks() {
    init();
    let pool = shared(pool("a_worker_that_exits_in_its_initializer_fails_the_tasks").initializer(&LEAVE, 9));
    let error = refused(&pool, 3);
    match error.into_kind() {
        TaskErrorKind::InitDied {
            initializer, status, ..
        } => {
            assert_eq!(initializer, "leave");
            assert_eq!(status.and_then(|s| s.code()), Some(9), "{status:?}");
        }
        other => panic!("{other:?}"),
    }
    let results = map_within(&pool, 10);
    assert!(
        results.iter().all(|r| matches!(
            r.as_ref().map_err(TaskError::kind),
            Err(TaskErrorKind::InitDied { .. })
        )),
        "{results:?}"
    );
}

#[test]
fn the_task_timeout_bounds_the_initializer() {
    init();
    let timeout = Duration::from_millis(300);
    let pool = shared(
        pool("the_task_timeout_bounds_the_initializer")
            .initializer(&HANG, 0)
            .task_timeout(timeout),
    );
    let error = refused(&pool, 3);
    match error.into_kind() {
        TaskErrorKind::InitTimeout {
            initializer, after, ..
        } => assert_eq!((initializer, after), ("hang", timeout)),
        other => panic!("{other:?}"),
    }
    let results = map_within(&pool, 10);
    assert!(
        results.iter().all(|r| matches!(
            r.as_ref().map_err(TaskError::kind),
            Err(TaskErrorKind::InitTimeout { .. })
        )),
        "{results:?}"
    );
}
