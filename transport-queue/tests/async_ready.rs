//! Async readiness (`PollRecv` / `PollSend`) across real processes, driven
//! by a one-future executor of this file: a waker that unparks the waiting
//! thread. The executor polls again only after a wake-up, so a wake-up the
//! queue never sends fails the test (after [`WAKE_LIMIT`]) instead of being
//! hidden by a re-poll.

mod common;

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    thread::{self, Thread},
    time::{Duration, Instant},
};

use common::{LONG, run_case, unknown_role};
use transport_core::{
    PollRecv, PollSend, TryRecvError, TrySendError,
    conformance::{Harness, Item, PEER_TIMEOUT, Role},
};
use transport_queue::{Queue, Receiver, Sender};

/// How long a waiter waits for a wake-up before the test calls it lost.
const WAKE_LIMIT: Duration = Duration::from_secs(30);

/// Unparks the thread that waits, and records that it was woken.
struct Unparker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// One task's worth of executor, on the current thread.
struct Waiter {
    unparker: Arc<Unparker>,
    waker: Waker,
}

impl Waiter {
    fn new() -> Self {
        let unparker = Arc::new(Unparker {
            thread: thread::current(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(Arc::clone(&unparker));
        Waiter { unparker, waker }
    }

    /// Polls once.
    fn poll(&self, f: &mut impl FnMut(&mut Context<'_>) -> Poll<io::Result<()>>) -> Poll<io::Result<()>> {
        f(&mut Context::from_waker(&self.waker))
    }

    /// Polls once and insists on `Pending` (the test then makes the end
    /// ready from another process).
    fn pending(&self, mut f: impl FnMut(&mut Context<'_>) -> Poll<io::Result<()>>) {
        match self.poll(&mut f) {
            Poll::Pending => {}
            Poll::Ready(r) => panic!("ready before anything happened: {r:?}"),
        }
    }

    /// After a `Pending`: sleeps until woken, polls, and so on until ready.
    ///
    /// # Panics
    /// If no wake-up comes within [`WAKE_LIMIT`] (a lost wake-up), or the end
    /// reports an error.
    fn ready(&self, mut f: impl FnMut(&mut Context<'_>) -> Poll<io::Result<()>>) {
        let deadline = Instant::now() + WAKE_LIMIT;
        loop {
            while !self.unparker.woken.swap(false, Ordering::AcqRel) {
                let left = deadline.saturating_duration_since(Instant::now());
                assert!(
                    !left.is_zero(),
                    "no wake-up within {WAKE_LIMIT:?}: a lost wake-up"
                );
                thread::park_timeout(left);
            }
            match self.poll(&mut f) {
                Poll::Ready(r) => return r.expect("readiness"),
                Poll::Pending => continue,
            }
        }
    }
}

/// Receives an item once `rx` says it is ready, waiting for readiness again
/// when another consumer took it first.
fn recv_async<R: PollRecv>(
    w: &Waiter,
    rx: &R,
    mut try_recv: impl FnMut() -> Option<(u32, u64)>,
) -> (u32, u64) {
    loop {
        if let Some(item) = try_recv() {
            return item;
        }
        if let Poll::Ready(r) = w.poll(&mut |cx| rx.poll_recv_ready(cx)) {
            r.expect("readiness");
            continue;
        }
        w.ready(|cx| rx.poll_recv_ready(cx));
    }
}

/// The producer and number of a received item; `None` when there was none.
fn item_of(
    r: Result<transport_core::Received<Item, transport_queue::QueueFrame>, TryRecvError>,
) -> Option<(u32, u64)> {
    match r {
        Ok(item) => {
            item.assert_is(item.producer.to_native(), item.seq.to_native());
            Some((item.producer.to_native(), item.seq.to_native()))
        }
        Err(TryRecvError::Empty) => None,
        Err(e) => panic!("try_recv: {e}"),
    }
}

/// A `QueueReceiver` (prefetching) and a `Queue` handle (one item at a
/// time) in a child, each waiting in `poll_recv_ready` on an empty queue,
/// wake when the parent puts.
#[test]
fn receivers_in_a_child_wake_when_the_parent_puts() {
    run_case(
        "receivers_in_a_child_wake_when_the_parent_puts",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let a = transport_queue::Queue::<Item>::unbounded();
                let b = transport_queue::Queue::<Item>::unbounded();
                let mut child = h
                    .child("waiter")
                    .endpoint("a", a.receiver())
                    .endpoint("b", b.clone())
                    .spawn();
                assert_eq!(child.expect_report(LONG), "waiting on a");
                a.put(Item::new(1, 0)).expect("put a");
                assert_eq!(child.expect_report(LONG), "waiting on b");
                b.put(Item::new(2, 0)).expect("put b");
                assert_eq!(child.wait(PEER_TIMEOUT), ["got both"]);
            }
            Role::Child("waiter") => {
                let a: Receiver<Item> = h.endpoint("a");
                let b: Queue<Item> = h.endpoint("b");
                let w = Waiter::new();
                w.pending(|cx| a.raw().poll_recv_ready(cx));
                h.report("waiting on a");
                w.ready(|cx| a.raw().poll_recv_ready(cx));
                let got = item_of(a.try_recv()).expect("an item once ready");
                assert_eq!(got, (1, 0));
                w.pending(|cx| b.raw().poll_recv_ready(cx));
                h.report("waiting on b");
                w.ready(|cx| b.raw().poll_recv_ready(cx));
                let got = item_of(b.try_get()).expect("an item once ready");
                assert_eq!(got, (2, 0));
                h.report("got both");
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// A receiver in the creating process waits in `poll_recv_ready` and wakes
/// when a child puts.
#[test]
fn a_receiver_in_the_creator_wakes_when_a_child_puts() {
    run_case(
        "a_receiver_in_the_creator_wakes_when_a_child_puts",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<Item>::unbounded();
                let go = transport_queue::Queue::<u64>::unbounded();
                let rx = q.receiver();
                let child = h
                    .child("producer")
                    .endpoint("q", q.sender())
                    .endpoint("go", go.clone())
                    .spawn();
                drop(q);
                let w = Waiter::new();
                w.pending(|cx| rx.raw().poll_recv_ready(cx));
                go.put(1).expect("go");
                w.ready(|cx| rx.raw().poll_recv_ready(cx));
                let got = item_of(rx.try_recv()).expect("an item once ready");
                assert_eq!(got, (3, 0));
                // The child's sender goes with it: the wait ends with
                // `Disconnected`.
                assert!(child.wait(PEER_TIMEOUT).is_empty());
                match w.poll(&mut |cx| rx.raw().poll_recv_ready(cx)) {
                    Poll::Ready(r) => r.expect("readiness"),
                    Poll::Pending => w.ready(|cx| rx.raw().poll_recv_ready(cx)),
                }
                assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));
            }
            Role::Child("producer") => {
                let q: Sender<Item> = h.endpoint("q");
                let go: Queue<u64> = h.endpoint("go");
                go.get_timeout(LONG).expect("the parent waits");
                q.send(Item::new(3, 0)).expect("put");
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// A sender in a child waits in `poll_send_ready` on a full bounded queue
/// and wakes when the parent gets.
#[test]
fn a_sender_in_a_child_wakes_when_the_parent_gets() {
    run_case(
        "a_sender_in_a_child_wakes_when_the_parent_gets",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<Item>::bounded(2).expect("a bounded queue");
                let mut child = h.child("producer").endpoint("q", q.sender()).spawn();
                assert_eq!(child.expect_report(LONG), "waiting for room");
                q.get_timeout(LONG).expect("get").assert_is(4, 0);
                assert_eq!(child.wait(PEER_TIMEOUT), ["put after the wake-up"]);
                for seq in 1..3 {
                    q.get_timeout(LONG).expect("get").assert_is(4, seq);
                }
            }
            Role::Child("producer") => {
                let tx: Sender<Item> = h.endpoint("q");
                let w = Waiter::new();
                for seq in 0..2 {
                    tx.try_send(Item::new(4, seq)).expect("room for two");
                }
                assert!(matches!(tx.try_send(Item::new(4, 2)), Err(TrySendError::Full(_))));
                w.pending(|cx| tx.raw().poll_send_ready(cx));
                h.report("waiting for room");
                w.ready(|cx| tx.raw().poll_send_ready(cx));
                tx.try_send(Item::new(4, 2)).expect("room once ready");
                h.report("put after the wake-up");
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// A sender in the creating process waits in `poll_send_ready` on a full
/// bounded queue and wakes when a child gets.
#[test]
fn a_sender_in_the_creator_wakes_when_a_child_gets() {
    run_case(
        "a_sender_in_the_creator_wakes_when_a_child_gets",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<Item>::bounded(1).expect("a bounded queue");
                let go = transport_queue::Queue::<u64>::unbounded();
                let tx = q.sender();
                tx.try_send(Item::new(5, 0)).expect("room for one");
                let child = h
                    .child("consumer")
                    .endpoint("q", q.clone())
                    .endpoint("go", go.clone())
                    .spawn();
                let w = Waiter::new();
                w.pending(|cx| tx.raw().poll_send_ready(cx));
                go.put(1).expect("go");
                w.ready(|cx| tx.raw().poll_send_ready(cx));
                tx.try_send(Item::new(5, 1)).expect("room once ready");
                assert_eq!(child.wait(PEER_TIMEOUT), ["took 0"]);
                q.get_timeout(LONG).expect("get").assert_is(5, 1);
            }
            Role::Child("consumer") => {
                let q: Queue<Item> = h.endpoint("q");
                let go: Queue<u64> = h.endpoint("go");
                go.get_timeout(LONG).expect("the parent waits");
                let item = q.get_timeout(LONG).expect("get");
                h.report(format!("took {}", item.seq.to_native()));
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// A task in a child waits in `poll_recv_ready` after non-blocking gets
/// found nothing (on Windows such a get leaves a read pending on the
/// channel, which the items then fill), and receives every item, in order.
#[test]
fn a_waiter_after_an_empty_try_recv_gets_every_item() {
    const ITEMS: u64 = 3;
    run_case(
        "a_waiter_after_an_empty_try_recv_gets_every_item",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<Item>::unbounded();
                let go = transport_queue::Queue::<u64>::unbounded();
                let mut child = h
                    .child("waiter")
                    .endpoint("q", q.receiver())
                    .endpoint("go", go.clone())
                    .spawn();
                assert_eq!(child.expect_report(LONG), "found nothing");
                for seq in 0..ITEMS {
                    q.put(Item::new(8, seq)).expect("put");
                }
                go.put(1).expect("go");
                assert_eq!(child.wait(PEER_TIMEOUT), [format!("got {ITEMS} in order")]);
            }
            Role::Child("waiter") => {
                let rx: Receiver<Item> = h.endpoint("q");
                let go: Queue<u64> = h.endpoint("go");
                for _ in 0..2 {
                    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
                }
                h.report("found nothing");
                // The items were put by now (they may still be on their way).
                go.get_timeout(LONG).expect("the parent put");
                // Wait before trying again: the task's first wait is where
                // a channel moves to the bridge, perhaps with the items in
                // the pending read already.
                let w = Waiter::new();
                match w.poll(&mut |cx| rx.raw().poll_recv_ready(cx)) {
                    Poll::Ready(r) => r.expect("readiness"),
                    Poll::Pending => w.ready(|cx| rx.raw().poll_recv_ready(cx)),
                }
                for seq in 0..ITEMS {
                    assert_eq!(recv_async(&w, rx.raw(), || item_of(rx.try_recv())), (8, seq));
                }
                h.report(format!("got {ITEMS} in order"));
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// A task waits in `poll_recv_ready` on a member whose `down` channel a
/// thread blocked in a get is reading: both are served, each item once.
#[test]
fn a_waiter_beside_a_blocked_get_is_woken() {
    run_case("a_waiter_beside_a_blocked_get_is_woken", |h: &Harness| {
        match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<Item>::unbounded();
                let mut child = h.child("both").endpoint("q", q.clone()).spawn();
                assert_eq!(child.expect_report(LONG), "waiting twice");
                for seq in 0..2 {
                    q.put(Item::new(6, seq)).expect("put");
                }
                assert_eq!(child.wait(PEER_TIMEOUT), ["got 0 1"]);
            }
            Role::Child("both") => {
                let q: Queue<Item> = h.endpoint("q");
                let blocked = {
                    let q = q.clone();
                    thread::spawn(move || q.get_timeout(LONG).expect("the blocked get").seq.to_native())
                };
                // Wait until the blocked get has asked the hub for its item.
                let w = Waiter::new();
                w.pending(|cx| q.raw().poll_recv_ready(cx));
                h.report("waiting twice");
                let item = recv_async(&w, q.raw(), || item_of(q.try_get()));
                let other = blocked.join().expect("the blocked get");
                let mut got = [item.1, other];
                got.sort();
                h.report(format!("got {} {}", got[0], got[1]));
            }
            Role::Child(other) => unknown_role(other),
        }
    });
}

/// The process that created the queues is killed while a task in a member
/// waits for an item and another waits for room: both wake, and the ends
/// then say `Disconnected`. The member reports through a queue of the test
/// process.
#[test]
fn waiters_wake_with_disconnection_when_the_creator_dies() {
    run_case(
        "waiters_wake_with_disconnection_when_the_creator_dies",
        |h: &Harness| {
            match h.role() {
                Role::Parent => {
                    let reports = transport_queue::Queue::<String>::unbounded();
                    let mut creator = h.child("creator").endpoint("reports", reports.clone()).spawn();
                    let first = reports.get_timeout(LONG).expect("the member's first report");
                    assert_eq!(first.as_str(), "waiting");
                    creator.kill();
                    let line = reports
                        .get_timeout(LONG)
                        .expect("the member's report after the kill");
                    assert_eq!(line.as_str(), "both disconnected");
                }
                Role::Child("creator") => {
                    let reports: Queue<String> = h.endpoint("reports");
                    let items = transport_queue::Queue::<Item>::unbounded();
                    let full = transport_queue::Queue::<Item>::bounded(1).expect("a bounded queue");
                    full.put(Item::new(7, 0)).expect("filling");
                    // The member is this process's child; killing this process
                    // does not kill it.
                    let member = h
                        .child("member")
                        .endpoint("items", items.receiver())
                        .endpoint("full", full.sender())
                        .endpoint("reports", reports.clone())
                        .spawn();
                    // Stay until killed.
                    let _ = items.get();
                    drop(member);
                }
                Role::Child("member") => {
                    let rx: Receiver<Item> = h.endpoint("items");
                    let tx: Sender<Item> = h.endpoint("full");
                    let reports: Queue<String> = h.endpoint("reports");
                    let (pending_tx, pending_rx) = std::sync::mpsc::channel();
                    let sender = thread::spawn(move || {
                        let w = Waiter::new();
                        w.pending(|cx| tx.raw().poll_send_ready(cx));
                        pending_tx.send(()).expect("telling the main thread");
                        w.ready(|cx| tx.raw().poll_send_ready(cx));
                        matches!(tx.try_send(Item::new(7, 1)), Err(TrySendError::Disconnected(_)))
                    });
                    let w = Waiter::new();
                    w.pending(|cx| rx.raw().poll_recv_ready(cx));
                    pending_rx.recv_timeout(LONG).expect("the sender's first poll");
                    reports.put("waiting".to_string()).expect("reporting");
                    w.ready(|cx| rx.raw().poll_recv_ready(cx));
                    let recv_disconnected = matches!(rx.try_recv(), Err(TryRecvError::Disconnected));
                    let send_disconnected = sender.join().expect("the sending thread");
                    let outcome = match (recv_disconnected, send_disconnected) {
                        (true, true) => "both disconnected".to_string(),
                        other => format!("(receiver, sender) disconnected: {other:?}"),
                    };
                    reports.put(outcome).expect("reporting the outcome");
                }
                Role::Child(other) => unknown_role(other),
            }
        },
    );
}
