//! The pool's throughput, as `cargo xtask bench` measures it (its
//! `pool-<backend>` rows run this program, built once per backend):
//! tasks per second of `map` over trivial tasks, or of `imap` over tasks
//! with a large argument, on the selected backend.
//!
//! ```text
//! pool_bench --tasks N --payload BYTES --workers W --chunksizes 1,100,... [--maps M]
//! ```
//!
//! Starting the workers is not timed. Each chunk size is tried `M` times
//! (default 1), after an untimed warm-up (for trivial tasks, one more map
//! of the same tasks and chunk size: the first maps of a new pool run
//! slower while its buffers are first filled, as Python's do; the Python
//! peers warm up the same way), and counts with the median of its tries;
//! the last line printed is
//! `result tasks_per_s=<best median> chunksize=<its chunk size>`.

use std::{error::Error, time::Instant};

use transport_adapters::{
    pool::Pool,
    process::{self, Entry},
};

fn square(n: u64) -> u64 {
    n.wrapping_mul(n)
}
static SQUARE: Entry<u64, u64> = Entry::new("bench_square", square);

fn length(bytes: Vec<u8>) -> u64 {
    bytes.len() as u64
}
static LENGTH: Entry<Vec<u8>, u64> = Entry::new("bench_length", length);

struct Options {
    tasks: u64,
    payload: usize,
    workers: usize,
    chunksizes: Vec<usize>,
    maps: usize,
}

fn options() -> Result<Options, Box<dyn Error>> {
    let mut opts = Options {
        tasks: 100_000,
        payload: 8,
        workers: 3,
        chunksizes: vec![1],
        maps: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--tasks" => opts.tasks = value.parse()?,
            "--payload" => opts.payload = value.parse()?,
            "--workers" => opts.workers = value.parse()?,
            "--maps" => opts.maps = value.parse::<usize>()?.max(1),
            "--chunksizes" => {
                opts.chunksizes = value.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            other => return Err(format!("unknown option `{other}`").into()),
        }
    }
    Ok(opts)
}

/// Tasks per second of one timed `map` of trivial tasks.
fn trivial(pool: &Pool<u64, u64>, tasks: u64, chunksize: usize) -> Result<f64, Box<dyn Error>> {
    let began = Instant::now();
    let results = pool.map_chunked(0..tasks, chunksize);
    let secs = began.elapsed().as_secs_f64();
    for (n, result) in (0..).zip(results) {
        if result? != square(n) {
            return Err(format!("task {n} gave a wrong result").into());
        }
    }
    Ok(tasks as f64 / secs)
}

/// Tasks per second of one timed `imap` of tasks whose argument is
/// `payload` (an `imap`, so only its window of arguments is in memory).
fn large(
    pool: &Pool<Vec<u8>, u64>,
    payload: &[u8],
    tasks: u64,
    chunksize: usize,
) -> Result<f64, Box<dyn Error>> {
    let began = Instant::now();
    for result in pool.imap_chunked((0..tasks).map(|_| payload.to_vec()), chunksize) {
        if result? != payload.len() as u64 {
            return Err("a task gave a wrong length".into());
        }
    }
    Ok(tasks as f64 / began.elapsed().as_secs_f64())
}

/// The median rate of `maps` tries of `run` (each printed).
fn median_of(
    maps: usize,
    chunksize: usize,
    mut run: impl FnMut() -> Result<f64, Box<dyn Error>>,
) -> Result<f64, Box<dyn Error>> {
    let mut rates = Vec::with_capacity(maps);
    for _ in 0..maps {
        let rate = run()?;
        println!("chunksize={chunksize} tasks_per_s={rate:.0}");
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}

fn main() -> Result<(), Box<dyn Error>> {
    process::init(&[&SQUARE, &LENGTH]);
    let opts = options()?;
    let mut best = (0.0_f64, 0);
    if opts.payload <= 8 {
        let pool = Pool::new(&SQUARE, opts.workers)?;
        trivial(&pool, opts.tasks / 10 + 1, 100)?;
        for &chunksize in &opts.chunksizes {
            trivial(&pool, opts.tasks, chunksize)?;
            let rate = median_of(opts.maps, chunksize, || trivial(&pool, opts.tasks, chunksize))?;
            if rate > best.0 {
                best = (rate, chunksize);
            }
        }
    } else {
        let pool = Pool::builder(&LENGTH)
            .workers(opts.workers)
            .prefetch(2)
            .window(opts.workers * 2)
            .build()?;
        let payload: Vec<u8> = (0..opts.payload).map(|i| (i * 31 + 7) as u8).collect();
        large(&pool, &payload, opts.workers as u64, 1)?;
        for &chunksize in &opts.chunksizes {
            let rate = median_of(opts.maps, chunksize, || {
                large(&pool, &payload, opts.tasks, chunksize)
            })?;
            if rate > best.0 {
                best = (rate, chunksize);
            }
        }
    }
    println!("result tasks_per_s={:.0} chunksize={}", best.0, best.1);
    Ok(())
}
