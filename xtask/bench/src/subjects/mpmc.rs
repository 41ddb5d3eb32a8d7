//! Several consumer processes taking from one channel (a pool's jobs
//! channel): one producer, [`CONSUMERS`] consumer processes sharing its
//! receiver, 64-byte messages, each to exactly one consumer. Subjects
//! `mpmc-<backend>`, mode `4-consumers`; issue 15's goal is the
//! shared-memory ring at five times the queue or more, in messages per
//! second.
//!
//! The parent sends the warm-up and the timed messages, then one stop
//! message per consumer (a consumer takes no more after its stop, so each
//! gets one); each consumer answers its stop with the number of messages
//! it took on a back channel that they share. The time runs from the
//! first timed message to the last answer, and the counts must add up to
//! what was sent. The consumers are not pinned (a pool's workers use every
//! CPU); the producer is.

use std::time::Instant;

use transport_core::{ChannelConfig, CommandExt, Frame, RawReceiver, RawSender, Transport, from_env};

use super::{
    Row, Runner, Side,
    ours::{recv, send},
};
use crate::{
    measure::{Job, Pattern, Run, payload, throughput_metrics, touch},
    peer::{self, ChildJob, Spawn},
    sys,
};

/// Consumer processes sharing the receiver.
pub const CONSUMERS: usize = 4;

/// One row: 64-byte messages.
const BENCHES: &[super::Bench] = &[super::Bench {
    pattern: Pattern::Throughput,
    payload: 64,
}];

/// The row of backend `T` (multi-consumer).
pub const fn row<T: Transport>(subject: &'static str) -> Row {
    Row {
        subject,
        mode: "4-consumers",
        side: Side::Ours,
        benches: BENCHES,
        runner: Runner {
            parent: parent::<T>,
            child: Some(child::<T>),
        },
    }
}

/// The first byte of a message: data or stop.
const DATA: u8 = 0;
const STOP: u8 = 1;

fn parent<T: Transport>(job: &Job) -> Result<Run, String> {
    if job.pattern != Pattern::Throughput {
        return Err("the multi-consumer rows measure throughput only".into());
    }
    let config = ChannelConfig::bounded(1024).max_message_size(job.payload.max(64));
    let create = |what| T::channel(&config).map_err(|e| format!("creating the {what} channel: {e}"));
    let (tx, rx) = create("jobs")?;
    let (back_tx, back_rx) = create("answer")?;
    let mut consumers = Vec::with_capacity(CONSUMERS);
    for k in 0..CONSUMERS {
        let rx = rx
            .try_clone()
            .ok_or_else(|| format!("the receiver gave no clone for consumer {k}"))?;
        let back = back_tx
            .try_clone()
            .ok_or_else(|| format!("the answer sender gave no clone for consumer {k}"))?;
        let mut spawn = Spawn::new(job)?;
        spawn
            .command()
            .endpoint("rx", rx)
            .and_then(|cmd| cmd.endpoint("back", back))
            .map_err(|e| format!("handing the ends to consumer {k}: {e}"))?;
        consumers.push(spawn.start(job.limit)?);
    }
    drop((rx, back_tx));
    for c in &mut consumers {
        c.ready()?;
    }
    // The producer is pinned; the run is reported as not pinned, since
    // the consumers are not.
    peer::pin(peer::PARENT_CPU);
    let deadline = job.deadline(Instant::now());
    let mut msg = payload(job.payload);
    msg[0] = DATA;
    for _ in 0..job.warmup {
        send(&tx, &msg, deadline)?;
    }
    let t0 = Instant::now();
    for _ in 0..job.count {
        send(&tx, &msg, deadline)?;
    }
    for _ in 0..CONSUMERS {
        send(&tx, &[STOP], deadline)?;
    }
    let mut took = 0usize;
    for _ in 0..CONSUMERS {
        let answer = recv(&back_rx, deadline)?;
        let n: [u8; 8] = answer
            .bytes()
            .try_into()
            .map_err(|_| "a consumer's answer is not a count".to_owned())?;
        took += u64::from_le_bytes(n) as usize;
    }
    let elapsed = t0.elapsed();
    if took != job.warmup + job.count {
        return Err(format!(
            "the consumers took {took} messages, {} were sent",
            job.warmup + job.count
        ));
    }
    let run = Run {
        pinned: false,
        metrics: throughput_metrics(job.count, job.payload, elapsed),
        other_cpu_pct: None,
    };
    drop((tx, back_rx));
    for c in consumers {
        c.finish()?;
    }
    Ok(run)
}

fn child<T: Transport>(job: &ChildJob) -> Result<(), String> {
    sys::unpin_current_thread().map_err(|e| format!("cannot unpin a consumer: {e}"))?;
    let rx = from_env::<T::Receiver>("rx").map_err(|e| e.to_string())?;
    let back = from_env::<T::Sender>("back").map_err(|e| e.to_string())?;
    job.ready("");
    let mut took = 0u64;
    loop {
        let frame = recv(&rx, job.deadline)?;
        let bytes = frame.bytes();
        if bytes.first() == Some(&STOP) {
            break;
        }
        touch(bytes);
        took += 1;
    }
    send(&back, &took.to_le_bytes(), job.deadline)
}
