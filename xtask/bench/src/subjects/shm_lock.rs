//! Ours: locked increments of a `transport_shm::SharedValue<u64>` from two
//! processes, the twin of Python's `Value` + `get_lock()`.
//!
//! The parent creates the value and two events (go, done), hands them to the
//! child, and both add `count` under the value's robust lock; the run is
//! timed from "go" until the child said "done" and the parent finished its
//! own share, and the total is checked.

use std::time::{Duration, Instant};

use transport_core::{CommandExt, from_env};
use transport_shm::{SharedEvent, SharedValue};

use crate::{
    load::CpuWatch,
    measure::{Job, Pattern, Run},
    peer::{self, ChildJob, Spawn},
};

fn add(value: &SharedValue<u64>, count: usize) -> Result<(), String> {
    for _ in 0..count {
        *value.lock().map_err(|e| format!("locking: {e}"))? += 1;
    }
    Ok(())
}

/// The parent's side.
pub fn parent(job: &Job) -> Result<Run, String> {
    if job.pattern != Pattern::LockIncrements {
        return Err("not a lock pattern".into());
    }
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let err = |what: &'static str| move |e: transport_shm::SegmentError| format!("{what}: {e}");
    let value = SharedValue::new(0u64).map_err(err("creating the value"))?;
    let go = SharedEvent::new().map_err(err("creating an event"))?;
    let done = SharedEvent::new().map_err(err("creating an event"))?;
    let mut spawn = Spawn::new(job)?;
    spawn
        .command()
        .endpoint("value", value.clone())
        .and_then(|cmd| cmd.endpoint("go", go.clone()))
        .and_then(|cmd| cmd.endpoint("done", done.clone()))
        .map_err(|e| format!("handing the value to the child: {e}"))?;
    let mut child = spawn.start(job.limit)?;
    let ready = child.ready()?;
    let watch = CpuWatch::start(Some(child.pid()));
    let t0 = Instant::now();
    go.set();
    add(&value, job.count)?;
    let left = job
        .limit
        .saturating_sub(t0.elapsed())
        .max(Duration::from_millis(1));
    if !done.wait_timeout(left) {
        return Err("the child did not finish its increments in time".into());
    }
    let elapsed = t0.elapsed();
    let other = watch.other_pct();
    child.finish()?;
    let total = value.get().map_err(|e| format!("reading the value: {e}"))?;
    if total != 2 * job.count as u64 {
        return Err(format!("lost increments: {total} != {}", 2 * job.count));
    }
    Ok(Run {
        metrics: vec![(
            "ops_per_s",
            (2 * job.count) as f64 / elapsed.as_secs_f64().max(1e-9),
        )],
        other_cpu_pct: other,
        pinned: parent_pinned && ready.pinned,
    })
}

/// The child's side.
pub fn child(job: &ChildJob) -> Result<(), String> {
    let value: SharedValue<u64> = from_env("value").map_err(|e| e.to_string())?;
    let go: SharedEvent = from_env("go").map_err(|e| e.to_string())?;
    let done: SharedEvent = from_env("done").map_err(|e| e.to_string())?;
    job.ready("");
    let left = job.deadline.saturating_duration_since(Instant::now());
    if !go.wait_timeout(left) {
        return Err("no start signal in time".into());
    }
    add(&value, job.count)?;
    done.set();
    Ok(())
}
