//! Peer: raw `ipc-channel` byte channels (`IpcBytesSender` /
//! `IpcBytesReceiver`), one `send` per message; the receiver reads every
//! byte of the `Vec<u8>` it gets.
//!
//! The child opens a one-shot server and says ready with its name; the
//! parent connects and sends the child its two ends (there and back).

use std::time::Instant;

use ipc_channel::ipc::{self, IpcBytesReceiver, IpcBytesSender, IpcOneShotServer, IpcSender};

use crate::{
    load::CpuWatch,
    measure::{Job, Pattern, Run, payload, rtt_metrics, throughput_metrics, touch},
    peer::{self, ChildJob, Spawn},
};

/// What the parent sends the child: where to receive, where to answer.
type Ends = (IpcBytesReceiver, IpcBytesSender);

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The parent's side.
pub fn parent(job: &Job) -> Result<Run, String> {
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let mut child = Spawn::new(job)?.start(job.limit)?;
    let ready = child.ready()?;
    let server = ready.get("server")?.to_owned();
    let (tx, there_rx) = ipc::bytes_channel().map_err(err("creating a channel"))?;
    let (back_tx, rx) = ipc::bytes_channel().map_err(err("creating a channel"))?;
    let bootstrap: IpcSender<Ends> = IpcSender::connect(server).map_err(err("connecting"))?;
    bootstrap
        .send((there_rx, back_tx))
        .map_err(err("handing over the ends"))?;
    let msg = payload(job.payload);
    let mut run = Run {
        pinned: parent_pinned && ready.pinned,
        ..Run::default()
    };
    match job.pattern {
        Pattern::Rtt => {
            let mut samples = Vec::with_capacity(job.count);
            let mut watch = None;
            for i in 0..job.warmup + job.count {
                if i == job.warmup {
                    watch = Some(CpuWatch::start(Some(child.pid())));
                }
                let t0 = Instant::now();
                tx.send(&msg).map_err(err("send"))?;
                touch(&rx.recv().map_err(err("receive"))?);
                if i >= job.warmup {
                    samples.push(t0.elapsed().as_nanos() as u64);
                }
            }
            run.other_cpu_pct = watch.and_then(|w| w.other_pct());
            run.metrics = rtt_metrics(&mut samples);
        }
        Pattern::Throughput => {
            for _ in 0..job.warmup {
                tx.send(&msg).map_err(err("send"))?;
            }
            rx.recv().map_err(err("receive ack"))?;
            let watch = CpuWatch::start(Some(child.pid()));
            let t0 = Instant::now();
            for _ in 0..job.count {
                tx.send(&msg).map_err(err("send"))?;
            }
            rx.recv().map_err(err("receive ack"))?;
            let elapsed = t0.elapsed();
            run.other_cpu_pct = watch.other_pct();
            run.metrics = throughput_metrics(job.count, job.payload, elapsed);
        }
        Pattern::LockIncrements | Pattern::Pool => return Err("not a channel pattern".into()),
    }
    drop((tx, rx));
    child.finish()?;
    Ok(run)
}

/// The child's side.
pub fn child(job: &ChildJob) -> Result<(), String> {
    let (server, name) = IpcOneShotServer::<Ends>::new().map_err(err("creating the one-shot server"))?;
    job.ready(&format!("server={name}"));
    let (_, (rx, tx)) = server.accept().map_err(err("accepting"))?;
    match job.pattern {
        Pattern::Rtt => {
            for _ in 0..job.warmup + job.count {
                let msg = rx.recv().map_err(err("receive"))?;
                touch(&msg);
                tx.send(&msg).map_err(err("send"))?;
            }
        }
        Pattern::Throughput => {
            for _ in 0..job.warmup {
                touch(&rx.recv().map_err(err("receive"))?);
            }
            tx.send(b"w").map_err(err("send ack"))?;
            for _ in 0..job.count {
                touch(&rx.recv().map_err(err("receive"))?);
            }
            tx.send(b"d").map_err(err("send ack"))?;
        }
        Pattern::LockIncrements | Pattern::Pool => return Err("not a channel pattern".into()),
    }
    Ok(())
}
