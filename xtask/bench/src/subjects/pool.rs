//! Pools of worker processes: ours (`pool-queue`, `pool-pipe`,
//! `pool-shm`: the adapters' `pool_bench` example, which `cargo xtask
//! bench` builds once per backend into `$TRANSPORT_BENCH_POOL_DIR`) and
//! Python's (`python-pool`: `multiprocessing.Pool.map`; `python-executor`:
//! `concurrent.futures.ProcessPoolExecutor.map`, through
//! `python/pool_peers.py`). The same worker count, task and chunk sizes
//! for all, and the same number of maps per chunk size; each program
//! reports the best of the chunk sizes it tried, each by its median map.

use std::{path::PathBuf, process::Command, process::Stdio, thread};

use super::python::{interpreter, run_script};
use crate::{
    measure::{Job, Run},
    sys,
};

/// Worker processes of every pool.
pub const WORKERS: usize = 3;

/// The environment variable naming the directory of `pool-<backend>`.
pub const DIR_VAR: &str = "TRANSPORT_BENCH_POOL_DIR";

/// The Python script, next to this crate's sources.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/pool_peers.py");

/// The chunk sizes every pool tries for `tasks` tasks: Python's own
/// choice for `map` (`tasks / (4 × workers)`, rounded up), and, for
/// trivial tasks, 100, 1,000 and one chunk per worker (`tasks / workers`,
/// the fewest messages; each side counts with its best, and Python's pool
/// is slower there: 4.6 M against 7.5 M tasks/s at its own choice, for
/// 100,000 tasks on the development machine); for large ones, 1.
fn chunksizes(tasks: usize, payload: usize) -> String {
    let auto = tasks.div_ceil(4 * WORKERS).max(1);
    let wanted = if payload <= 8 {
        vec![100, 1_000, auto, tasks.div_ceil(WORKERS).max(1)]
    } else {
        vec![1, auto]
    };
    let mut sizes = Vec::new();
    for size in wanted {
        if !sizes.contains(&size) {
            sizes.push(size);
        }
    }
    sizes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// How many times every pool runs each chunk size (it counts with the
/// median), after one untimed map of the same size (each program's own
/// warm-up): nine for trivial tasks, whose single map takes a millisecond
/// or so and moves by a third from one map to the next; one for large
/// tasks, whose map runs long enough on its own.
fn maps(payload: usize) -> usize {
    if payload <= 8 { 9 } else { 1 }
}

/// The parent's side: runs the pool program for this job, from a thread
/// that may use every CPU (the bench's own thread is pinned, and the pool
/// and its workers would inherit that).
pub fn parent(job: &Job) -> Result<Run, String> {
    let cmd = command(job)?;
    let limit = job.limit;
    let runner = thread::Builder::new()
        .name("pool-bench".into())
        .spawn(move || {
            sys::unpin_current_thread().map_err(|e| format!("cannot unpin the pool's thread: {e}"))?;
            run_script(cmd, limit)
        })
        .map_err(|e| format!("starting a thread: {e}"))?;
    // Not pinned (the report says so): a pool uses every CPU.
    runner
        .join()
        .map_err(|_| "the pool's thread panicked".to_owned())?
}

fn command(job: &Job) -> Result<Command, String> {
    let sizes = chunksizes(job.count, job.payload);
    let mut cmd = if let Some(backend) = job.subject.strip_prefix("pool-") {
        let dir = std::env::var_os(DIR_VAR)
            .map(PathBuf::from)
            .ok_or_else(|| format!("{DIR_VAR} is not set: run the pool rows through `cargo xtask bench`"))?;
        let mut cmd = Command::new(dir.join(format!("pool-{backend}{}", std::env::consts::EXE_SUFFIX)));
        cmd.args(["--tasks", &job.count.to_string()]);
        cmd
    } else {
        let kind = job
            .subject
            .strip_prefix("python-")
            .ok_or_else(|| format!("`{}` is not a pool subject", job.subject))?;
        let mut cmd = Command::new(interpreter());
        cmd.arg(SCRIPT)
            .args(["--kind", kind, "--tasks", &job.count.to_string()]);
        cmd
    };
    cmd.args(["--payload", &job.payload.to_string()])
        .args(["--workers", &WORKERS.to_string()])
        .args(["--chunksizes", &sizes])
        .args(["--maps", &maps(job.payload).to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_include_pythons_choice() {
        assert_eq!(chunksizes(100_000, 8), "100,1000,8334,33334");
        assert_eq!(chunksizes(5_000, 8), "100,1000,417,1667");
        assert_eq!(chunksizes(120, 1 << 20), "1,10");
        assert_eq!(chunksizes(12, 1 << 20), "1");
    }
}
