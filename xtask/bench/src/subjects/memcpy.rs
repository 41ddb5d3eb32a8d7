//! A plain memcpy, for reference. One thread, pinned, copies each payload
//! into the next slot of a 4 MiB buffer (the footprint of a shared-memory
//! lane) and reads it back, as a sender copies in and a receiver reads: the
//! same work with no second process, no synchronisation and no cache line
//! crossing cores. A transport on two cores overlaps the copy with the read,
//! so at large sizes it can beat this one thread doing both.

use std::{hint::black_box, time::Instant};

use crate::{
    load::CpuWatch,
    measure::{Job, Pattern, Run, payload, throughput_metrics, touch},
    peer,
};

/// The buffer the slots are taken from, as big as a shared-memory lane's
/// default.
const BUFFER: usize = 4 << 20;

/// Runs one job (throughput only).
pub fn parent(job: &Job) -> Result<Run, String> {
    if job.pattern != Pattern::Throughput {
        return Err(format!("memcpy measures throughput, not {:?}", job.pattern));
    }
    let pinned = peer::pin(peer::PARENT_CPU);
    let msg = payload(job.payload);
    let slots = (BUFFER / job.payload.max(1)).max(1);
    let mut buffer = vec![0u8; slots * job.payload];
    let mut copy = |i: usize| {
        let slot = &mut buffer[(i % slots) * job.payload..][..job.payload];
        slot.copy_from_slice(black_box(&msg));
        touch(black_box(&*slot));
    };
    for i in 0..job.warmup {
        copy(i);
    }
    let watch = CpuWatch::start(None);
    let t0 = Instant::now();
    for i in 0..job.count {
        copy(i);
    }
    let elapsed = t0.elapsed();
    Ok(Run {
        metrics: throughput_metrics(job.count, job.payload, elapsed),
        other_cpu_pct: watch.other_pct(),
        pinned,
    })
}
