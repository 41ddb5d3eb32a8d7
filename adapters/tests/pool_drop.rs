//! Dropping a pool kills and reaps its workers and leaves no shared
//! memory behind. Alone in its test binary, so that no other test's
//! segments are counted.
//!
//! It runs on the local backends: over NATS (the `nats` feature alone)
//! every worker needs a server to reach, which this test does not start.

#![cfg(any(feature = "queue", feature = "pipe", feature = "shm"))]

use std::collections::HashSet;

use transport_adapters::{
    pool::Pool,
    process::{self, Entry, Spawner},
};

#[path = "support/start.rs"]
mod start;

const HANGS: u64 = u64::MAX;

fn work(n: u64) -> (u64, u32) {
    if n == HANGS {
        loop {
            std::thread::park();
        }
    }
    (n * n, std::process::id())
}

static WORK: Entry<u64, (u64, u32)> = Entry::new("work", work);

/// This process's shared-memory segments (the shm backend names them
/// `tshm_<creator pid in hex>_...`).
fn my_segments() -> Vec<String> {
    let prefix = format!("tshm_{:x}_", std::process::id());
    std::fs::read_dir("/dev/shm")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn dropping_the_pool_leaves_no_worker_and_no_segment() {
    process::init(&[&WORK]);
    let pool = Pool::builder(&WORK)
        .workers(3)
        .args(ARGS)
        .build()
        .expect("a pool");
    let pids: HashSet<u32> = pool
        .map(0..300)
        .into_iter()
        .map(|r| r.expect("a result").1)
        .collect();
    assert_eq!(pids.len(), 3, "every worker took tasks: {pids:?}");
    // One worker is busy, forever, when the pool goes.
    let hung = pool.apply_async(HANGS);
    drop(pool);
    assert!(hung.wait().is_err());
    // A zombie would still have its entry: the pool reaped them all.
    #[cfg(target_os = "linux")]
    for pid in &pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "worker {pid} outlived the pool"
        );
    }
    assert_eq!(my_segments(), Vec::<String>::new());

    // Workers replaced after 5 tasks, some still retiring when the pool
    // goes; and a child killed in the middle of its call.
    let pool = Pool::builder(&WORK)
        .workers(2)
        .max_tasks_per_child(5)
        .args(ARGS)
        .build()
        .expect("a pool");
    for (n, result) in pool.map(0..50).into_iter().enumerate() {
        assert_eq!(result.expect("a result").0, (n * n) as u64);
    }
    drop(pool);
    let mut spawner = Spawner::new();
    spawner.args(ARGS);
    let mut hung = start::start(&spawner, &WORK, HANGS);
    hung.kill();
    assert!(hung.wait_timeout(std::time::Duration::from_secs(5)).is_err());
    drop(hung);
    assert_eq!(my_segments(), Vec::<String>::new());
}

const ARGS: [&str; 4] = [
    "--exact",
    "dropping_the_pool_leaves_no_worker_and_no_segment",
    "--nocapture",
    "--test-threads=1",
];
