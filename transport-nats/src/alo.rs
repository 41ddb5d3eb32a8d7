//! At least once: a JetStream work-queue stream, one durable pull consumer
//! shared by every receiver, explicit acknowledgements, and dead letters.
//!
//! A send publishes with a `Nats-Msg-Id` of its own (`<sender>-<n>`) and
//! returns once the stream stored the message; a publish whose answer was
//! lost (a failover, a reconnect) is sent again with the same id, and the
//! stream's de-duplication window keeps one copy. A bounded channel is a
//! stream with `max_msgs` and `discard: new`: a full stream refuses the
//! publish, which is `Full` (a blocking send tries again).
//!
//! Receivers pull: each has its own inbox and asks the consumer
//! (`$JS.API.CONSUMER.MSG.NEXT`) for what it wants, one request at a time,
//! with idle heartbeats so a server that vanished is noticed. A raw
//! receiver asks for [`Options::prefetch`] messages ahead; a
//! [`Queue`](crate::Queue) asks for one per waiting get. The receive calls
//! read the inbox themselves (no relay task). A message that reaches its
//! delivery limit is moved to the dead-letter stream by whichever receiver
//! process gets the server's advisory first.
//!
//! A channel with processed markers ([`Options::deduplicate`]) stores a
//! marker for each finished message before acknowledging it, and looks up
//! every delivery's marker before a receive returns it (see the `done`
//! module). Whether anything is left for a receiver is the stream's
//! count, or, when the count stays above what the consumer can still
//! deliver (a removal lost in a failover), the consumer's own counts.
//!
//! A delivery held unread for half the ack wait or more (a receiver whose
//! caller was busy, with a prefetch) is dropped unanswered rather than
//! handed out: by then the server may have delivered it to another
//! receiver, and it delivers it again after its ack wait anyway. A
//! receiver knows a delivery's age from the last time it saw its inbox
//! empty before reading it.

use std::{
    collections::VecDeque,
    io,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use transport_core::sync::LockExt;

use async_nats::{
    HeaderMap, Message, StatusCode, Subject, Subscriber,
    jetstream::{
        self,
        consumer::{AckPolicy, pull},
        context::PublishErrorKind,
        message::PublishMessage,
        stream::{self, DiscardPolicy, RetentionPolicy, StorageType},
    },
};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::task::AbortHandle;
use transport_core::backend::{Fill, FrameWriter, RawRecvError, RawSendError, Wait};

use crate::{
    base::{Base, setup_deadline},
    client::Inner,
    done::Markers,
    frame::{self, Ack, AckSink, NatsFrame},
    names::{GROUP, Names},
    options::Options,
    roster::{Presence, Side},
    runtime,
};

/// Room left in `max_payload` for the headers of a JetStream publish.
const HEADER_ROOM: usize = 128;
/// How long one pull request lasts on the server.
const PULL_EXPIRES: Duration = Duration::from_secs(30);

/// Creates the channel's streams and consumer if they are not there yet
/// (an existing stream is used as it is).
pub(crate) fn setup(client: &Arc<Inner>, names: &Names, options: &Options) -> io::Result<()> {
    let js = client.js.clone();
    let work = stream::Config {
        name: names.stream(),
        subjects: vec![names.jetstream()],
        retention: RetentionPolicy::WorkQueue,
        discard: DiscardPolicy::New,
        max_messages: options
            .capacity
            .map_or(-1, |c| i64::try_from(c).unwrap_or(i64::MAX)),
        // The server counts the headers (`Nats-Msg-Id`) in the size.
        max_message_size: i32::try_from(options.max_message_size.saturating_add(HEADER_ROOM))
            .unwrap_or(i32::MAX),
        storage: storage(options),
        num_replicas: options.replicas,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    let dead = stream::Config {
        name: names.dead_stream(),
        subjects: vec![names.dead()],
        storage: storage(options),
        num_replicas: options.replicas,
        ..Default::default()
    };
    let consumer = pull::Config {
        durable_name: Some(GROUP.to_owned()),
        ack_policy: AckPolicy::Explicit,
        ack_wait: options.ack_wait,
        max_deliver: i64::from(options.max_deliver),
        max_ack_pending: 20_000,
        num_replicas: options.replicas,
        ..Default::default()
    };
    let markers = Markers::config(names, options);
    let made = runtime::wait_for(
        async move {
            let stream = js.get_or_create_stream(work).await?;
            js.get_or_create_stream(dead).await?;
            if let Some(markers) = markers {
                js.get_or_create_stream(markers).await?;
            }
            stream.get_or_create_consumer(GROUP, consumer).await?;
            Ok::<_, async_nats::Error>(())
        },
        setup_deadline(),
    );
    match made {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(io::Error::other(e)),
        None => Err(io::ErrorKind::TimedOut.into()),
    }
}

fn storage(options: &Options) -> StorageType {
    if options.memory_storage {
        StorageType::Memory
    } else {
        StorageType::File
    }
}

/// Deletes the channel's streams (an anonymous channel whose last end
/// left), waiting at most a few seconds.
pub(crate) fn remove(client: &Arc<Inner>, names: &Names) {
    let js = client.js.clone();
    let (work, dead, done) = (names.stream(), names.dead_stream(), names.done_stream());
    runtime::wait_for(
        async move {
            let _ = js.delete_stream(work).await;
            let _ = js.delete_stream(dead).await;
            // Not there unless the channel keeps processed markers.
            let _ = js.delete_stream(done).await;
        },
        Some(Instant::now() + Duration::from_secs(5)),
    );
}

/// How a publish went wrong.
enum Refusal {
    Full,
    TooLarge,
    /// The answer did not come (timeout, failover, reconnect): the message
    /// may or may not be stored; send it again with the same id.
    Retry,
    /// The stream is gone.
    Gone,
    Other(io::Error),
}

fn classify(e: jetstream::context::PublishError) -> Refusal {
    match e.kind() {
        PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe | PublishErrorKind::MaxAckPending => {
            Refusal::Retry
        }
        PublishErrorKind::StreamNotFound => Refusal::Gone,
        PublishErrorKind::Other => {
            let server = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<jetstream::Error>());
            match server {
                Some(s)
                    if s.error_code() == jetstream::ErrorCode::STREAM_STORE_FAILED
                        && s.to_string().contains("maximum") =>
                {
                    Refusal::Full
                }
                Some(s) if s.error_code() == jetstream::ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM => {
                    Refusal::TooLarge
                }
                Some(s)
                    if s.error_code() == jetstream::ErrorCode::CLUSTER_NOT_AVAILABLE || s.code() == 503 =>
                {
                    Refusal::Retry
                }
                _ => Refusal::Other(io::Error::other(e)),
            }
        }
        _ => Refusal::Other(io::Error::other(e)),
    }
}

/// The sending half.
pub(crate) struct AloSender {
    pub(crate) base: Base,
    subject: Subject,
    data_id: String,
    seq: AtomicU64,
}

impl AloSender {
    pub(crate) fn open(base: Base) -> AloSender {
        base.join();
        AloSender {
            subject: base.names.jetstream().into(),
            data_id: crate::id::random(),
            seq: AtomicU64::new(0),
            base,
        }
    }

    pub(crate) fn max_message_size(&self) -> usize {
        let server = self.base.client.max_payload().saturating_sub(HEADER_ROOM);
        self.base.options.max_message_size.min(server)
    }

    pub(crate) fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        if self.base.roster.presence(Side::Receivers).gone() || self.base.lost() {
            return Err(RawSendError::Disconnected);
        }
        let limit = self.max_message_size();
        let mut buf = Vec::new();
        let mut writer = FrameWriter::bytes(&mut buf, limit);
        if let Err(e) = fill(&mut writer) {
            writer.abort();
            return Err(RawSendError::Serialize(e));
        }
        writer.finish()?;
        let payload = Bytes::from(buf);
        let id = format!("{}-{}", self.data_id, self.seq.fetch_add(1, Ordering::Relaxed));
        let mut backoff = Duration::from_millis(1);
        let mut failing_since: Option<Instant> = None;
        loop {
            let seen = self.base.signal.generation();
            let refusal = match self.publish_once(&payload, &id) {
                Ok(()) => return Ok(()),
                Err(refusal) => refusal,
            };
            match refusal {
                Refusal::Full if wait.expired() => return Err(RawSendError::NotReady),
                Refusal::Full => {
                    failing_since = None;
                    let retry = Wait::timeout(backoff);
                    let wait_now = match (wait.deadline(), retry.deadline()) {
                        (Some(a), Some(b)) => Wait::Until(a.min(b)),
                        (None, Some(b)) => Wait::Until(b),
                        _ => retry,
                    };
                    self.base.pause(seen, wait_now);
                    backoff = (backoff * 2).min(Duration::from_millis(32));
                }
                Refusal::TooLarge => {
                    return Err(RawSendError::TooLarge {
                        len: payload.len(),
                        limit: self.max_message_size(),
                    });
                }
                Refusal::Retry | Refusal::Gone => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.base.options.outage_limit
                        || self.base.roster.presence(Side::Receivers).gone()
                    {
                        return Err(RawSendError::Disconnected);
                    }
                    self.base.pause(seen, Wait::timeout(Duration::from_millis(100)));
                }
                Refusal::Other(e) => return Err(RawSendError::Io(e)),
            }
        }
    }

    /// One publish and its acknowledgement.
    fn publish_once(&self, payload: &Bytes, id: &str) -> Result<(), Refusal> {
        let js = self.base.inner().js.clone();
        let subject = self.subject.clone();
        let message = PublishMessage::build().payload(payload.clone()).message_id(id);
        let published = runtime::drive(
            async move { js.send_publish(subject, message).await?.await },
            &self.base.signal,
            &self.base.waker,
            Some(Instant::now() + Duration::from_secs(15)),
        );
        match published {
            Some(Ok(_ack)) => Ok(()),
            Some(Err(e)) => Err(classify(e)),
            None => Err(Refusal::Retry),
        }
    }

    pub(crate) fn hand_off(self) -> String {
        self.base.hand_off();
        self.base.token()
    }
}

/// The receiving half.
pub(crate) struct AloReceiver {
    pub(crate) base: Base,
    sink: Arc<AckSink>,
    /// Boxed: it is most of a receiver's size.
    state: Box<Mutex<PullState>>,
    /// A [`Queue`](crate::Queue): one message per waiting get, and
    /// acknowledgement by `task_done` rather than by dropping.
    explicit: bool,
    /// Gets waiting now (explicit mode).
    waiting: AtomicUsize,
    dead_letters: AbortHandle,
    markers: Option<Arc<Markers>>,
    /// Deliveries dropped because they were held unread past half the ack
    /// wait.
    stale: AtomicU64,
}

struct PullState {
    inbox: Subscriber,
    inbox_subject: Subject,
    next_subject: Subject,
    pull: Option<Pull>,
    peeked: Option<Message>,
    /// Deliveries read from the inbox and not handed out yet, each with a
    /// time before it was delivered.
    arrived: VecDeque<Arrived>,
    /// When the inbox was last seen empty.
    empty_at: Instant,
    /// Deliveries taken by gets and not yet marked done (explicit mode):
    /// their reply subjects and marker keys.
    taken: VecDeque<(Subject, Option<String>)>,
    /// The consumer's counts, asked for when the senders are gone.
    info: Option<Answer>,
    info_at: Option<Instant>,
    /// The server said nothing is left, and nothing came since.
    drained: bool,
    closed: bool,
}

/// Where the counts a drained check needs arrive, `Err` if the server could
/// not say.
type Answer = Arc<Mutex<Option<Result<Left, ()>>>>;

/// What the server says is left on a channel.
#[derive(Clone, Copy, Debug)]
struct Left {
    /// Messages in the stream (a work queue keeps a message until it is
    /// acknowledged).
    messages: u64,
    /// The consumer's view, asked for only when the stream is not empty:
    /// whether it delivered everything the stream ever stored and has
    /// nothing new to deliver, and how many deliveries wait for an
    /// acknowledgement.
    consumer: Option<(bool, u64)>,
}

impl Left {
    /// Whether nothing is left that a receiver holding `here` deliveries
    /// could still get: every message in the stream is one it holds, or
    /// (after a failover lost the removal of acknowledged messages, which
    /// then stay in the stream, never to be delivered) the consumer has
    /// delivered everything and waits only for what this receiver holds.
    fn drained(&self, here: u64) -> bool {
        self.messages <= here
            || self
                .consumer
                .is_some_and(|(all_delivered, unacknowledged)| all_delivered && unacknowledged <= here)
    }
}

/// Asks the server what is left on the channel.
async fn left(js: jetstream::Context, names: Names) -> Result<Left, async_nats::Error> {
    let stream = js.get_stream_no_info(names.stream()).await?;
    let state = stream.get_info().await?.state;
    let consumer = if state.messages == 0 {
        None
    } else {
        let info = stream.consumer_info(GROUP).await?;
        let all_delivered = info.num_pending == 0 && info.delivered.stream_sequence >= state.last_sequence;
        Some((all_delivered, info.num_ack_pending as u64))
    };
    Ok(Left {
        messages: state.messages,
        consumer,
    })
}

/// Where the answer of a marker lookup arrives: `Ok(true)`, marked
/// (finished before); `Err`, the lookup failed.
type Marked = Arc<Mutex<Option<Result<bool, ()>>>>;

/// A delivery read from the inbox and not handed out yet.
struct Arrived {
    /// A time before the server delivered it.
    since: Instant,
    msg: Message,
    /// Its marker lookup, on a channel that keeps markers.
    marked: Option<Marked>,
}

/// The pull request in progress.
struct Pull {
    remaining: usize,
    heard: Instant,
    /// The connection it was sent on: a reconnection voids it.
    epoch: u64,
}

/// What the inbox gave.
enum Inbox {
    Message(Message),
    Empty,
    Closed,
}

impl AloReceiver {
    pub(crate) fn open(base: Base, explicit: bool) -> io::Result<AloReceiver> {
        let nats = base.client.inner.nats.clone();
        let inbox_subject: Subject = nats.new_inbox().into();
        let dead_subject = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.{GROUP}",
            base.names.stream()
        );
        let subject = inbox_subject.clone();
        let subscribed = runtime::wait_for(
            async move {
                let inbox = nats.subscribe(subject).await?;
                let dead = nats
                    .queue_subscribe(dead_subject, "dead-letters".to_owned())
                    .await?;
                nats.flush().await?;
                Ok::<_, async_nats::Error>((inbox, dead))
            },
            setup_deadline(),
        );
        let (inbox, dead) = match subscribed {
            Some(Ok(subs)) => subs,
            Some(Err(e)) => return Err(io::Error::other(e)),
            None => return Err(io::ErrorKind::TimedOut.into()),
        };
        let dead_letters = runtime::handle()
            .spawn(move_dead_letters(
                dead,
                base.client.inner.clone(),
                base.names.clone(),
            ))
            .abort_handle();
        // A failover takes a few seconds: markers keep trying as long as
        // the channel rides out an outage, and at least as long as an
        // acknowledgement is sent again.
        let patience = base.options.outage_limit.max(frame::ACK_TIMEOUT);
        let markers = Markers::new(&base.client.inner.js, &base.names, &base.options, patience).map(Arc::new);
        let sink = Arc::new(AckSink {
            client: base.client.inner.clone(),
            markers: markers.clone(),
            held: AtomicUsize::new(0),
            marking: AtomicUsize::new(0),
            signal: Arc::clone(&base.signal),
        });
        let next_subject = format!("$JS.API.CONSUMER.MSG.NEXT.{}.{GROUP}", base.names.stream()).into();
        base.join();
        Ok(AloReceiver {
            base,
            sink,
            state: Box::new(Mutex::new(PullState {
                inbox,
                inbox_subject,
                next_subject,
                pull: None,
                peeked: None,
                arrived: VecDeque::new(),
                empty_at: Instant::now(),
                taken: VecDeque::new(),
                info: None,
                info_at: None,
                drained: false,
                closed: false,
            })),
            explicit,
            waiting: AtomicUsize::new(0),
            dead_letters,
            markers,
            stale: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, PullState> {
        self.state.lock_unpoisoned()
    }

    /// Reads the inbox until a message or nothing: heartbeats, the end of
    /// pull requests and messages already finished (by their markers) are
    /// handled here.
    fn read(&self, st: &mut PullState) -> Inbox {
        if let Some(msg) = st.peeked.take() {
            return Inbox::Message(msg);
        }
        let mut cx = Context::from_waker(&self.base.waker);
        // Always: heartbeats and the end of pull requests are heard even
        // while the oldest delivery waits for its lookup.
        self.fill(st, &mut cx);
        loop {
            let Some(front) = st.arrived.front() else {
                return if st.closed { Inbox::Closed } else { Inbox::Empty };
            };
            let marked = match &front.marked {
                Some(answer) => match answer.lock_unpoisoned().take() {
                    // Still looking: the messages behind it wait.
                    None => return Inbox::Empty,
                    Some(marked) => marked == Ok(true),
                },
                None => false,
            };
            let Arrived { since, msg, .. } = st.arrived.pop_front().expect("looked at above");
            if marked {
                // Finished before: acknowledged again, never handed out.
                // (A lost acknowledgement, or a leader that never learnt of
                // the first delivery, brings it back here.)
                if let (Some(markers), Some(reply)) = (&self.markers, msg.reply) {
                    markers.skipped_one();
                    let _ = self
                        .base
                        .inner()
                        .publish(reply, None, Bytes::from_static(b"+ACK"), None);
                }
                continue;
            }
            if self.stale(since) {
                // Held unread so long that the server may have delivered
                // it to another receiver already: not handed out, not
                // answered (the server delivers it again after its ack
                // wait, to whoever asks).
                self.stale.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            // Not finished before, or the lookup failed: at least once,
            // the message is handed out.
            return Inbox::Message(msg);
        }
    }

    /// Whether a delivery made after `since` may have been delivered to
    /// another receiver by now (half the ack wait has passed).
    fn stale(&self, since: Instant) -> bool {
        since.elapsed() >= self.base.options.ack_wait / 2
    }

    /// Moves everything the inbox holds now into `st.arrived`, each
    /// message with the last time the inbox was seen empty (it was
    /// delivered after that), and handles heartbeats and the end of pull
    /// requests.
    fn fill(&self, st: &mut PullState, cx: &mut Context<'_>) {
        let since = st.empty_at;
        loop {
            let inbox = &mut st.inbox;
            let msg = match runtime::poll_unbudgeted(cx, |cx| {
                Stream::poll_next(std::pin::Pin::new(&mut *inbox), cx)
            }) {
                Poll::Ready(Some(msg)) => msg,
                Poll::Ready(None) => {
                    st.closed = true;
                    return;
                }
                Poll::Pending => {
                    st.empty_at = Instant::now();
                    return;
                }
            };
            match msg.status {
                None | Some(StatusCode::OK) => {
                    // A count asked for before this delivery is stale.
                    st.drained = false;
                    st.info = None;
                    if let Some(pull) = &mut st.pull {
                        pull.heard = Instant::now();
                        pull.remaining = pull.remaining.saturating_sub(1);
                        if pull.remaining == 0 {
                            st.pull = None;
                        }
                    }
                    if msg.reply.is_some() {
                        let marked = self.look_up(&msg);
                        st.arrived.push_back(Arrived { since, msg, marked });
                    }
                }
                Some(StatusCode::IDLE_HEARTBEAT) => {
                    if let Some(pull) = &mut st.pull {
                        pull.heard = Instant::now();
                    }
                }
                // 404 no messages, 408 request expired, 409 leadership
                // change, consumer deleted, too many waiting, ...: this
                // request is over.
                Some(_) => st.pull = None,
            }
        }
    }

    /// Starts looking up the marker of a delivery, on a channel that keeps
    /// markers; `None` when there is nothing to look up (no markers, no
    /// message id). Every delivery is looked up, first ones included: a
    /// consumer leader elected in a failover may not know of a delivery
    /// its predecessor made, and sends the message again as a first one.
    fn look_up(&self, msg: &Message) -> Option<Marked> {
        let markers = Arc::clone(self.markers.as_ref()?);
        let key = Markers::key(msg)?;
        let answer = Arc::new(Mutex::new(None));
        let (slot, signal) = (Arc::clone(&answer), Arc::clone(&self.base.signal));
        runtime::spawn(async move {
            let marked = markers.is_marked(&key).await.map_err(drop);
            *slot.lock_unpoisoned() = Some(marked);
            signal.notify();
        });
        Some(answer)
    }

    /// How many messages to ask for now.
    fn wanted(&self) -> usize {
        if self.explicit {
            self.waiting.load(Ordering::Acquire).min(1)
        } else {
            self.base.options.prefetch
        }
    }

    /// Whether the pull request in progress can still deliver: sent on
    /// this connection, and heard from (a message or a heartbeat) within
    /// three heartbeats.
    fn pull_alive(&self, st: &PullState) -> bool {
        let epoch = self.base.client.inner.link.epoch();
        st.pull
            .as_ref()
            .is_some_and(|p| p.epoch == epoch && p.heard.elapsed() < self.base.options.heartbeat * 3)
    }

    /// When the pull request in progress counts as lost if nothing is heard.
    fn pull_deadline(&self, st: &PullState) -> Option<Instant> {
        st.pull
            .as_ref()
            .map(|p| p.heard + self.base.options.heartbeat * 3)
    }

    /// Sends a pull request unless one is in progress (and still heard
    /// from). `no_wait`: the server answers at once, with a message or
    /// "none".
    fn ask(&self, st: &mut PullState, no_wait: bool) {
        if self.pull_alive(st) {
            return;
        }
        let batch = self.wanted();
        if batch == 0 || !self.base.client.inner.link.is_up() {
            return;
        }
        let body = if no_wait {
            format!("{{\"batch\":{batch},\"no_wait\":true}}")
        } else {
            format!(
                "{{\"batch\":{batch},\"expires\":{},\"idle_heartbeat\":{}}}",
                PULL_EXPIRES.as_nanos(),
                self.base.options.heartbeat.as_nanos()
            )
        };
        let sent = self.base.inner().publish_to(
            st.next_subject.clone(),
            Some(st.inbox_subject.clone()),
            None,
            Bytes::from(body),
            None,
        );
        if sent.is_ok() {
            st.pull = Some(Pull {
                remaining: batch,
                heard: Instant::now(),
                epoch: self.base.client.inner.link.epoch(),
            });
        }
    }

    /// Whether nothing is left that this receiver could still get (see
    /// [`Left::drained`]). Asks the server, at most every 100 ms.
    fn drained(&self, st: &mut PullState) -> bool {
        if st.drained {
            return true;
        }
        if let Some(info) = &st.info {
            let answer = info.lock_unpoisoned().take();
            if let Some(answer) = answer {
                st.info = None;
                if let Ok(left) = answer {
                    let here = self.sink.held.load(Ordering::Acquire) + st.taken.len();
                    if left.drained(here as u64) {
                        st.drained = true;
                        return true;
                    }
                }
            }
        }
        if st.info.is_none()
            && st
                .info_at
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(100))
        {
            let slot = Arc::new(Mutex::new(None));
            st.info = Some(Arc::clone(&slot));
            st.info_at = Some(Instant::now());
            let js = self.base.inner().js.clone();
            let names = self.base.names.clone();
            let signal = Arc::clone(&self.base.signal);
            runtime::spawn(async move {
                let answer = left(js, names).await.map_err(drop);
                *slot.lock_unpoisoned() = Some(answer);
                signal.notify();
            });
        }
        false
    }

    pub(crate) fn recv_frame(&self, wait: Wait) -> Result<NatsFrame, RawRecvError> {
        if self.explicit {
            self.waiting.fetch_add(1, Ordering::AcqRel);
        }
        let result = self.receive(wait);
        if self.explicit {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        result
    }

    fn receive(&self, wait: Wait) -> Result<NatsFrame, RawRecvError> {
        let mut first = true;
        loop {
            let seen = self.base.signal.generation();
            let senders = self.base.roster.presence(Side::Senders);
            let mut st = self.lock();
            match self.read(&mut st) {
                Inbox::Message(msg) => return Ok(self.deliver(&mut st, msg)),
                Inbox::Closed => return Err(RawRecvError::Disconnected),
                Inbox::Empty => {}
            }
            if self.base.lost() {
                return Err(RawRecvError::Disconnected);
            }
            // A get that must not wait asks the server once, and waits for
            // its immediate answer.
            let no_wait = self.explicit && wait == Wait::Never;
            if no_wait && !first {
                return Err(RawRecvError::NotReady);
            }
            self.ask(&mut st, no_wait);
            if self.senders_gone(senders, &mut st) && self.drained(&mut st) {
                return Err(RawRecvError::Disconnected);
            }
            if wait.expired() && !no_wait {
                return Err(RawRecvError::NotReady);
            }
            let lost_pull = self.pull_deadline(&st);
            drop(st);
            let pause = if no_wait {
                Wait::timeout(Duration::from_secs(5))
            } else {
                wait
            };
            self.base.pause_receiving(seen, pause, lost_pull);
            first = false;
        }
    }

    fn deliver(&self, st: &mut PullState, msg: Message) -> NatsFrame {
        let key = self.markers.as_ref().and_then(|_| Markers::key(&msg));
        let reply = msg.reply.expect("deliveries have a reply subject");
        if self.explicit {
            st.taken.push_back((reply, key));
            NatsFrame::new(msg.payload, None)
        } else {
            self.sink.held.fetch_add(1, Ordering::AcqRel);
            let ack = Ack {
                reply,
                key,
                sink: Arc::clone(&self.sink),
            };
            NatsFrame::aligned(msg.payload, ack)
        }
    }

    /// Whether a receive would make progress now (starting the pulls an
    /// async task's wait needs).
    pub(crate) fn poll_ready(&self) -> bool {
        let senders = self.base.roster.presence(Side::Senders);
        let mut st = self.lock();
        match self.read(&mut st) {
            Inbox::Message(msg) => {
                st.peeked = Some(msg);
                return true;
            }
            Inbox::Closed => return true,
            Inbox::Empty => {}
        }
        if self.explicit {
            // An async get counts as waiting while it polls.
            self.waiting.fetch_add(1, Ordering::AcqRel);
            self.ask(&mut st, false);
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        } else {
            self.ask(&mut st, false);
        }
        self.base.lost() || (self.senders_gone(senders, &mut st) && self.drained(&mut st))
    }

    /// Whether every sender is gone. While one is not, a count of what is
    /// left asked for earlier (before a sender joined and sent, say) says
    /// nothing about the end: it is dropped, and the next drained check
    /// asks again.
    fn senders_gone(&self, senders: Presence, st: &mut PullState) -> bool {
        let gone = senders.gone();
        if !gone {
            st.info = None;
            st.drained = false;
        }
        gone
    }

    /// Acknowledges the oldest delivery taken and not yet done (storing
    /// its processed marker first, on a channel that keeps them), waiting
    /// for the server to confirm (`JoinableQueue.task_done`).
    pub(crate) fn task_done(&self) -> Result<(), crate::QueueError> {
        let (reply, key) = self
            .lock()
            .taken
            .pop_front()
            .ok_or(crate::QueueError::TooManyTaskDone)?;
        frame::finish(self.base.inner(), self.markers.as_ref(), key, reply).map_err(|e| {
            let what = match e {
                frame::AckError::NotMarked(_) => "the processed marker",
                _ => "the acknowledgement",
            };
            crate::QueueError::Server {
                what,
                source: Box::new(e),
            }
        })
    }

    /// How many deliveries this receiver did not hand out: finished ones
    /// (by their markers) and stale ones.
    pub(crate) fn skipped(&self) -> u64 {
        self.markers.as_ref().map_or(0, |m| m.skipped()) + self.stale.load(Ordering::Relaxed)
    }

    /// Gives back everything this receiver holds and has not delivered or
    /// finished, so other receivers get it now.
    fn give_back(&self) {
        self.dead_letters.abort();
        let mut st = self.lock();
        let mut back: Vec<Subject> = st.taken.drain(..).map(|(reply, _)| reply).collect();
        back.extend(st.peeked.take().and_then(|msg| msg.reply));
        let mut cx = Context::from_waker(&self.base.waker);
        self.fill(&mut st, &mut cx);
        // Stale deliveries are left to their ack wait: another receiver
        // may have them now.
        let arrived: Vec<Arrived> = st.arrived.drain(..).collect();
        back.extend(
            arrived
                .into_iter()
                .filter(|a| !self.stale(a.since))
                .filter_map(|a| a.msg.reply),
        );
        for reply in back {
            let _ = self
                .base
                .inner()
                .publish(reply, None, Bytes::from_static(b"-NAK"), None);
        }
    }

    pub(crate) fn is_explicit(&self) -> bool {
        self.explicit
    }

    /// Waits for the acknowledgements of dropped frames that wait for
    /// their markers, so that a process that exits next does not lose
    /// them.
    fn settle(&self) {
        if let Some(markers) = &self.markers {
            self.sink.settle(Instant::now() + markers.patience());
        }
    }

    pub(crate) fn hand_off(self) -> String {
        self.give_back();
        self.settle();
        self.base.hand_off();
        self.base.token()
    }
}

impl Drop for AloReceiver {
    fn drop(&mut self) {
        self.give_back();
        self.settle();
    }
}

/// The number of messages in the stream (put and not yet acknowledged), or
/// waiting for a receiver (`pending_only`).
pub(crate) fn count(base: &Base, pending_only: bool) -> Result<u64, crate::QueueError> {
    let js = base.inner().js.clone();
    let stream = base.names.stream();
    let asked = runtime::wait_for(
        async move {
            let stream = js.get_stream_no_info(stream).await?;
            if pending_only {
                Ok::<_, async_nats::Error>(stream.consumer_info(GROUP).await?.num_pending)
            } else {
                Ok(stream.get_info().await?.state.messages)
            }
        },
        Some(Instant::now() + Duration::from_secs(10)),
    );
    match asked {
        Some(Ok(n)) => Ok(n),
        Some(Err(source)) => Err(crate::QueueError::Server {
            what: "the queue's counts",
            source,
        }),
        None => Err(crate::QueueError::Timeout),
    }
}

/// Moves each message that reached its delivery limit to the dead-letter
/// stream, with where it came from in its headers, then removes it from
/// the work queue (where nothing would ever remove it).
async fn move_dead_letters(mut advisories: Subscriber, client: Arc<Inner>, names: Names) {
    while let Some(advisory) = advisories.next().await {
        let Some(seq) = json_number(&advisory.payload, "stream_seq") else {
            continue;
        };
        let deliveries = json_number(&advisory.payload, "deliveries").unwrap_or(0);
        let Ok(stream) = client.js.get_stream_no_info(names.stream()).await else {
            continue;
        };
        let Ok(message) = stream.get_raw_message(seq).await else {
            continue;
        };
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("dead-{seq}").as_str());
        headers.insert("Transport-Stream-Seq", seq.to_string().as_str());
        headers.insert("Transport-Deliveries", deliveries.to_string().as_str());
        let publish = PublishMessage::build().payload(message.payload).headers(headers);
        let stored = match client.js.send_publish(names.dead(), publish).await {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        };
        if stored {
            let _ = stream.delete_message(seq).await;
        }
    }
}

/// The unsigned number after `"key":` in a JSON text.
fn json_number(json: &[u8], key: &str) -> Option<u64> {
    let text = std::str::from_utf8(json).ok()?;
    let pattern = format!("\"{key}\":");
    let start = text.find(&pattern)? + pattern.len();
    let digits: String = text[start..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advisory_numbers_are_read() {
        let advisory = br#"{"type":"io.nats.jetstream.advisory.v1.max_deliver","stream":"S","consumer":"workers","stream_seq": 42,"deliveries":5}"#;
        assert_eq!(json_number(advisory, "stream_seq"), Some(42));
        assert_eq!(json_number(advisory, "deliveries"), Some(5));
        assert_eq!(json_number(advisory, "missing"), None);
        assert_eq!(json_number(b"\xff", "x"), None);
    }
}
