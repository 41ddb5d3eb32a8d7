//! Python's shared counter (`Value` + its lock), as real processes: four
//! workers add 10,000 each, and the total is always 40,000.
//!
//! ```text
//! cargo run -p transport-adapters --example shared_counter --no-default-features --features shm
//! cargo run -p transport-adapters --example shared_counter                  # queue
//! cargo run -p transport-adapters --example shared_counter --no-default-features --features pipe
//! ```
//!
//! Only shared memory can hold a counter that several processes change in
//! place. So the program differs by backend, and says which way it counts:
//!
//! - `shm`: the counter is a [`transport_shm::SharedValue`], and every
//!   worker adds under its process-shared, robust lock, as Python's
//!   `with counter.get_lock(): counter.value += 1` does.
//! - `queue` and `pipe`: message backends share no memory. The honest
//!   equivalent is the one Python's `Manager().Value` uses: one process
//!   owns the counter, and the others send it their increments. Here the
//!   parent owns it; each worker sends 10,000 increments on a channel of its
//!   own, and the parent applies them in the order each channel delivers
//!   them. Nothing is lost or counted twice, but the workers never read the
//!   counter's current value.

use std::{env, error::Error, process::Command};

use transport_core::{CommandExt, from_env};

const WORKERS: u64 = 4;
const ADDS: u64 = 10_000;
const WORKER: &str = "TRANSPORT_SHARED_COUNTER_WORKER";

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    if env::var_os(WORKER).is_some() {
        return counting::worker();
    }
    let total = counting::parent()?;
    println!(
        "{WORKERS} worker processes x {ADDS} increments = {total} ({})",
        counting::HOW
    );
    assert_eq!(total, WORKERS * ADDS);
    Ok(())
}

/// Starts a worker (this program again), `prepare` handing it what it
/// needs.
fn spawn(
    prepare: impl FnOnce(&mut Command) -> Result<(), Box<dyn Error + Send + Sync>>,
) -> Result<std::process::Child, Box<dyn Error + Send + Sync>> {
    let mut cmd = Command::new(env::current_exe()?);
    cmd.env(WORKER, "1");
    prepare(&mut cmd)?;
    Ok(cmd.start()?)
}

fn wait_all(children: Vec<std::process::Child>) -> Result<(), Box<dyn Error + Send + Sync>> {
    for mut child in children {
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("a worker failed: {status}").into());
        }
    }
    Ok(())
}

#[cfg(feature = "shm")]
mod counting {
    use super::*;
    use transport_shm::{OwnerDied, SharedValue};

    pub const HOW: &str = "a SharedValue in shared memory, each increment under its lock";

    pub fn parent() -> Result<u64, Box<dyn Error + Send + Sync>> {
        let counter = SharedValue::new(0u64)?;
        let children = (0..WORKERS)
            .map(|_| {
                spawn(|cmd| {
                    cmd.endpoint("counter", counter.clone())?;
                    Ok(())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        wait_all(children)?;
        Ok(counter.get().map_err(OwnerDied::unlocked)?)
    }

    pub fn worker() -> Result<(), Box<dyn Error + Send + Sync>> {
        let counter: SharedValue<u64> = from_env("counter")?;
        for _ in 0..ADDS {
            // The guard is the lock: the value is reachable only through it.
            *counter.lock().map_err(OwnerDied::unlocked)? += 1;
        }
        Ok(())
    }
}

#[cfg(not(feature = "shm"))]
mod counting {
    use std::{
        sync::{Arc, Mutex},
        thread,
    };

    use transport_adapters::{Receiver, Sender};

    use super::*;

    pub const HOW: &str = "owned by the parent, which applied every increment the workers sent";

    pub fn parent() -> Result<u64, Box<dyn Error + Send + Sync>> {
        let counter = Arc::new(Mutex::new(0u64));
        let mut children = Vec::new();
        let mut appliers = Vec::new();
        for _ in 0..WORKERS {
            let (tx, rx) = transport_adapters::bounded::<u64>(64)?;
            children.push(spawn(|cmd| {
                cmd.endpoint("increments", tx)?;
                Ok(())
            })?);
            let counter = Arc::clone(&counter);
            appliers.push(thread::spawn(move || apply(&rx, &counter)));
        }
        for applier in appliers {
            applier.join().map_err(|_| "an applier thread panicked")??;
        }
        wait_all(children)?;
        let total = *counter.lock().map_err(|_| "the counter lock is poisoned")?;
        Ok(total)
    }

    /// Applies one worker's increments until it is done.
    fn apply(increments: &Receiver<u64>, counter: &Mutex<u64>) -> Result<(), Box<dyn Error + Send + Sync>> {
        for add in increments.iter() {
            let add = add?.to_native();
            *counter.lock().map_err(|_| "the counter lock is poisoned")? += add;
        }
        Ok(())
    }

    pub fn worker() -> Result<(), Box<dyn Error + Send + Sync>> {
        let increments: Sender<u64> = from_env("increments")?;
        for _ in 0..ADDS {
            increments.send(1)?;
        }
        Ok(())
    }
}
