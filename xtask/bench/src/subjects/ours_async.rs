//! Our backends through the async adapters: the 64 B round trip with
//! `transport_adapters::{AsyncSender, AsyncReceiver}` over a backend's own
//! ends, a tokio current-thread runtime in both processes. It is the async
//! twin of [`super::ours::stream`]'s round trip: the same two
//! channels, the same raw 64-byte frames, read in full.

use std::time::Instant;

use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{Frame, PollRecv, PollSend, Transport};

use super::{
    Row, Runner, Side,
    ours::{self, PeerHandle},
};
use crate::{
    load::CpuWatch,
    measure::{Job, Pattern, Run, payload, rtt_metrics, touch},
    peer::{self, ChildJob},
};

/// A backend's async round-trip row.
pub const fn rtt<T>(subject: &'static str) -> Row
where
    T: Transport,
    T::Sender: PollSend,
    T::Receiver: PollRecv,
{
    Row {
        subject,
        mode: "async",
        side: Side::Ours,
        benches: super::RTT,
        runner: Runner {
            parent: parent::<T>,
            child: Some(child::<T>),
        },
    }
}

/// The byte type of the channels: frames are sent and read as raw bytes.
type Bytes = Vec<u8>;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting a tokio runtime: {e}"))
}

fn echo<R: PollRecv, S: PollSend>(rx: R, tx: S, job: &ChildJob) -> Result<(), String> {
    if job.pattern != Pattern::Rtt {
        return Err("the async row measures round trips only".into());
    }
    let rounds = job.warmup + job.count;
    runtime()?.block_on(async move {
        let mut rx = AsyncReceiver::<Bytes, R>::from_raw(rx);
        let tx = AsyncSender::<Bytes, S>::from_raw(tx);
        for _ in 0..rounds {
            let frame = rx.recv_bytes().await.map_err(|e| format!("receive: {e}"))?;
            touch(frame.bytes());
            tx.send_bytes(frame.bytes())
                .await
                .map_err(|e| format!("send: {e}"))?;
        }
        Ok(())
    })
}

fn child<T>(job: &ChildJob) -> Result<(), String>
where
    T: Transport,
    T::Sender: PollSend,
    T::Receiver: PollRecv,
{
    ours::child_main::<T>(job, echo::<T::Receiver, T::Sender>)
}

fn parent<T>(job: &Job) -> Result<Run, String>
where
    T: Transport,
    T::Sender: PollSend,
    T::Receiver: PollRecv,
{
    if job.pattern != Pattern::Rtt {
        return Err("the async row measures round trips only".into());
    }
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let (tx, rx, peer, peer_pinned) = ours::start::<T>(job, echo::<T::Receiver, T::Sender>)?;
    let msg = payload(job.payload);
    let (samples, other) = runtime()?.block_on(timed(tx, rx, &msg, job, &peer))?;
    let mut samples = samples;
    peer.finish()?;
    Ok(Run {
        metrics: rtt_metrics(&mut samples),
        other_cpu_pct: other,
        pinned: parent_pinned && peer_pinned,
    })
}

async fn timed<S: PollSend, R: PollRecv>(
    tx: S,
    rx: R,
    msg: &[u8],
    job: &Job,
    peer: &PeerHandle,
) -> Result<(Vec<u64>, Option<f64>), String> {
    let tx = AsyncSender::<Bytes, S>::from_raw(tx);
    let mut rx = AsyncReceiver::<Bytes, R>::from_raw(rx);
    let mut samples = Vec::with_capacity(job.count);
    let mut watch = None;
    let deadline = job.deadline(Instant::now());
    for i in 0..job.warmup + job.count {
        if i == job.warmup {
            watch = Some(CpuWatch::start(peer.pid()));
        }
        if Instant::now() > deadline {
            return Err("gave up at the run's time limit".into());
        }
        let t0 = Instant::now();
        tx.send_bytes(msg).await.map_err(|e| format!("send: {e}"))?;
        touch(
            rx.recv_bytes()
                .await
                .map_err(|e| format!("receive: {e}"))?
                .bytes(),
        );
        if i >= job.warmup {
            samples.push(t0.elapsed().as_nanos() as u64);
        }
    }
    Ok((samples, watch.and_then(|w| w.other_pct())))
}
