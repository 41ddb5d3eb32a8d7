//! Our backends, measured through `transport_core::Transport` alone: a
//! backend joins the benchmark with one line in [`ROWS`](super::ROWS).
//!
//! The parent creates two channels (there and back), keeps one end of each
//! and hands the other two to the peer: a child process through
//! `CommandExt::endpoint` / `from_env` when the backend crosses processes,
//! a thread otherwise (`local`).

use std::{marker::PhantomData, time::Instant};

use rkyv::{Archive, Deserialize, Serialize};
use transport_core::{
    ChannelConfig, CommandExt, Frame, RawReceiver, RawRecvError, RawSender, Receiver, Sender, Transport,
    Wait, from_env,
};

use super::{Row, Runner, Side, crossbar::wire::PodQuote};
use crate::{
    exchange::{Serve, Step, drive, serve},
    measure::{Job, Run, payload, touch},
    peer::{self, ChildJob, Spawn},
};

/// A backend's byte-stream row: RTT 64 B and throughput 64 B, 4 KiB, 1 MiB,
/// sent with `send_bytes` and read in full by the receiver.
pub const fn stream<T: Transport>(subject: &'static str, mode: &'static str) -> Row {
    Row {
        subject,
        mode,
        side: Side::Ours,
        benches: super::STREAM,
        runner: Runner {
            parent: stream_parent::<T>,
            child: Some(stream_child::<T>),
        },
    }
}

/// A backend's structured-message row: a 256 B [`Quote`] received
/// `validated` (bytecheck) or `unchecked` (the `unsafe` path), by `mode`.
pub const fn structured<T: Transport>(subject: &'static str, mode: &'static str) -> Row {
    Row {
        subject,
        mode,
        side: Side::Ours,
        benches: super::STRUCTURED,
        runner: Runner {
            parent: structured_parent::<T>,
            child: Some(structured_child::<T>),
        },
    }
}

/// One level of an order book.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Level {
    /// Price in ticks.
    pub price: i64,
    /// Quantity.
    pub qty: u32,
    /// Number of orders.
    pub orders: u32,
}

/// The structured message: a quote whose archive is exactly 256 bytes,
/// with a string and a vector for bytecheck to walk.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Quote {
    /// Sequence number.
    pub seq: u64,
    /// Timestamp.
    pub time_ns: u64,
    /// Instrument id.
    pub instrument: u32,
    /// Flags.
    pub flags: u32,
    /// Venue name (24 bytes, stored out of line).
    pub venue: String,
    /// Twelve book levels.
    pub levels: Vec<Level>,
}

impl Quote {
    pub(super) fn sample(seq: u64) -> Self {
        Quote {
            seq,
            time_ns: seq * 1_000,
            instrument: 42,
            flags: 3,
            venue: "XBENCH-PRIMARY-VENUE-001".to_owned(),
            levels: (0..12)
                .map(|i| Level {
                    price: 10_000 + i,
                    qty: 100 + i as u32,
                    orders: 1 + i as u32,
                })
                .collect(),
        }
    }
}

/// Reads every field of a received quote.
fn read_quote(q: &ArchivedQuote) -> u64 {
    let mut sum = q.seq.to_native() ^ q.time_ns.to_native();
    sum = sum.wrapping_add(u64::from(q.instrument.to_native() ^ q.flags.to_native()));
    sum = sum.wrapping_add(touch(q.venue.as_bytes()));
    for level in q.levels.iter() {
        sum = sum.wrapping_add(level.price.to_native() as u64);
        sum = sum.wrapping_add(u64::from(level.qty.to_native() + level.orders.to_native()));
    }
    std::hint::black_box(sum)
}

/// Room for this many messages, bounded so 1 MiB payloads stay at 16 MiB.
fn config(payload: usize) -> ChannelConfig {
    ChannelConfig::bounded(capacity(payload))
}

/// The capacity of our channels for `payload`-byte messages (what a peer
/// that needs its own flow control bounds its window to, like for like).
pub(super) fn capacity(payload: usize) -> usize {
    ((16 << 20) / payload.max(1)).clamp(16, 1024)
}

pub(super) fn recv<R: RawReceiver>(rx: &R, deadline: Instant) -> Result<R::Frame, String> {
    loop {
        match rx.recv_frame(Wait::Until(deadline)) {
            Ok(frame) => return Ok(frame),
            Err(RawRecvError::NotReady) if Instant::now() < deadline => continue,
            Err(RawRecvError::NotReady) => return Err("receive: gave up at the run's time limit".into()),
            Err(e) => return Err(format!("receive: {e:?}")),
        }
    }
}

pub(super) fn send<S: RawSender>(tx: &S, bytes: &[u8], deadline: Instant) -> Result<(), String> {
    loop {
        match tx.send_bytes(bytes, Wait::Until(deadline)) {
            Ok(()) => return Ok(()),
            Err(transport_core::RawSendError::NotReady) if Instant::now() < deadline => continue,
            Err(e) => return Err(format!("send: {e:?}")),
        }
    }
}

/// What the peer does with its two ends.
pub(super) type PeerBody<T> =
    fn(<T as Transport>::Receiver, <T as Transport>::Sender, &ChildJob) -> Result<(), String>;

/// How the peer was started.
pub(super) enum PeerHandle {
    Process(peer::Peer),
    Thread(std::thread::JoinHandle<Result<(), String>>),
}

impl PeerHandle {
    pub(super) fn pid(&self) -> Option<u32> {
        match self {
            PeerHandle::Process(p) => Some(p.pid()),
            PeerHandle::Thread(_) => None,
        }
    }

    pub(super) fn finish(self) -> Result<(), String> {
        match self {
            PeerHandle::Process(p) => p.finish(),
            PeerHandle::Thread(t) => peer::join_thread(t),
        }
    }
}

/// Creates the channels, starts the peer with its two ends, and returns the
/// parent's ends, the peer, and whether the peer is pinned.
pub(super) fn start<T: Transport>(
    job: &Job,
    body: PeerBody<T>,
) -> Result<(T::Sender, T::Receiver, PeerHandle, bool), String> {
    let config = config(job.payload);
    let (there_tx, there_rx) = T::channel(&config).map_err(|e| format!("creating a channel: {e}"))?;
    let (back_tx, back_rx) = T::channel(&config).map_err(|e| format!("creating a channel: {e}"))?;
    if T::capabilities().cross_process {
        let mut spawn = Spawn::new(job)?;
        spawn
            .command()
            .endpoint("there", there_rx)
            .and_then(|cmd| cmd.endpoint("back", back_tx))
            .map_err(|e| format!("handing the ends to the child: {e}"))?;
        let mut child = spawn.start(job.limit)?;
        let ready = child.ready()?;
        Ok((there_tx, back_rx, PeerHandle::Process(child), ready.pinned))
    } else {
        let child_job = ChildJob::for_thread(job);
        let (handle, pinned) = peer::thread_peer(move || body(there_rx, back_tx, &child_job))?;
        Ok((there_tx, back_rx, PeerHandle::Thread(handle), pinned))
    }
}

/// The child process's side: open the two ends, say ready, run `body`.
pub(super) fn child_main<T: Transport>(job: &ChildJob, body: PeerBody<T>) -> Result<(), String> {
    let rx = from_env::<T::Receiver>("there").map_err(|e| e.to_string())?;
    let tx = from_env::<T::Sender>("back").map_err(|e| e.to_string())?;
    job.ready("");
    body(rx, tx, job)
}

fn stream_child<T: Transport>(job: &ChildJob) -> Result<(), String> {
    child_main::<T>(job, stream_peer::<T::Receiver, T::Sender>)
}

fn structured_child<T: Transport>(job: &ChildJob) -> Result<(), String> {
    child_main::<T>(job, structured_peer::<T::Receiver, T::Sender>)
}

/// The peer of the byte-stream patterns.
fn stream_peer<R: RawReceiver, S: RawSender>(rx: R, tx: S, job: &ChildJob) -> Result<(), String> {
    let deadline = job.deadline;
    serve(job, |step| match step {
        Serve::Echo(_) => {
            let frame = recv(&rx, deadline)?;
            touch(frame.bytes());
            send(&tx, frame.bytes(), deadline)
        }
        Serve::Take(_) => {
            touch(recv(&rx, deadline)?.bytes());
            Ok(())
        }
        Serve::Ack(_) => send(&tx, b"a", deadline),
    })
}

fn stream_parent<T: Transport>(job: &Job) -> Result<Run, String> {
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let (tx, rx, peer, peer_pinned) = start::<T>(job, stream_peer::<T::Receiver, T::Sender>)?;
    let deadline = job.deadline(Instant::now());
    let msg = payload(job.payload);
    let mut run = Run {
        pinned: parent_pinned && peer_pinned,
        ..Run::default()
    };
    drive(job, peer.pid(), &mut run, |step| match step {
        Step::Send(_) => send(&tx, &msg, deadline),
        Step::Echo(_) => {
            touch(recv(&rx, deadline)?.bytes());
            Ok(())
        }
        Step::Acked(_) => recv(&rx, deadline).map(drop),
    })?;
    drop((tx, rx));
    peer.finish()?;
    Ok(run)
}

/// How a structured row's messages are made and read.
pub(super) trait Codec {
    /// What travels.
    type Msg: transport_core::Message;
    /// The message numbered `seq`.
    fn sample(seq: u64) -> Self::Msg;
    /// Receives one message and reads every field of it.
    fn read<R: RawReceiver>(rx: &Receiver<Self::Msg, R>) -> Result<u64, String>;
}

/// An rkyv message the structured rows send: how the one numbered `seq`
/// is made, and how a receiver reads every field of its archive.
pub(super) trait Sampled: transport_core::Message {
    /// The message numbered `seq`.
    fn sample(seq: u64) -> Self;
    /// Reads every field in use.
    fn read(archived: &Self::Archived) -> u64;
}

impl Sampled for Quote {
    fn sample(seq: u64) -> Quote {
        Quote::sample(seq)
    }

    fn read(archived: &ArchivedQuote) -> u64 {
        read_quote(archived)
    }
}

/// An rkyv message read in place, validated by bytecheck on receipt
/// (`VALIDATED`: modes `validated`, `flat-validated`) or not (modes
/// `unchecked`, `flat-unchecked`: the `unsafe` path).
pub(super) struct Rkyv<M, const VALIDATED: bool>(PhantomData<M>);

/// The validated rows' codec.
type Validated<M> = Rkyv<M, true>;
/// The unchecked rows' codec.
type Unchecked<M> = Rkyv<M, false>;

impl<M: Sampled, const VALIDATED: bool> Codec for Rkyv<M, VALIDATED> {
    type Msg = M;

    fn sample(seq: u64) -> M {
        M::sample(seq)
    }

    fn read<R: RawReceiver>(rx: &Receiver<M, R>) -> Result<u64, String> {
        let m = if VALIDATED {
            rx.recv()
        } else {
            // SAFETY: the only sender on this channel is the other side's
            // `Sender<M, _>`, which sends nothing but archives of `M`
            // serialized by rkyv with this workspace's format.
            unsafe { rx.recv_unchecked() }
        };
        let m = m.map_err(|e| format!("receive: {e}"))?;
        Ok(M::read(&m))
    }
}

/// The peer of the structured-message patterns, by mode.
fn structured_peer<R: RawReceiver, S: RawSender>(rx: R, tx: S, job: &ChildJob) -> Result<(), String> {
    match job.mode.as_str() {
        "validated" => structured_peer_with::<R, S, Validated<Quote>>(rx, tx, job),
        "unchecked" => structured_peer_with::<R, S, Unchecked<Quote>>(rx, tx, job),
        "serde" => structured_peer_with::<R, S, super::serde_quote::SerdeCodec>(rx, tx, job),
        "flat-validated" => structured_peer_with::<R, S, Validated<PodQuote>>(rx, tx, job),
        "flat-unchecked" => structured_peer_with::<R, S, Unchecked<PodQuote>>(rx, tx, job),
        other => Err(format!("structured messages have no mode `{other}`")),
    }
}

fn structured_peer_with<R: RawReceiver, S: RawSender, C: Codec>(
    rx: R,
    tx: S,
    job: &ChildJob,
) -> Result<(), String> {
    let rx = Receiver::<C::Msg, R>::from_raw(rx);
    let tx = Sender::<C::Msg, S>::from_raw(tx);
    let reply = C::sample(0);
    serve(job, |step| match step {
        Serve::Echo(_) => {
            C::read(&rx)?;
            tx.send(&reply).map_err(|e| format!("send: {e}"))
        }
        Serve::Take(_) => C::read(&rx).map(drop),
        Serve::Ack(_) => send(tx.raw(), b"a", job.deadline),
    })
}

fn structured_parent<T: Transport>(job: &Job) -> Result<Run, String> {
    match job.mode {
        "validated" => structured_parent_with::<T, Validated<Quote>>(job),
        "unchecked" => structured_parent_with::<T, Unchecked<Quote>>(job),
        "serde" => structured_parent_with::<T, super::serde_quote::SerdeCodec>(job),
        "flat-validated" => structured_parent_with::<T, Validated<PodQuote>>(job),
        "flat-unchecked" => structured_parent_with::<T, Unchecked<PodQuote>>(job),
        other => Err(format!("structured messages have no mode `{other}`")),
    }
}

fn structured_parent_with<T: Transport, C: Codec>(job: &Job) -> Result<Run, String> {
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let (tx, rx, peer, peer_pinned) = start::<T>(job, structured_peer::<T::Receiver, T::Sender>)?;
    let deadline = job.deadline(Instant::now());
    let tx = Sender::<C::Msg, T::Sender>::from_raw(tx);
    let rx = Receiver::<C::Msg, T::Receiver>::from_raw(rx);
    let quote = C::sample(1);
    let mut run = Run {
        pinned: parent_pinned && peer_pinned,
        ..Run::default()
    };
    drive(job, peer.pid(), &mut run, |step| match step {
        Step::Send(_) => tx.send(&quote).map_err(|e| format!("send: {e}")),
        Step::Echo(_) => C::read(&rx).map(drop),
        Step::Acked(_) => recv(rx.raw(), deadline).map(drop),
    })?;
    drop((tx, rx));
    peer.finish()?;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Pattern;

    /// The structured rows report a payload of 256 B: the archive's size.
    #[test]
    fn quote_archive_is_256_bytes() {
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&Quote::sample(0)).unwrap();
        assert_eq!(bytes.len(), 256);
    }

    fn job(mode: &'static str, pattern: Pattern, payload: usize) -> Job {
        Job {
            subject: "local",
            mode,
            pattern,
            payload,
            count: 200,
            warmup: 20,
            limit: std::time::Duration::from_secs(60),
        }
    }

    fn metric(run: &Run, name: &str) -> f64 {
        run.metrics
            .iter()
            .find(|(k, _)| *k == name)
            .map_or(f64::NAN, |(_, v)| *v)
    }

    /// The generic path, end to end, on the in-process backend (its peer is
    /// a thread, so no child process is needed).
    #[test]
    fn local_stream_and_structured_runs_give_figures() {
        use transport_core::local::Local;
        let rtt = stream_parent::<Local>(&job("default", Pattern::Rtt, 64)).unwrap();
        assert!(metric(&rtt, "p50_us") > 0.0);
        assert!(metric(&rtt, "p50_us") <= metric(&rtt, "p99_us"));
        assert!(metric(&rtt, "p99_us") <= metric(&rtt, "p999_us"));
        let thr = stream_parent::<Local>(&job("default", Pattern::Throughput, 4096)).unwrap();
        let (msgs, mb) = (metric(&thr, "msgs_per_s"), metric(&thr, "mb_per_s"));
        assert!(msgs > 0.0);
        assert!((mb - msgs * 4096.0 / 1e6).abs() < 1e-6 * mb.max(1.0));
        for mode in ["validated", "unchecked", "serde"] {
            let run = structured_parent::<Local>(&job(mode, Pattern::Throughput, 256)).unwrap();
            assert!(metric(&run, "msgs_per_s") > 0.0);
        }
        assert!(structured_parent::<Local>(&job("default", Pattern::Rtt, 256)).is_err());
    }

    #[test]
    fn quote_validates() {
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&Quote::sample(9)).unwrap();
        let q = rkyv::access::<ArchivedQuote, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(q.seq, 9);
        assert_eq!(q.levels.len(), 12);
        assert_ne!(read_quote(q), 0);
    }
}
