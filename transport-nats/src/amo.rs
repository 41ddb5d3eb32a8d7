//! At most once: core NATS, a queue group of subscribers, and credit-based
//! flow control.
//!
//! Sender `S` publishes to `…d.S`; every receiver subscribes to `…d.*` in
//! queue group `workers`, so the server gives each message to one of them.
//! Core NATS has no back-pressure (a subscriber that falls behind is cut
//! off as a slow consumer, and a message published while nobody is
//! subscribed is dropped), so a sender only publishes while a receiver is
//! subscribed and it has *credit*: at most its window of messages sent and
//! not yet taken by a receive. Receivers report what they took from each
//! sender (`…c.S`, `<receiver> <count>`, cumulative) when half a window has
//! gone by, and at once when a blocked sender asks (`…a`, `S`). When a
//! receiver leaves or dies, a blocked sender forgives what is in flight
//! (the messages it held are lost: this is at most once).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use transport_core::sync::LockExt;

use async_nats::{Subject, Subscriber, client::PublishErrorKind};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::task::AbortHandle;
use transport_core::backend::{Fill, FrameWriter, RawRecvError, RawSendError, Wait};

use crate::{
    base::{Base, setup_deadline},
    client::Queued,
    frame::NatsFrame,
    id,
    names::GROUP,
    roster::Side,
    runtime,
};

/// The most receivers a sender keeps counts for.
const MAX_REPORTERS: usize = 1 << 16;
/// How often a blocked sender asks again when no report came.
const ASK_AGAIN: Duration = Duration::from_secs(1);
/// How many sends in a row may go on the last full look at the channel
/// (presence, outage, credit reports), while nothing notified the end
/// since: a look takes locks shared with the client's thread and reads the
/// clock, which cost more than the rest of a 64-byte send.
const RELOOK: u32 = 64;
/// The most a send reserves for its message before writing it: the last
/// message's length up to this (messages of one kind are often of one
/// length, and a serializer writes in pieces).
const RESERVE_MAX: usize = 64 << 10;
/// The most messages a receive moves from the client's channel into the
/// receiver's own buffer at once: the receives that follow take them
/// without polling the channel (or locking anything shared with the
/// client's thread) again.
const BATCH: usize = 128;

/// The sending half.
pub(crate) struct AmoSender {
    pub(crate) base: Base,
    subject: Subject,
    data_id: String,
    state: Mutex<SendState>,
}

struct SendState {
    credit: Subscriber,
    sent: u64,
    taken: HashMap<String, u64>,
    taken_total: u64,
    forgiven: u64,
    departures: u64,
    queued: Option<Arc<Queued>>,
    asked: Option<Instant>,
    closed: bool,
    /// The end's signal generation when the last full look found room, and
    /// the sends made on that look since.
    looked: Option<u64>,
    quick: u32,
    /// The length of the last message, to size the next one's buffer.
    last_len: usize,
}

impl SendState {
    fn in_flight(&self) -> u64 {
        self.sent
            .saturating_sub(self.taken_total.saturating_add(self.forgiven))
    }

    /// Whether a send may go on the last look: nothing notified the end
    /// since (no credit report, roster change, outage or queued publish
    /// finishing), no publish is queued, there is credit, and fewer than
    /// [`RELOOK`] sends went on it. Whatever the look would find out comes
    /// with a notification, except the passing of time (a lease or an
    /// outage running out), which the next look sees: at most [`RELOOK`]
    /// sends later, and every send that finds no credit looks.
    fn may_skip_look(&self, seen: u64, window: u64) -> bool {
        self.looked == Some(seen) && self.quick < RELOOK && self.queued.is_none() && self.in_flight() < window
    }

    /// Reads the credit reports that arrived; false once the client closed.
    fn read_reports(&mut self, cx: &mut Context<'_>) {
        while let Poll::Ready(next) = runtime::poll_unbudgeted(cx, |cx| self.credit.poll_next_unpin(cx)) {
            let Some(msg) = next else {
                self.closed = true;
                return;
            };
            let Some((receiver, count)) = parse_report(&msg.payload) else {
                continue;
            };
            if !self.taken.contains_key(receiver) && self.taken.len() >= MAX_REPORTERS {
                continue;
            }
            let entry = self.taken.entry(receiver.to_owned()).or_insert(0);
            if count > *entry {
                self.taken_total = self.taken_total.saturating_add(count - *entry);
                *entry = count;
                // A report answers any ask.
                self.asked = None;
            }
        }
    }
}

/// `<receiver id> <count>`.
fn parse_report(payload: &[u8]) -> Option<(&str, u64)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (receiver, count) = text.split_once(' ')?;
    if receiver.is_empty() || receiver.len() > 64 {
        return None;
    }
    Some((receiver, count.parse().ok()?))
}

/// What a send found.
enum Room {
    Yes,
    No,
    Disconnected,
}

impl AmoSender {
    pub(crate) fn open(base: Base) -> Result<AmoSender, std::io::Error> {
        let data_id = id::short();
        let nats = base.client.inner.nats.clone();
        let credit_subject = base.names.credit(&data_id);
        let subscribed = runtime::wait_for(
            async move {
                let sub = nats.subscribe(credit_subject).await?;
                nats.flush().await?;
                Ok::<_, async_nats::Error>(sub)
            },
            setup_deadline(),
        );
        let credit = match subscribed {
            Some(Ok(sub)) => sub,
            Some(Err(e)) => return Err(std::io::Error::other(e)),
            None => return Err(std::io::ErrorKind::TimedOut.into()),
        };
        base.join();
        Ok(AmoSender {
            subject: base.names.data(&data_id).into(),
            data_id,
            state: Mutex::new(SendState {
                credit,
                sent: 0,
                taken: HashMap::new(),
                taken_total: 0,
                forgiven: 0,
                departures: base.roster.departures(),
                queued: None,
                asked: None,
                closed: false,
                looked: None,
                quick: 0,
                last_len: 0,
            }),
            base,
        })
    }

    fn lock(&self) -> MutexGuard<'_, SendState> {
        self.state.lock_unpoisoned()
    }

    /// Whether a message may go now, with the state locked.
    fn room(&self, st: &mut SendState) -> Room {
        let receivers = self.base.roster.presence(Side::Receivers);
        st.read_reports(&mut Context::from_waker(&self.base.waker));
        if st.closed || self.base.lost() || receivers.gone() {
            return Room::Disconnected;
        }
        if st.queued.as_ref().is_some_and(|q| !q.is_done()) {
            return Room::No;
        }
        st.queued = None;
        if !receivers.live {
            return Room::No;
        }
        let window = self.base.options.credit_window() as u64;
        if st.in_flight() >= window {
            let departures = self.base.roster.departures();
            if departures != st.departures {
                // A receiver left with messages of ours: they are lost.
                st.departures = departures;
                st.forgiven = st.sent.saturating_sub(st.taken_total);
            }
        }
        if st.in_flight() < window {
            return Room::Yes;
        }
        if st.asked.is_none_or(|at| at.elapsed() >= ASK_AGAIN) {
            st.asked = Some(Instant::now());
            let ask = self.base.names.ask().into();
            let _ = self
                .base
                .inner()
                .publish(ask, None, Bytes::from(self.data_id.clone()), None);
        }
        Room::No
    }

    pub(crate) fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        let window = self.base.options.credit_window() as u64;
        loop {
            let seen = self.base.signal.generation();
            {
                let mut st = self.lock();
                if st.may_skip_look(seen, window) {
                    return self.publish(&mut st, fill);
                }
                match self.room(&mut st) {
                    Room::Yes => {
                        st.looked = Some(seen);
                        st.quick = 0;
                        return self.publish(&mut st, fill);
                    }
                    Room::Disconnected => return Err(RawSendError::Disconnected),
                    Room::No if wait.expired() => return Err(RawSendError::NotReady),
                    Room::No => {}
                }
            }
            self.base.pause(seen, wait);
        }
    }

    fn publish(&self, st: &mut SendState, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        let limit = self.max_message_size();
        let mut buf = Vec::with_capacity(st.last_len.min(RESERVE_MAX));
        let mut writer = FrameWriter::bytes(&mut buf, limit);
        if let Err(e) = fill(&mut writer) {
            writer.abort();
            return Err(RawSendError::Serialize(e));
        }
        st.last_len = writer.finish()?;
        let published = self.base.inner().publish(
            self.subject.clone(),
            None,
            Bytes::from(buf),
            Some(&self.base.signal),
        );
        match published {
            Ok(queued) => {
                st.queued = queued;
                st.sent += 1;
                st.quick += 1;
                Ok(())
            }
            Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => Err(RawSendError::TooLarge {
                len: limit + 1,
                limit,
            }),
            Err(e) => Err(RawSendError::Io(std::io::Error::other(e))),
        }
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.base
            .options
            .max_message_size
            .min(self.base.client.max_payload())
    }

    pub(crate) fn poll_ready(&self) -> bool {
        let mut st = self.lock();
        !matches!(self.room(&mut st), Room::No)
    }

    pub(crate) fn hand_off(self) -> String {
        self.base.hand_off();
        self.base.token()
    }
}

/// The receiving half.
pub(crate) struct AmoReceiver {
    pub(crate) base: Base,
    state: Mutex<RecvState>,
    counts: Arc<Mutex<Counts>>,
    reporter: AbortHandle,
}

struct RecvState {
    data: Subscriber,
    /// Messages taken from the client's channel and not yet received: at
    /// most [`BATCH`]; like those still in the channel, they reached this
    /// receiver and no receive.
    buffered: VecDeque<Delivered>,
    /// The client closed the channel.
    ended: bool,
}

/// What a receive needs of a message: its subject (which names its
/// sender) and payload; the rest of the client's message (a few times as
/// large) is dropped as it enters the buffer, so it is not moved again.
struct Delivered {
    subject: Subject,
    payload: Bytes,
}

/// What this receiver took from each sender, and what it told them.
struct Counts {
    receiver: String,
    threshold: u64,
    /// The count of the sender whose message came last, out of `senders`:
    /// a run of one sender's messages is counted without a hash lookup.
    recent: Option<(String, Count)>,
    senders: HashMap<String, Count>,
}

#[derive(Default)]
struct Count {
    taken: u64,
    reported: u64,
    asked: bool,
}

impl Counts {
    /// Counts one message of `sender`; the report to send, if one is due.
    fn take(&mut self, sender: &str) -> Option<(String, Bytes)> {
        if !self.is_recent(sender) {
            let entry = match self.senders.remove_entry(sender) {
                Some(entry) => entry,
                None if self.known() >= MAX_REPORTERS => return None,
                None => (sender.to_owned(), Count::default()),
            };
            if let Some((other, count)) = self.recent.replace(entry) {
                self.senders.insert(other, count);
            }
        }
        let threshold = self.threshold;
        let (_, count) = self.recent.as_mut()?;
        count.taken += 1;
        (count.asked || count.taken - count.reported >= threshold).then(|| self.report(sender))
    }

    fn is_recent(&self, sender: &str) -> bool {
        self.recent.as_ref().is_some_and(|(s, _)| s == sender)
    }

    /// How many senders are counted.
    fn known(&self) -> usize {
        self.senders.len() + usize::from(self.recent.is_some())
    }

    fn count(&mut self, sender: &str) -> Option<&mut Count> {
        if self.is_recent(sender) {
            return self.recent.as_mut().map(|(_, count)| count);
        }
        self.senders.get_mut(sender)
    }

    /// Every counted sender.
    fn senders(&self) -> Vec<String> {
        let recent = self.recent.iter().map(|(s, _)| s);
        self.senders.keys().chain(recent).cloned().collect()
    }

    /// A sender asked: the report, if there is news for it.
    fn ask(&mut self, sender: &str) -> Option<(String, Bytes)> {
        let count = self.count(sender)?;
        if count.taken > count.reported {
            Some(self.report(sender))
        } else {
            count.asked = true;
            None
        }
    }

    fn report(&mut self, sender: &str) -> (String, Bytes) {
        let count = self.count(sender).expect("reported senders are counted");
        count.reported = count.taken;
        count.asked = false;
        let taken = count.taken;
        (
            sender.to_owned(),
            Bytes::from(format!("{} {taken}", self.receiver)),
        )
    }
}

impl AmoReceiver {
    pub(crate) fn open(base: Base) -> Result<AmoReceiver, std::io::Error> {
        let nats = base.client.inner.nats.clone();
        let (data_subject, ask_subject) = (base.names.data_all(), base.names.ask());
        let subscribed = runtime::wait_for(
            async move {
                let data = nats.queue_subscribe(data_subject, GROUP.to_owned()).await?;
                let asks = nats.subscribe(ask_subject).await?;
                nats.flush().await?;
                Ok::<_, async_nats::Error>((data, asks))
            },
            setup_deadline(),
        );
        let (data, asks) = match subscribed {
            Some(Ok(subs)) => subs,
            Some(Err(e)) => return Err(std::io::Error::other(e)),
            None => return Err(std::io::ErrorKind::TimedOut.into()),
        };
        let counts = Arc::new(Mutex::new(Counts {
            receiver: base.id.clone(),
            threshold: (base.options.credit_window() as u64 / 2).max(1),
            recent: None,
            senders: HashMap::new(),
        }));
        let reporter = runtime::handle()
            .spawn(answer_asks(
                asks,
                Arc::clone(&counts),
                base.client.inner.clone(),
                base.names.clone(),
            ))
            .abort_handle();
        base.join();
        Ok(AmoReceiver {
            base,
            state: Mutex::new(RecvState {
                data,
                buffered: VecDeque::with_capacity(BATCH),
                ended: false,
            }),
            counts,
            reporter,
        })
    }

    fn lock(&self) -> MutexGuard<'_, RecvState> {
        self.state.lock_unpoisoned()
    }

    /// The next message, if one is there; `Err` once the client closed.
    ///
    /// With the buffer empty, it moves what the client's channel holds (up
    /// to [`BATCH`]) into it: one poll of the channel per message still,
    /// but the next receives find their message here, and the client's
    /// thread is asked to wake this receiver again only once it has
    /// drained the channel.
    fn next(&self, st: &mut RecvState) -> Result<Option<Delivered>, ()> {
        if let Some(msg) = st.buffered.pop_front() {
            return Ok(Some(msg));
        }
        if st.ended {
            return Err(());
        }
        let RecvState {
            data,
            buffered,
            ended,
        } = st;
        let mut cx = Context::from_waker(&self.base.waker);
        let _ = runtime::poll_unbudgeted(&mut cx, |cx| {
            while buffered.len() < BATCH {
                match Stream::poll_next(std::pin::Pin::new(&mut *data), cx) {
                    Poll::Ready(Some(msg)) => buffered.push_back(Delivered {
                        subject: msg.subject,
                        payload: msg.payload,
                    }),
                    Poll::Ready(None) => {
                        *ended = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            Poll::Ready(())
        });
        match st.buffered.pop_front() {
            Some(msg) => Ok(Some(msg)),
            None if st.ended => Err(()),
            None => Ok(None),
        }
    }

    /// The next message, locked for this one call.
    fn next_locked(&self) -> Result<Option<Delivered>, ()> {
        self.next(&mut self.lock())
    }

    pub(crate) fn recv_frame(&self, wait: Wait) -> Result<NatsFrame, RawRecvError> {
        loop {
            let seen = self.base.signal.generation();
            match self.next_locked() {
                Ok(Some(msg)) => return self.take(msg),
                Err(()) => return Err(RawRecvError::Disconnected),
                Ok(None) => {}
            }
            // Nothing there: whether the senders are gone. Presence first,
            // then the subscription once more: a sender's messages reach
            // this client before its departure does, so one that left just
            // now has its last messages seen here.
            let senders = self.base.roster.presence(Side::Senders);
            if senders.gone() || self.base.lost() {
                return match self.next_locked() {
                    Ok(Some(msg)) => self.take(msg),
                    Ok(None) | Err(()) => Err(RawRecvError::Disconnected),
                };
            }
            if wait.expired() {
                return Err(RawRecvError::NotReady);
            }
            self.base.pause_receiving(seen, wait, None);
        }
    }

    fn take(&self, msg: Delivered) -> Result<NatsFrame, RawRecvError> {
        if let Some(sender) = self.base.names.sender_of(msg.subject.as_str()) {
            let report = self.counts.lock_unpoisoned().take(sender);
            if let Some((sender, payload)) = report {
                let subject = self.base.names.credit(&sender).into();
                let _ = self.base.inner().publish(subject, None, payload, None);
            }
        }
        let limit = self.base.options.max_message_size;
        if msg.payload.len() > limit {
            return Err(RawRecvError::TooLarge {
                len: msg.payload.len(),
                limit,
            });
        }
        Ok(NatsFrame::new(msg.payload, None))
    }

    /// Whether a receive would make progress now.
    pub(crate) fn poll_ready(&self) -> bool {
        let senders = self.base.roster.presence(Side::Senders);
        let mut st = self.lock();
        match self.next(&mut st) {
            Ok(Some(msg)) => {
                st.buffered.push_front(msg);
                true
            }
            Err(()) => true,
            Ok(None) => senders.gone() || self.base.lost(),
        }
    }

    /// Stops receiving; what this receiver held (messages that reached its
    /// client but no receive) is lost, and reported as taken so their
    /// senders' credit is not held up by it.
    fn stop(&self) {
        self.reporter.abort();
        let mut st = self.lock();
        let mut held = Vec::new();
        while let Ok(Some(msg)) = self.next(&mut st) {
            held.push(msg);
        }
        let mut counts = self.counts.lock_unpoisoned();
        for msg in &held {
            if let Some(sender) = self.base.names.sender_of(msg.subject.as_str()) {
                counts.take(sender);
            }
        }
        for sender in counts.senders() {
            let (sender, payload) = counts.report(&sender);
            let _ = self
                .base
                .inner()
                .publish(self.base.names.credit(&sender).into(), None, payload, None);
        }
    }

    pub(crate) fn hand_off(self) -> String {
        self.stop();
        self.base.hand_off();
        self.base.token()
    }
}

impl Drop for AmoReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Answers the credit asks of blocked senders while the receive calls are
/// elsewhere.
async fn answer_asks(
    mut asks: Subscriber,
    counts: Arc<Mutex<Counts>>,
    client: Arc<crate::client::Inner>,
    names: crate::names::Names,
) {
    while let Some(msg) = asks.next().await {
        let Ok(sender) = std::str::from_utf8(&msg.payload) else {
            continue;
        };
        let report = counts.lock_unpoisoned().ask(sender);
        if let Some((sender, payload)) = report {
            let _ = client.publish(names.credit(&sender).into(), None, payload, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(threshold: u64) -> Counts {
        Counts {
            receiver: "r".to_owned(),
            threshold,
            recent: None,
            senders: HashMap::new(),
        }
    }

    fn taken(report: Option<(String, Bytes)>) -> Option<(String, String)> {
        report.map(|(sender, payload)| (sender, String::from_utf8(payload.to_vec()).unwrap()))
    }

    #[test]
    fn interleaved_senders_are_counted_apart() {
        let mut c = counts(3);
        assert_eq!(taken(c.take("a")), None);
        assert_eq!(taken(c.take("b")), None);
        assert_eq!(taken(c.take("a")), None);
        assert_eq!(taken(c.take("b")), None);
        assert_eq!(taken(c.take("a")), Some(("a".to_owned(), "r 3".to_owned())));
        assert_eq!(taken(c.take("a")), None);
        assert_eq!(taken(c.take("b")), Some(("b".to_owned(), "r 3".to_owned())));
        let mut all = c.senders();
        all.sort();
        assert_eq!(all, ["a", "b"]);
        // What the last report did not cover, whether the sender is the
        // recent one or not.
        assert_eq!(taken(c.ask("a")), Some(("a".to_owned(), "r 4".to_owned())));
        assert_eq!(taken(c.ask("b")), None);
        assert_eq!(taken(c.ask("nobody")), None);
    }

    #[test]
    fn an_ask_with_nothing_new_is_answered_by_the_next_take() {
        let mut c = counts(100);
        assert_eq!(taken(c.take("a")), None);
        assert_eq!(taken(c.take("b")), None);
        assert_eq!(taken(c.ask("a")), Some(("a".to_owned(), "r 1".to_owned())));
        assert_eq!(taken(c.ask("a")), None);
        assert_eq!(taken(c.take("a")), Some(("a".to_owned(), "r 2".to_owned())));
    }

    #[test]
    fn senders_past_the_limit_are_not_counted() {
        let mut c = counts(u64::MAX);
        for i in 0..MAX_REPORTERS {
            c.take(&i.to_string());
        }
        assert_eq!(c.known(), MAX_REPORTERS);
        assert_eq!(taken(c.take("one too many")), None);
        assert_eq!(c.known(), MAX_REPORTERS);
        // Those counted already still are.
        c.take("7");
        assert_eq!(taken(c.ask("7")), Some(("7".to_owned(), "r 2".to_owned())));
    }
}
