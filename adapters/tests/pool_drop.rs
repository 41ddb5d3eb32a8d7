//! Dropping a pool kills and reaps its workers and leaves no shared
//! memory behind. Alone in its test binary, so that no other test's
//! segments are counted.

use std::collections::HashSet;

use transport_adapters::{
    pool::Pool,
    process::{self, Entry},
};

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
        .args([
            "--exact",
            "dropping_the_pool_leaves_no_worker_and_no_segment",
            "--nocapture",
            "--test-threads=1",
        ])
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
    for pid in &pids {
        // A zombie would still have its entry: the pool reaped them all.
        #[cfg(target_os = "linux")]
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "worker {pid} outlived the pool"
        );
    }
    assert_eq!(my_segments(), Vec::<String>::new());
}
