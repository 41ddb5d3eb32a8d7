//! NATS: ours (`transport-nats`, both delivery modes, and at least once
//! with message-id de-duplication, `at-least-once-dedup`, measured through
//! `Transport` like every backend) beside the raw `async-nats` client and
//! the Python client `nats-py`, all on one `nats-server` this program
//! starts on a loopback port for the run, on every CPU (and stops at its
//! end).
//!
//! The raw rows do what our rows do with the client alone:
//! - `async-nats/core`: publish / subscribe; the round trip's child
//!   publishes each message back. Core NATS has no flow control (a
//!   subscriber that falls behind is cut off and its messages are lost, as
//!   a first version of this row showed at 4 KiB), so the throughput's
//!   publisher keeps at most a window of messages unreported, and the child
//!   reports what it took every half window: the least a user of the raw
//!   client must add, and what our at-most-once mode does with its credit,
//!   with the same window (our channels' capacity in this benchmark).
//!
//! `async_nats::Client::flush` only writes the client's buffer out; it does
//! not wait for the server. A side that subscribes therefore waits for a
//! message to itself through the server ([`settled`]) before it says it is
//! ready: otherwise the other side's first message can reach the server
//! before the subscription does, go to nobody, and leave the run waiting
//! for it until its time limit (as this row once did, now and then, under
//! load).
//! - `async-nats/jetstream`: a publish that waits for the stream's
//!   acknowledgement, a durable pull consumer, an acknowledgement per
//!   message; the round trip only (at least once, one message is one
//!   acknowledged store each way).
//! - `nats-py/core`: `python/nats_peer.py`, both ends in Python.

use std::{
    process::{Command, Stdio},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use futures::StreamExt;
use transport_core::{Capabilities, ChannelConfig, CreateError, Transport};
use transport_nats::{
    Client, Delivery, NatsReceiver, NatsSender,
    async_nats::{self, jetstream},
    options_for,
    server::LocalServer,
};

use super::{Bench, Row, Runner, Side, python};
use crate::{
    load::CpuWatch,
    measure::{Job, Pattern, Run, payload, rtt_metrics, throughput_metrics, touch},
    peer::{self, ChildJob, Spawn},
    sys,
};

/// The run's server and our client of it.
static SERVER: Mutex<Option<(LocalServer, Client)>> = Mutex::new(None);

/// The run's server's client, starting the server on first use.
///
/// The server is a third process that both sides of every NATS row use:
/// it runs on every CPU, as it would inherit the parent's pinning and
/// otherwise share the parent's CPU with the sending side (the busier the
/// sending process, the less of that CPU the server gets). The parent
/// thread is pinned again before it connects, so the client's own thread
/// stays on the parent's CPU.
fn client() -> Result<Client, String> {
    let mut slot = SERVER.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, client)) = &*slot {
        return Ok(client.clone());
    }
    let unpinned = matches!(sys::unpin_current_thread(), Ok(true));
    let server = LocalServer::start();
    if unpinned {
        peer::pin(peer::PARENT_CPU);
    }
    let server = server.map_err(|e| format!("starting nats-server: {e}"))?;
    let client = Client::connect(&server.url()).map_err(|e| format!("connecting to nats-server: {e}"))?;
    *slot = Some((server, client.clone()));
    Ok(client)
}

/// The run's server's URL.
fn url() -> Result<String, String> {
    client().map(|c| c.servers().to_owned())
}

/// Stops the run's server, if one was started.
pub fn stop() {
    SERVER.lock().unwrap_or_else(PoisonError::into_inner).take();
}

/// Our backend in one delivery mode, on the run's server; at least once
/// with processed markers (message-id de-duplication, a marker lookup per
/// delivery and a marker stored before each acknowledgement) when `DEDUP`.
pub struct OnBenchServer<const AT_LEAST_ONCE: bool, const DEDUP: bool = false>;

/// How long the de-duplicating row keeps its markers.
const DEDUP_WINDOW: Duration = Duration::from_secs(120);

impl<const AT_LEAST_ONCE: bool, const DEDUP: bool> Transport for OnBenchServer<AT_LEAST_ONCE, DEDUP> {
    const NAME: &'static str = "nats";
    type Sender = NatsSender;
    type Receiver = NatsReceiver;

    fn capabilities() -> Capabilities {
        <transport_nats::AtLeastOnce as Transport>::capabilities()
    }

    fn channel(config: &ChannelConfig) -> Result<(NatsSender, NatsReceiver), CreateError> {
        let delivery = if AT_LEAST_ONCE {
            Delivery::AtLeastOnce
        } else {
            Delivery::AtMostOnce
        };
        let client =
            client().map_err(|e| CreateError::io("the bench's nats server", std::io::Error::other(e)))?;
        let mut options = options_for(delivery, config);
        if DEDUP {
            options = options.deduplicate(DEDUP_WINDOW);
        }
        client.anonymous_channel(&options)
    }
}

/// A raw `async-nats` row.
pub const fn raw(mode: &'static str, benches: &'static [Bench]) -> Row {
    Row {
        subject: "async-nats",
        mode,
        side: Side::Peer,
        benches,
        runner: Runner {
            parent,
            child: Some(child),
        },
    }
}

/// The `nats-py` row.
pub const fn python_row(benches: &'static [Bench]) -> Row {
    Row {
        subject: "nats-py",
        mode: "core",
        side: Side::Peer,
        benches,
        runner: Runner {
            parent: python_parent,
            child: None,
        },
    }
}

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(err("starting a runtime"))
}

/// Subjects (and streams) unique to one measurement.
fn names(job_id: &str) -> (String, String) {
    (format!("bench.{job_id}.there"), format!("bench.{job_id}.back"))
}

/// Where the raw throughput's child reports its progress.
fn progress(job_id: &str) -> String {
    format!("bench.{job_id}.taken")
}

/// Messages the raw publisher may have unreported: the capacity of our
/// channels for the same payload, whose credit window it is.
fn window(payload: usize) -> usize {
    super::ours::capacity(payload)
}

/// How often the raw child reports: every half window, as our receivers do.
fn report_every(payload: usize) -> usize {
    (window(payload) / 2).max(1)
}

/// The raw throughput publisher's view of its child's progress.
struct Window {
    taken: async_nats::Subscriber,
    reported: usize,
    size: usize,
}

impl Window {
    /// Waits until publishing message `i` keeps at most a window
    /// unreported.
    async fn room_for(&mut self, i: usize) -> Result<(), String> {
        while i >= self.reported + self.size {
            let msg = self.taken.next().await.ok_or("the progress subscription ended")?;
            let n: usize = std::str::from_utf8(&msg.payload)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or("a progress report that is not a number")?;
            self.reported = self.reported.max(n);
        }
        Ok(())
    }
}

fn stream_name(subject: &str) -> String {
    subject.replace('.', "_")
}

/// The parent's side of a raw row.
fn parent(job: &Job) -> Result<Run, String> {
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let url = url()?;
    let id = format!("{}x{}", std::process::id(), super::next_id());
    let (there, back) = names(&id);
    let jetstream = job.mode == "jetstream";
    let rt = runtime()?;
    let nats = rt
        .block_on(async_nats::connect(url.as_str()))
        .map_err(err("connecting"))?;
    if jetstream {
        rt.block_on(make_streams(&nats, &[&there, &back]))?;
    }
    let mut child = Spawn::new(job)?
        .arg("url", &url)
        .arg("id", &id)
        .start(job.limit)?;
    let ready = child.ready()?;
    let msg = payload(job.payload);
    let mut run = Run {
        pinned: parent_pinned && ready.pinned,
        ..Run::default()
    };
    let pid = child.pid();
    let measured = rt.block_on(async {
        tokio::time::timeout(job.limit, async {
            let mut incoming = Incoming::open(&nats, &back, jetstream).await?;
            let mut window = Window {
                taken: nats.subscribe(progress(&id)).await.map_err(err("subscribing"))?,
                reported: 0,
                size: window(job.payload),
            };
            settled(&nats).await?;
            match job.pattern {
                Pattern::Rtt => {
                    let mut samples = Vec::with_capacity(job.count);
                    let mut watch = None;
                    for i in 0..job.warmup + job.count {
                        if i == job.warmup {
                            watch = Some(CpuWatch::start(Some(pid)));
                        }
                        let t0 = Instant::now();
                        publish(&nats, &there, &msg, jetstream).await?;
                        touch(&incoming.next().await?);
                        if i >= job.warmup {
                            samples.push(t0.elapsed().as_nanos() as u64);
                        }
                    }
                    run.other_cpu_pct = watch.and_then(|w| w.other_pct());
                    run.metrics = rtt_metrics(&mut samples);
                }
                Pattern::Throughput => {
                    for i in 0..job.warmup {
                        window.room_for(i).await?;
                        publish(&nats, &there, &msg, jetstream).await?;
                    }
                    nats.flush().await.map_err(err("flush"))?;
                    incoming.next().await?;
                    let watch = CpuWatch::start(Some(pid));
                    let t0 = Instant::now();
                    for i in 0..job.count {
                        window.room_for(job.warmup + i).await?;
                        publish(&nats, &there, &msg, jetstream).await?;
                    }
                    nats.flush().await.map_err(err("flush"))?;
                    incoming.next().await?;
                    let elapsed = t0.elapsed();
                    run.other_cpu_pct = watch.other_pct();
                    run.metrics = throughput_metrics(job.count, job.payload, elapsed);
                }
                Pattern::LockIncrements | Pattern::Pool => return Err("not a channel pattern".to_owned()),
            }
            Ok::<_, String>(())
        })
        .await
    });
    measured.map_err(|_| format!("gave up at the run's time limit ({:?})", job.limit))??;
    child.finish()?;
    if jetstream {
        rt.block_on(async {
            let js = jetstream::new(nats.clone());
            let _ = js.delete_stream(stream_name(&there)).await;
            let _ = js.delete_stream(stream_name(&back)).await;
        });
    }
    Ok(run)
}

/// The child's side of a raw row.
fn child(job: &ChildJob) -> Result<(), String> {
    let url = job.get("url")?.to_owned();
    let id = job.get("id")?.to_owned();
    let (there, back) = names(&id);
    let jetstream = job.mode == "jetstream";
    let rt = runtime()?;
    let limit = job.deadline.saturating_duration_since(Instant::now());
    let done = rt.block_on(async {
        tokio::time::timeout(limit, async {
            let nats = async_nats::ConnectOptions::new()
                .subscription_capacity(1 << 20)
                .connect(url.as_str())
                .await
                .map_err(err("connecting"))?;
            let mut incoming = Incoming::open(&nats, &there, jetstream).await?;
            job.ready("");
            match job.pattern {
                Pattern::Rtt => {
                    for _ in 0..job.warmup + job.count {
                        let msg = incoming.next().await?;
                        touch(&msg);
                        publish(&nats, &back, &msg, jetstream).await?;
                    }
                }
                Pattern::Throughput => {
                    let taken = progress(&id);
                    let mut got = 0usize;
                    for (k, round) in [job.warmup, job.count].into_iter().enumerate() {
                        for _ in 0..round {
                            touch(&incoming.next().await?);
                            got += 1;
                            if got.is_multiple_of(report_every(job.payload)) {
                                nats.publish(taken.clone(), got.to_string().into())
                                    .await
                                    .map_err(err("reporting progress"))?;
                            }
                        }
                        let done: &[u8] = if k == 0 { b"w" } else { b"d" };
                        publish(&nats, &back, done, jetstream).await?;
                    }
                }
                Pattern::LockIncrements | Pattern::Pool => return Err("not a channel pattern".to_owned()),
            }
            nats.flush().await.map_err(err("flush"))?;
            Ok(())
        })
        .await
    });
    done.map_err(|_| "gave up at the run's time limit".to_owned())?
}

/// Waits until the server has handled everything `nats` sent before (its
/// subscriptions above all): a message to a fresh inbox of this connection
/// comes back only after the server has read what preceded it on the
/// connection, in order. `flush` does not wait for the server.
async fn settled(nats: &async_nats::Client) -> Result<(), String> {
    let inbox = nats.new_inbox();
    let mut echo = nats.subscribe(inbox.clone()).await.map_err(err("subscribing"))?;
    nats.publish(inbox, bytes::Bytes::new())
        .await
        .map_err(err("publish"))?;
    echo.next().await.ok_or("the settling subscription ended")?;
    Ok(())
}

async fn make_streams(nats: &async_nats::Client, subjects: &[&str]) -> Result<(), String> {
    let js = jetstream::new(nats.clone());
    for subject in subjects {
        let stream = js
            .get_or_create_stream(jetstream::stream::Config {
                name: stream_name(subject),
                subjects: vec![(*subject).to_owned()],
                retention: jetstream::stream::RetentionPolicy::WorkQueue,
                ..Default::default()
            })
            .await
            .map_err(err("creating a stream"))?;
        stream
            .get_or_create_consumer(
                "bench",
                jetstream::consumer::pull::Config {
                    durable_name: Some("bench".to_owned()),
                    ..Default::default()
                },
            )
            .await
            .map_err(err("creating a consumer"))?;
    }
    Ok(())
}

/// Where a side reads: a core subscription, or a JetStream pull consumer
/// whose messages it acknowledges.
enum Incoming {
    Core(async_nats::Subscriber),
    JetStream(Box<jetstream::consumer::pull::Stream>),
}

impl Incoming {
    async fn open(nats: &async_nats::Client, subject: &str, jetstream: bool) -> Result<Incoming, String> {
        if jetstream {
            let js = jetstream::new(nats.clone());
            let stream = js
                .get_stream(stream_name(subject))
                .await
                .map_err(err("opening a stream"))?;
            let consumer: jetstream::consumer::PullConsumer = stream
                .get_consumer("bench")
                .await
                .map_err(err("opening a consumer"))?;
            let messages = consumer.messages().await.map_err(err("pulling"))?;
            Ok(Incoming::JetStream(Box::new(messages)))
        } else {
            let sub = nats
                .subscribe(subject.to_owned())
                .await
                .map_err(err("subscribing"))?;
            settled(nats).await?;
            Ok(Incoming::Core(sub))
        }
    }

    async fn next(&mut self) -> Result<bytes::Bytes, String> {
        match self {
            Incoming::Core(sub) => sub
                .next()
                .await
                .map(|m| m.payload)
                .ok_or_else(|| "the subscription ended".to_owned()),
            Incoming::JetStream(messages) => {
                let msg = messages
                    .next()
                    .await
                    .ok_or("the consumer ended")?
                    .map_err(err("pulling"))?;
                msg.ack().await.map_err(|e| format!("ack: {e}"))?;
                Ok(msg.payload.clone())
            }
        }
    }
}

async fn publish(
    nats: &async_nats::Client,
    subject: &str,
    msg: &[u8],
    jetstream: bool,
) -> Result<(), String> {
    let payload = bytes::Bytes::copy_from_slice(msg);
    if jetstream {
        let js = jetstream::new(nats.clone());
        js.publish(subject.to_owned(), payload)
            .await
            .map_err(err("publish"))?
            .await
            .map_err(err("publish ack"))?;
    } else {
        nats.publish(subject.to_owned(), payload)
            .await
            .map_err(err("publish"))?;
    }
    Ok(())
}

/// The script of the `nats-py` row.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/nats_peer.py");

/// The `nats-py` row's parent: runs the script (which starts its own child)
/// against the run's server and reads its result line.
fn python_parent(job: &Job) -> Result<Run, String> {
    let url = url()?;
    let mut cmd = Command::new(python::interpreter());
    cmd.arg(SCRIPT)
        .args(["--url", &url, "--pattern", job.pattern.as_str()])
        .args(["--payload", &job.payload.to_string()])
        .args(["--count", &job.count.to_string()])
        .args(["--warmup", &job.warmup.to_string()])
        .args(["--limit", &job.limit.as_secs().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    python::run_script(cmd, job.limit + Duration::from_secs(10))
}
