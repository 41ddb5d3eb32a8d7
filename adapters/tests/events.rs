//! The `tracing` feature's events, seen by a subscriber: a peer that goes
//! away is reported by the backend that notices (the pipe at the end of
//! its stream, shared memory when every sender has left), once, and not
//! per message.
#![cfg(feature = "tracing")]

use std::{
    fmt,
    sync::{Mutex, Once, PoisonError},
    time::Duration,
};

use tracing::{
    Event, Metadata, Subscriber,
    field::{Field, Visit},
    span,
};

/// Every event's message since the process started.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A subscriber that keeps the message of every event.
struct Recorder;

struct MessageOf(String);

impl Visit for MessageOf {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut message = MessageOf(String::new());
        event.record(&mut message);
        SEEN.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message.0);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

fn record() {
    static START: Once = Once::new();
    START.call_once(|| tracing::subscriber::set_global_default(Recorder).expect("the only subscriber"));
}

/// How many events so far say `what`.
fn seen(what: &str) -> usize {
    SEEN.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|m| m.contains(what))
        .count()
}

const LIMIT: Duration = Duration::from_secs(30);

#[cfg(feature = "pipe")]
#[test]
fn a_pipe_reports_the_end_of_its_peers_stream() {
    record();
    let what = "pipe peer closed its end";
    let before = seen(what);
    let (tx, rx) = transport_adapters::pipe::bounded::<u64>(4).expect("a pipe");
    for n in 0..3 {
        tx.send(n).expect("room for three");
    }
    assert_eq!(seen(what), before, "no event while the peer is there");
    drop(tx);
    for n in 0..3 {
        assert_eq!(*rx.recv_timeout(LIMIT).expect("what was sent"), n);
    }
    assert!(rx.recv_timeout(LIMIT).is_err(), "disconnected");
    assert!(seen(what) > before, "the end of the stream was reported");
}

#[cfg(feature = "shm")]
#[test]
fn shared_memory_reports_that_every_sender_left() {
    record();
    let what = "shared-memory peers gone";
    let before = seen(what);
    let (tx, rx) = transport_adapters::shm::bounded::<u64>(4).expect("a channel");
    tx.send(1).expect("room");
    assert_eq!(*rx.recv_timeout(LIMIT).expect("the message"), 1);
    assert_eq!(seen(what), before, "no event while the sender is there");
    drop(tx);
    assert!(rx.recv_timeout(LIMIT).is_err(), "disconnected");
    assert!(seen(what) > before, "the senders' departure was reported");
}
