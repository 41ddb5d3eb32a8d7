//! Python's classic shared counter (`Value` + `Lock`), as real processes:
//! the parent creates a counter in shared memory, starts four copies of
//! this program as workers, each adds 10,000 under the lock, and the parent
//! prints the total, which is always 40,000.
//!
//! Run with `cargo run -p transport-shm --example shared_counter`.

use std::{env, process::Command};

use transport_core::{CommandExt, from_env};
use transport_shm::{OwnerDied, SharedValue};

const WORKERS: usize = 4;
const ADDS: u64 = 10_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if env::var_os("SHARED_COUNTER_WORKER").is_some() {
        // Worker: open the counter the parent handed over and add to it.
        let counter: SharedValue<u64> = from_env("counter")?;
        for _ in 0..ADDS {
            *counter.lock().map_err(OwnerDied::unlocked)? += 1;
        }
        return Ok(());
    }

    let counter = SharedValue::new(0u64)?;
    let mut children = Vec::new();
    for _ in 0..WORKERS {
        let mut cmd = Command::new(env::current_exe()?);
        cmd.env("SHARED_COUNTER_WORKER", "1")
            .endpoint("counter", counter.clone())?;
        children.push(cmd.start()?);
    }
    for mut child in children {
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("a worker failed: {status}").into());
        }
    }
    let total = counter.get().map_err(OwnerDied::unlocked)?;
    println!("{WORKERS} workers x {ADDS} locked increments = {total}");
    assert_eq!(total, WORKERS as u64 * ADDS);
    Ok(())
}
