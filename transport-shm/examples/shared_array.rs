//! Python's classic shared array (`Array('d', ...)`), as real processes:
//! the parent puts ten numbers in shared memory, a worker (this program,
//! started again) squares them in place under the array's lock, and the
//! parent prints the result.
//!
//! Run with `cargo run -p transport-shm --example shared_array`.

use std::{env, process::Command};

use transport_core::{CommandExt, from_env};
use transport_shm::{OwnerDied, SharedArray};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if env::var_os("SHARED_ARRAY_WORKER").is_some() {
        let numbers: SharedArray<f64> = from_env("numbers")?;
        let mut guard = numbers.lock().map_err(OwnerDied::unlocked)?;
        for x in guard.iter_mut() {
            *x = -*x * *x;
        }
        return Ok(());
    }

    let start: Vec<f64> = (0..10).map(f64::from).collect();
    let numbers = SharedArray::from_slice(&start)?;
    let status = Command::new(env::current_exe()?)
        .env("SHARED_ARRAY_WORKER", "1")
        .endpoint("numbers", numbers.clone())?
        .status()?;
    if !status.success() {
        return Err(format!("the worker failed: {status}").into());
    }
    let result = numbers.to_vec().map_err(OwnerDied::unlocked)?;
    println!("{result:?}");
    assert_eq!(result, start.iter().map(|x| -x * x).collect::<Vec<_>>());
    Ok(())
}
