//! Peer: `iceoryx2` publish-subscribe over shared memory, `[u8]` slices,
//! loan + copy-in on the sender, every byte read on the receiver.
//!
//! - `busy-poll`: both sides spin on `receive()`;
//! - `blocking`: each send is followed by an event `notify()`, and the
//!   receiver waits on its event listener when nothing is there.
//!
//! The parent creates the services and its ports, then the child opens them
//! and says ready. Nothing is lost on a full buffer: safe overflow is off and
//! the publisher retries until delivered (giving up at the run's limit).

use std::{
    cell::Cell,
    time::{Duration, Instant},
};

use iceoryx2::{
    port::{
        BackpressureAction, BackpressureInfo, listener::Listener, notifier::Notifier, publisher::Publisher,
        subscriber::Subscriber,
    },
    prelude::*,
};

use crate::{
    exchange::{Serve, Step, drive, serve},
    measure::{Deadline, Job, Run, payload, touch},
    peer::{self, ChildJob, Spawn},
};

type Pub = Publisher<ipc::Service, [u8], ()>;
type Sub = Subscriber<ipc::Service, [u8], ()>;

fn err<E: std::fmt::Debug>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("iceoryx2: {what}: {e:?}")
}

/// How many samples the subscriber's buffer holds.
fn buffer_size(payload: usize) -> usize {
    ((16 << 20) / payload.max(1)).clamp(8, 256)
}

/// One side's ports: where it sends, where it receives, and in blocking
/// mode the events that go with them.
struct Ports {
    _node: Node<ipc::Service>,
    publisher: Pub,
    subscriber: Sub,
    events: Option<(Notifier<ipc::Service>, Listener<ipc::Service>)>,
    deadline: Deadline,
    /// Waits that ran out although a sample was there (see [`WAIT_SLICE`]).
    lost_wakeups: Cell<u64>,
}

/// The longest a blocking receive waits before it looks again.
///
/// iceoryx2 0.10.0 can lose a wake-up when a notifier is preempted between
/// sending its datagram and marking the event "notified": if the listener
/// drains that datagram in between, the state is left "notified" with an
/// empty socket, every later `notify()` skips its datagram, and the listener
/// sleeps while samples fill its buffer (seen here under load: the sender
/// retrying and the receiver asleep until the run's time limit). Bounded
/// waits turn such a lost wake-up into a delay of at most this long (the
/// next wait resets the state); each one is counted and reported.
const WAIT_SLICE: Duration = Duration::from_millis(10);

impl Drop for Ports {
    fn drop(&mut self) {
        let n = self.lost_wakeups.get();
        if n > 0 {
            eprintln!("iceoryx2 blocking: {n} wait(s) of {WAIT_SLICE:?} ran out with a sample ready");
        }
    }
}

impl Ports {
    /// Opens (or, for the parent, creates) the services of run `id` and
    /// this side's ports. The parent sends on `there` and receives on
    /// `back`; the child the other way round.
    fn open(id: &str, payload: usize, blocking: bool, parent: bool, limit: Duration) -> Result<Self, String> {
        set_log_level(LogLevel::Error);
        let node = NodeBuilder::new()
            .signal_handling_mode(SignalHandlingMode::Disabled)
            .create::<ipc::Service>()
            .map_err(err("creating a node"))?;
        let name = |what: &str| {
            ServiceName::new(&format!("transport-bench/{id}/{what}")).map_err(err("service name"))
        };
        let buffer = buffer_size(payload);
        let give_up = Instant::now() + limit;
        let pubsub = |what: &str| {
            let builder = node
                .service_builder(&name(what)?)
                .publish_subscribe::<[u8]>()
                .max_publishers(1)
                .max_subscribers(1)
                .history_size(0)
                .subscriber_max_buffer_size(buffer)
                .enable_safe_overflow(false);
            if parent {
                builder.create().map_err(err("creating a service"))
            } else {
                builder.open().map_err(err("opening a service"))
            }
        };
        let (send_on, recv_on) = if parent {
            ("there", "back")
        } else {
            ("back", "there")
        };
        let send_service = pubsub(send_on)?;
        let recv_service = pubsub(recv_on)?;
        let publisher = send_service
            .publisher_builder()
            .initial_max_slice_len(payload.max(1))
            .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
            // Our own clock: iceoryx2 reports an unreadable clock as an
            // infinite elapsed time, which would fail a send at once.
            .set_backpressure_handler(move |_: &BackpressureInfo| {
                if Instant::now() > give_up {
                    BackpressureAction::DiscardDataAndFail
                } else {
                    BackpressureAction::Retry
                }
            })
            .create()
            .map_err(err("creating a publisher"))?;
        let subscriber = recv_service
            .subscriber_builder()
            .buffer_size(buffer)
            .create()
            .map_err(err("creating a subscriber"))?;
        let events = if blocking {
            let event = |what: &str| {
                let builder = node.service_builder(&name(&format!("{what}-event"))?).event();
                if parent {
                    builder.create().map_err(err("creating an event service"))
                } else {
                    builder.open().map_err(err("opening an event service"))
                }
            };
            let notifier = event(send_on)?
                .notifier_builder()
                .create()
                .map_err(err("creating a notifier"))?;
            let listener = event(recv_on)?
                .listener_builder()
                .create()
                .map_err(err("creating a listener"))?;
            Some((notifier, listener))
        } else {
            None
        };
        Ok(Ports {
            _node: node,
            publisher,
            subscriber,
            events,
            deadline: Deadline(Instant::now() + limit),
            lost_wakeups: Cell::new(0),
        })
    }

    /// Loans a sample, copies `bytes` in, sends it (and notifies).
    fn send(&self, bytes: &[u8]) -> Result<(), String> {
        let sample = self
            .publisher
            .loan_slice_uninit(bytes.len())
            .map_err(err("loan"))?
            .write_from_slice(bytes);
        sample.send().map_err(err("send"))?;
        if let Some((notifier, _)) = &self.events {
            notifier.notify().map_err(err("notify"))?;
        }
        Ok(())
    }

    /// Waits for the next sample and reads it with `read`.
    fn recv<T>(&self, read: impl FnOnce(&[u8]) -> T) -> Result<T, String> {
        let mut spins = 0u32;
        loop {
            if let Some(sample) = self.subscriber.receive().map_err(err("receive"))? {
                return Ok(read(sample.payload()));
            }
            match &self.events {
                Some((_, listener)) => {
                    let started = Instant::now();
                    listener
                        .timed_wait(|_| {}, WAIT_SLICE.min(self.deadline.remaining()))
                        .map_err(err("wait"))?;
                    let ran_out = started.elapsed() >= WAIT_SLICE;
                    if ran_out && self.subscriber.has_samples().map_err(err("receive"))? {
                        self.lost_wakeups.set(self.lost_wakeups.get() + 1);
                    }
                    self.deadline.check("iceoryx2: receive")?;
                }
                None => {
                    spins = spins.wrapping_add(1);
                    if spins.is_multiple_of(4096) {
                        self.deadline.check("iceoryx2: receive")?;
                    }
                    std::hint::spin_loop();
                }
            }
        }
    }
}

fn is_blocking(mode: &str) -> Result<bool, String> {
    match mode {
        "busy-poll" => Ok(false),
        "blocking" => Ok(true),
        other => Err(format!("iceoryx2 has no mode `{other}` here")),
    }
}

/// The parent's side.
pub fn parent(job: &Job) -> Result<Run, String> {
    let blocking = is_blocking(job.mode)?;
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let id = format!("{}-{}", std::process::id(), super::next_id());
    let ports = Ports::open(&id, job.payload, blocking, true, job.limit)?;
    let mut child = Spawn::new(job)?.arg("service", &id).start(job.limit)?;
    let ready = child.ready()?;
    let msg = payload(job.payload);
    let mut run = Run {
        pinned: parent_pinned && ready.pinned,
        ..Run::default()
    };
    drive(job, Some(child.pid()), &mut run, |step| match step {
        Step::Send(_) => ports.send(&msg),
        Step::Echo(_) => ports.recv(touch).map(drop),
        Step::Acked(_) => ports.recv(|_| ()),
    })?;
    child.finish()?;
    drop(ports);
    Ok(run)
}

/// The child's side.
pub fn child(job: &ChildJob) -> Result<(), String> {
    let blocking = is_blocking(&job.mode)?;
    let limit = job.deadline.saturating_duration_since(Instant::now());
    let ports = Ports::open(job.get("service")?, job.payload, blocking, false, limit)?;
    job.ready("");
    let mut echo = vec![0u8; job.payload];
    serve(job, |step| match step {
        Serve::Echo(_) => {
            ports.recv(|bytes| {
                touch(bytes);
                echo.copy_from_slice(bytes);
            })?;
            ports.send(&echo)
        }
        Serve::Take(_) => ports.recv(touch).map(drop),
        Serve::Ack(_) => ports.send(b"a"),
    })
}

/// iceoryx2's own files outside any service: its root directory (with
/// `nodes/` and `services/`) and, in the shared-memory directory, segments
/// named with its prefix (a global management segment outlives every node).
pub fn census() -> Vec<std::path::PathBuf> {
    set_log_level(LogLevel::Error);
    let global = &Config::global_config().global;
    let mut found = Vec::new();
    let root = std::path::PathBuf::from(global.root_path().to_string());
    if root.exists() {
        found.push(root);
    }
    let prefix = global.prefix.to_string();
    let entries = crate::sys::shm_dir().and_then(|dir| std::fs::read_dir(dir).ok());
    for entry in entries.into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            found.push(entry.path());
        }
    }
    found
}

/// Removes what [`census`] finds now and did not find in `before`, so a run
/// leaves nothing of iceoryx2 behind. Directories go only when empty (no
/// node or service of anyone else is inside).
pub fn remove_new(before: &[std::path::PathBuf]) {
    for path in census().into_iter().filter(|p| !before.contains(p)) {
        if path.is_dir() {
            for sub in ["nodes", "services"] {
                let _ = std::fs::remove_dir(path.join(sub));
            }
            let _ = std::fs::remove_dir(&path);
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
}
