//! `Select`'s wake-up cost: a round trip whose answer comes back on one of
//! eight channels that the parent waits on with one `Select` (mode
//! `select-8`), beside the same round trip answered on the one channel the
//! parent blocks on with `recv` (mode `recv-1`). Subjects `select-<backend>`;
//! issue 15's goal is select-8 ÷ recv-1 ≤ 1.5 on the RTT's p50.
//!
//! The parent sends a 64-byte ping carrying its sequence number; the child
//! answers on channel `5 × seq mod n`: a `Select` looks first at the
//! channel after the one that was ready last, and with answers in plain
//! turn (`seq mod n`) that would always be the answering one, so the idle
//! channels a real wait looks at would never be looked at. The parent
//! checks that the receiver
//! `Select` names is the one the answer came on (readiness is a hint: a
//! ready receiver with nothing to take is waited on again).

use std::time::Instant;

use transport_core::{
    ChannelConfig, CommandExt, Frame, PollRecv, Receiver, Select, Transport, TryRecvError, from_env,
};

use super::{
    Row, Runner, Side,
    ours::{recv, send},
};
use crate::{
    load::CpuWatch,
    measure::{Job, Pattern, Run, rtt_metrics},
    peer::{self, ChildJob, Spawn},
};

/// The most answer channels a mode asks for.
const MAX_CHANNELS: usize = 8;

/// The row of backend `T` in `mode` (`select-8` or `recv-1`).
pub const fn row<T: Transport>(subject: &'static str, mode: &'static str) -> Row
where
    T::Receiver: PollRecv,
{
    Row {
        subject,
        mode,
        side: Side::Ours,
        benches: super::RTT,
        runner: Runner {
            parent: parent::<T>,
            child: Some(child::<T>),
        },
    }
}

/// How many answer channels `mode` has.
fn channels(mode: &str) -> Result<usize, String> {
    match mode {
        "select-8" => Ok(MAX_CHANNELS),
        "recv-1" => Ok(1),
        other => Err(format!("the select rows have no mode `{other}`")),
    }
}

fn name(k: usize) -> String {
    format!("back{k}")
}

fn parent<T: Transport>(job: &Job) -> Result<Run, String>
where
    T::Receiver: PollRecv,
{
    if job.pattern != Pattern::Rtt {
        return Err("the select rows measure round trips only".into());
    }
    let n = channels(job.mode)?;
    let config = ChannelConfig::bounded(16);
    let create = |what| T::channel(&config).map_err(|e| format!("creating the {what} channel: {e}"));
    let (there, there_rx) = create("ping")?;
    let mut backs = Vec::with_capacity(n);
    let mut spawn = Spawn::new(job)?;
    spawn
        .command()
        .endpoint("there", there_rx)
        .map_err(|e| format!("handing the ping end to the child: {e}"))?;
    for k in 0..n {
        let (tx, rx) = create("answer")?;
        spawn
            .command()
            .endpoint(&name(k), tx)
            .map_err(|e| format!("handing answer end {k} to the child: {e}"))?;
        backs.push(Receiver::<Vec<u8>, T::Receiver>::from_raw(rx));
    }
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let mut child = spawn.start(job.limit)?;
    let ready = child.ready()?;
    let deadline = job.deadline(Instant::now());

    let mut select = Select::new();
    for rx in &backs {
        select.recv(rx);
    }
    let mut ping = [0u8; 64];
    let mut samples = Vec::with_capacity(job.count);
    let mut watch = None;
    for seq in 0..(job.warmup + job.count) as u64 {
        if seq == job.warmup as u64 {
            watch = Some(CpuWatch::start(Some(child.pid())));
        }
        ping[..8].copy_from_slice(&seq.to_le_bytes());
        let t0 = Instant::now();
        send(&there, &ping, deadline)?;
        let expected = ((seq * 5) % n as u64) as usize;
        let answer = if n == 1 {
            backs[0].recv_bytes().map_err(|e| format!("receive: {e}"))?
        } else {
            loop {
                let index = select
                    .ready_deadline(deadline)
                    .map_err(|e| format!("select: {e}"))?;
                match backs[index].try_recv_bytes() {
                    Ok(frame) if index == expected => break frame,
                    Ok(_) => return Err(format!("answer {seq} came on channel {index}, not {expected}")),
                    Err(TryRecvError::Empty) => continue,
                    // After its last answer the child leaves, and every
                    // channel says so: one may say it before the answer's
                    // own channel has the answer (a pipe end still writing
                    // it while the ends before it close). The answer is
                    // then waited for on its channel.
                    Err(TryRecvError::Disconnected) if index != expected => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        break backs[expected].recv_bytes_timeout(left).map_err(|e| {
                            format!("receive on channel {expected} after channel {index} closed: {e}")
                        })?;
                    }
                    Err(e) => return Err(format!("receive on channel {index}: {e}")),
                }
            }
        };
        if seq >= job.warmup as u64 {
            samples.push(t0.elapsed().as_nanos() as u64);
        }
        if answer.bytes()[..8] != seq.to_le_bytes() {
            return Err(format!("answer {seq} carries another number"));
        }
    }
    let mut run = Run {
        pinned: parent_pinned && ready.pinned,
        ..Run::default()
    };
    run.other_cpu_pct = watch.and_then(|w| w.other_pct());
    run.metrics = rtt_metrics(&mut samples);
    drop(select);
    drop((there, backs));
    child.finish()?;
    Ok(run)
}

fn child<T: Transport>(job: &ChildJob) -> Result<(), String> {
    let n = channels(&job.mode)?;
    let rx = from_env::<T::Receiver>("there").map_err(|e| e.to_string())?;
    let backs = (0..n)
        .map(|k| from_env::<T::Sender>(&name(k)).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    job.ready("");
    for _ in 0..job.warmup + job.count {
        let frame = recv(&rx, job.deadline)?;
        let bytes = frame.bytes();
        let seq = u64::from_le_bytes(bytes[..8].try_into().map_err(|_| "a short ping".to_owned())?);
        let k = ((seq * 5) % n as u64) as usize;
        send(&backs[k], bytes, job.deadline)?;
    }
    Ok(())
}
