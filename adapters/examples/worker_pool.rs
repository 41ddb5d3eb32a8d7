//! Python's `Pool(4).map(count_primes, sizes)`, as real processes, the
//! same code on every backend:
//!
//! ```text
//! cargo run --release -p transport-adapters --example worker_pool
//! cargo run --release -p transport-adapters --example worker_pool --no-default-features --features pipe
//! cargo run --release -p transport-adapters --example worker_pool --no-default-features --features shm
//! ```
//!
//! `process::init` names the function the workers run; `Pool::new`
//! starts four copies of this program as workers; `map` hands them the
//! tasks and gives the results back in order. The parent checks every
//! answer against a sieve and exits non-zero on a wrong one.

use std::{error::Error, time::Instant};

use transport_adapters::{
    Backend,
    pool::Pool,
    process::{self, Entry},
};
use transport_core::Transport;

/// The primes below `n`, by trial division (real work, a little of it).
fn count_primes(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

static COUNT_PRIMES: Entry<u64, u64> = Entry::new("count_primes", count_primes);

fn main() -> Result<(), Box<dyn Error>> {
    process::init(&[&COUNT_PRIMES]);

    let sizes: Vec<u64> = (0..400).map(|id| 2_000 + (id * 7_919) % 60_000).collect();
    let start = Instant::now();
    let pool = Pool::new(&COUNT_PRIMES, 4)?;
    let counts: Vec<u64> = pool
        .map(sizes.iter().copied())
        .into_iter()
        .collect::<Result<_, _>>()?;
    let elapsed = start.elapsed();

    let below = primes_below_each(62_001);
    for (n, count) in sizes.iter().zip(&counts) {
        if *count != below[*n as usize] {
            return Err(format!(
                "a worker counted {count} primes below {n}, not {}",
                below[*n as usize]
            )
            .into());
        }
    }
    println!(
        "{} tasks, {} worker processes, backend `{}`, {elapsed:.2?}: every count checked against a sieve \
         (the largest: {} primes below {})",
        sizes.len(),
        pool.workers(),
        Backend::NAME,
        counts.iter().max().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0),
    );
    Ok(())
}

/// The number of primes below each `n < limit`, by a sieve: how the parent
/// checks the workers' answers without doing their work.
fn primes_below_each(limit: usize) -> Vec<u64> {
    let mut composite = vec![false; limit];
    let mut below = vec![0u64; limit + 1];
    for k in 2..limit {
        if !composite[k] {
            for m in (k * k..limit).step_by(k) {
                composite[m] = true;
            }
        }
        below[k + 1] = below[k] + u64::from(!composite[k]);
    }
    below
}
