//! The task the pool tests' workers run, with arguments that make it fail
//! in each way a worker can, and a pool of this test binary as workers.
//! Shared by `tests/pool.rs` and `tests/pool_chunks.rs`.

#![allow(dead_code)]

use std::process::Command;

use transport_adapters::{
    pool::{Builder, Pool},
    process::Entry,
};

/// What a task does besides squaring its argument.
pub const PANICS: u64 = 1_000_003;
pub const EXITS: u64 = 1_000_005;
pub const KILLS_ITSELF: u64 = 1_000_007;
pub const HANGS: u64 = 1_000_009;

/// The square of `n` and the worker's pid, or a fault for the special
/// arguments above.
fn work(n: u64) -> (u64, u32) {
    match n {
        PANICS => panic!("task {n} panics"),
        EXITS => std::process::exit(7),
        KILLS_ITSELF => {
            // A real SIGKILL in the middle of the task (on Windows, an
            // abort: the process ends at once, with no unwinding and no
            // answer).
            if cfg!(unix) {
                let _ = Command::new("kill")
                    .args(["-9", &std::process::id().to_string()])
                    .status();
            }
            std::process::abort()
        }
        HANGS => loop {
            std::thread::park();
        },
        n => (n * n, std::process::id()),
    }
}

pub static WORK: Entry<u64, (u64, u32)> = Entry::new("work", work);

/// A pool whose workers are this test binary running test `test`.
pub fn pool(test: &str) -> Builder<u64, (u64, u32)> {
    Pool::builder(&WORK)
        .workers(3)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
}
