//! Async readiness (`PollRecv` / `PollSend`) across real processes, for
//! every variant of the shared-memory backend, driven by a minimal executor
//! whose wakers unpark the waiting thread (no runtime).
//!
//! A task only polls again after its waker was woken, and every wait is
//! bounded: a lost wake-up fails the test instead of hanging it. Nothing
//! sleeps to synchronise: peers tell each other when they are ready over a
//! second channel, or through the harness's reports.

mod support;

use std::{
    task::Poll,
    time::{Duration, Instant},
};

use support::executor::Executor;
use transport_core::{
    ChannelConfig, Transport,
    backend::{Frame, PollRecv, PollSend, RawReceiver, RawRecvError, RawSendError, RawSender, Wait},
    conformance::{Harness, PEER_TIMEOUT, Role},
};
use transport_shm::{ShmReceiver, ShmSender, variant::Producers};

/// How long a waiting task may go without its wake-up before the test
/// fails: far beyond any honest delay (the peer acts at once, a killed peer
/// is noticed within the liveness period).
const WAKE_BOUND: Duration = Duration::from_secs(30);

fn deadline() -> Instant {
    Instant::now() + WAKE_BOUND
}

fn small() -> ChannelConfig {
    ChannelConfig::bounded(2).max_message_size(256)
}

/// A blocking receive of a control message, with a bound.
fn control<R: RawReceiver>(rx: &R) -> Vec<u8> {
    rx.recv_frame(Wait::timeout(PEER_TIMEOUT))
        .unwrap_or_else(|e| panic!("receiving a control message: {e:?}"))
        .bytes()
        .to_vec()
}

fn say<S: RawSender>(tx: &S, what: &[u8]) {
    tx.send_bytes(what, Wait::timeout(PEER_TIMEOUT))
        .unwrap_or_else(|e| panic!("sending a control message: {e:?}"));
}

/// Fills the ring until a non-blocking send says it is not ready; how many
/// went in.
fn fill<S: RawSender>(tx: &S) -> usize {
    let mut n = 0;
    loop {
        match tx.send_bytes(&[n as u8; 8], Wait::Never) {
            Ok(()) => n += 1,
            Err(RawSendError::NotReady) => return n,
            Err(e) => panic!("filling the ring: {e:?}"),
        }
        assert!(n <= 1000, "a capacity of 2 was not enforced");
    }
}

/// The variants under test: every one has the same raw ends (its sender's
/// type says how many producers it takes).
pub trait Shm: Transport<Sender = ShmSender<Self::Producers>, Receiver = ShmReceiver> {
    /// The sender's producers.
    type Producers: Producers;
}
impl<T: Transport<Sender = ShmSender<P>, Receiver = ShmReceiver>, P: Producers> Shm for T {
    type Producers = P;
}

fn unknown(role: &str) -> ! {
    panic!("unknown child role `{role}`")
}

/// A task waiting for data is woken when a child process sends.
pub fn recv_ready_wakes_on_send<T: Shm>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = T::channel(&small()).expect("a channel");
            let (go_tx, go_rx) = T::channel(&small()).expect("a control channel");
            let peer = h.child("sender").endpoint("tx", tx).endpoint("go", go_rx).spawn();
            let ex = Executor::new(1);
            assert!(matches!(rx.recv_frame(Wait::Never), Err(RawRecvError::NotReady)));
            let first = rx.poll_recv_ready(&mut ex.context(0));
            assert!(first.is_pending(), "nothing was sent yet, got {first:?}");
            say(&go_tx, b"send");
            let frame = ex.recv(&rx, deadline()).expect("the child's message");
            assert_eq!(frame.bytes(), b"hello");
            say(&go_tx, b"done");
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child("sender") => {
            let tx: T::Sender = h.endpoint("tx");
            let go: T::Receiver = h.endpoint("go");
            assert_eq!(control(&go), b"send");
            tx.send_bytes(b"hello", Wait::timeout(PEER_TIMEOUT))
                .expect("sending");
            // Stay connected until the parent has it: the wake-up under test
            // is the data's, not the departure's.
            assert_eq!(control(&go), b"done");
        }
        Role::Child(other) => unknown(other),
    }
}

/// A task waiting for room in a full ring is woken when a child process
/// receives.
pub fn send_ready_wakes_on_recv<T: Shm>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = T::channel(&small()).expect("a channel");
            let (go_tx, go_rx) = T::channel(&small()).expect("a control channel");
            let peer = h
                .child("receiver")
                .endpoint("rx", rx)
                .endpoint("go", go_rx)
                .spawn();
            let ex = Executor::new(1);
            let queued = fill(&tx);
            let first = tx.poll_send_ready(&mut ex.context(0));
            assert!(first.is_pending(), "the ring is full, got {first:?}");
            say(&go_tx, b"take one");
            ex.send(&tx, b"after", deadline())
                .expect("room after the child received");
            say(&go_tx, b"done");
            let reports = peer.wait(PEER_TIMEOUT);
            assert_eq!(reports, [format!("got {}", queued + 1)]);
        }
        Role::Child("receiver") => {
            let rx: T::Receiver = h.endpoint("rx");
            let go: T::Receiver = h.endpoint("go");
            assert_eq!(control(&go), b"take one");
            drop(
                rx.recv_frame(Wait::timeout(PEER_TIMEOUT))
                    .expect("the first message"),
            );
            assert_eq!(control(&go), b"done");
            let mut n = 1;
            let last = loop {
                let f = rx.recv_frame(Wait::timeout(PEER_TIMEOUT)).expect("the rest");
                n += 1;
                if f.bytes() == b"after" {
                    break n;
                }
            };
            h.report(format!("got {last}"));
        }
        Role::Child(other) => unknown(other),
    }
}

/// A task waiting for data is woken, and then sees `Disconnected`, when the
/// sending process is killed.
pub fn recv_waiter_sees_killed_sender<T: Shm>(h: &Harness) {
    waiter_sees_peer_end::<T>(h, Waiter::Recv, PeerEnd::Killed);
}

/// A task waiting for room is woken, and then sees `Disconnected`, when the
/// receiving process is killed.
pub fn send_waiter_sees_killed_receiver<T: Shm>(h: &Harness) {
    waiter_sees_peer_end::<T>(h, Waiter::Send, PeerEnd::Killed);
}

/// A task waiting for data is woken, and then sees `Disconnected`, when the
/// sending process drops its end.
pub fn recv_waiter_sees_dropped_sender<T: Shm>(h: &Harness) {
    waiter_sees_peer_end::<T>(h, Waiter::Recv, PeerEnd::Dropped);
}

/// What the parent's task waits for.
#[derive(Clone, Copy, PartialEq)]
enum Waiter {
    /// Data, on an empty ring; the child holds the sender.
    Recv,
    /// Room, in a full ring; the child holds the receiver.
    Send,
}

/// How the child's end goes.
#[derive(Clone, Copy, PartialEq)]
enum PeerEnd {
    /// The child process is killed while it holds it.
    Killed,
    /// The child drops it when told, and stays alive.
    Dropped,
}

/// The parent's task waits (`waiter`); the child's end goes (`end`); the
/// task is woken and sees `Disconnected`.
fn waiter_sees_peer_end<T: Shm>(h: &Harness, waiter: Waiter, end: PeerEnd) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = T::channel(&small()).expect("a channel");
            let (go_tx, go_rx) = T::channel(&small()).expect("a control channel");
            let child = h.child("peer").endpoint("go", go_rx);
            let (tx, rx, child) = match waiter {
                Waiter::Recv => (None, Some(rx), child.endpoint("end", tx)),
                Waiter::Send => (Some(tx), None, child.endpoint("end", rx)),
            };
            let mut peer = child.spawn();
            if end == PeerEnd::Killed {
                assert_eq!(peer.expect_report(PEER_TIMEOUT), "open");
            }
            let ex = Executor::new(1);
            let first = match (&tx, &rx) {
                (Some(tx), _) => {
                    fill(tx);
                    tx.poll_send_ready(&mut ex.context(0))
                }
                (_, Some(rx)) => rx.poll_recv_ready(&mut ex.context(0)),
                (None, None) => unreachable!("the parent keeps one end"),
            };
            assert!(first.is_pending(), "the peer is alive and quiet, got {first:?}");
            match end {
                PeerEnd::Killed => peer.kill(),
                PeerEnd::Dropped => say(&go_tx, b"drop"),
            }
            let disconnected = match (&tx, &rx) {
                (Some(tx), _) => matches!(ex.send(tx, b"late", deadline()), Err(RawSendError::Disconnected)),
                (_, Some(rx)) => matches!(ex.recv(rx, deadline()), Err(RawRecvError::Disconnected)),
                (None, None) => unreachable!("the parent keeps one end"),
            };
            assert!(disconnected, "expected `Disconnected` once the peer's end went");
            if end == PeerEnd::Dropped {
                say(&go_tx, b"done");
                peer.wait(PEER_TIMEOUT);
            }
        }
        Role::Child("peer") => {
            let go: T::Receiver = h.endpoint("go");
            // The end is a sender or a receiver; holding it is all it does.
            let held: (Option<T::Sender>, Option<T::Receiver>) = match waiter {
                Waiter::Recv => (Some(h.endpoint("end")), None),
                Waiter::Send => (None, Some(h.endpoint("end"))),
            };
            match end {
                PeerEnd::Killed => {
                    h.report("open");
                    // Holds the end until killed.
                    let _ = go.recv_frame(Wait::timeout(PEER_TIMEOUT));
                }
                PeerEnd::Dropped => {
                    assert_eq!(control(&go), b"drop");
                    drop(held);
                    assert_eq!(control(&go), b"done");
                }
            }
        }
        Role::Child(other) => unknown(other),
    }
}

/// How many channels one process waits on at once.
const MANY: usize = 50;

/// The threads of this process, and how many of them are bridge threads.
#[cfg(target_os = "linux")]
fn threads() -> (usize, usize) {
    let mut all = 0;
    let mut bridges = 0;
    for task in std::fs::read_dir("/proc/self/task").expect("listing /proc/self/task") {
        let path = task.expect("a task").path();
        all += 1;
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() == "shm-bridge" {
            bridges += 1;
        }
    }
    (all, bridges)
}

/// One process waits on 50 channels at once, with one bridge thread, and
/// every one of them wakes when the other process sends on it.
pub fn many_channels_one_bridge_thread<T: Shm>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let mut senders = Vec::new();
            let mut child = h.child("waiter");
            for i in 0..MANY {
                let (tx, rx) = T::channel(&small()).expect("a channel");
                senders.push(tx);
                child = child.endpoint(&format!("rx{i}"), rx);
            }
            let mut peer = child.spawn();
            assert_eq!(peer.expect_report(PEER_TIMEOUT), "waiting");
            // In reverse, so the last registered wakes first.
            for (i, tx) in senders.iter().enumerate().rev() {
                tx.send_bytes(&(i as u32).to_le_bytes(), Wait::timeout(PEER_TIMEOUT))
                    .expect("sending");
            }
            let reports = peer.wait(PEER_TIMEOUT);
            assert_eq!(reports, [format!("woken {MANY}")]);
        }
        Role::Child("waiter") => {
            let receivers: Vec<T::Receiver> = (0..MANY).map(|i| h.endpoint(&format!("rx{i}"))).collect();
            #[cfg(target_os = "linux")]
            let (before, none) = threads();
            #[cfg(target_os = "linux")]
            assert_eq!(none, 0, "no bridge thread before the first wait");
            let ex = Executor::new(MANY);
            for (i, rx) in receivers.iter().enumerate() {
                let first = rx.poll_recv_ready(&mut ex.context(i));
                assert!(first.is_pending(), "channel {i} is empty, got {first:?}");
            }
            // The bridge names itself when it first runs, which may be later.
            #[cfg(target_os = "linux")]
            assert_eq!(
                threads().0,
                before + 1,
                "one thread started for {MANY} waiting channels"
            );
            h.report("waiting");
            let mut left: Vec<bool> = vec![true; MANY];
            let mut woken = 0;
            let deadline = deadline();
            while woken < MANY {
                let list = ex.wait(deadline);
                assert!(!list.is_empty(), "{} of {MANY} wake-ups were lost", MANY - woken);
                for i in list {
                    let rx = &receivers[i];
                    match rx.poll_recv_ready(&mut ex.context(i)) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => panic!("readiness of channel {i} failed: {e}"),
                        // Spurious: registered again, wait on.
                        Poll::Pending => continue,
                    }
                    let f = rx.recv_frame(Wait::Never).expect("the woken channel's message");
                    assert_eq!(f.bytes(), (i as u32).to_le_bytes());
                    assert!(std::mem::replace(&mut left[i], false), "channel {i} twice");
                    woken += 1;
                }
            }
            #[cfg(target_os = "linux")]
            {
                let (after, bridges) = threads();
                assert_eq!(bridges, 1, "one bridge thread woke {MANY} channels");
                assert_eq!(after, before + 1, "no thread but the bridge was started");
            }
            h.report(format!("woken {woken}"));
        }
        Role::Child(other) => unknown(other),
    }
}

/// Bursts of three through two rings of capacity 1 (at most three messages
/// in flight: one in each ring, one in the echoing child), both processes
/// async: every send and every receive waits on readiness again and again,
/// so a race that loses a wake-up stalls a task past its bound.
pub fn ping_pong_loses_no_wake_up<T: Shm>(h: &Harness) {
    ping_pong::<T>(h, 700, Duration::ZERO);
}

/// The same, with the echo holding each message for 100 µs (busy, on its
/// own side) first: longer than `poll_*_ready` spins, so every wait of the
/// parent goes through the bridge thread.
pub fn ping_pong_through_the_bridge<T: Shm>(h: &Harness) {
    ping_pong::<T>(h, 100, Duration::from_micros(100));
}

fn ping_pong<T: Shm>(h: &Harness, bursts: u32, hold: Duration) {
    const BURST: u32 = 3;
    let cfg = ChannelConfig::bounded(1).max_message_size(64);
    match h.role() {
        Role::Parent => {
            let (ping_tx, ping_rx) = T::channel(&cfg).expect("a channel");
            let (pong_tx, pong_rx) = T::channel(&cfg).expect("a channel");
            let peer = h
                .child("echo")
                .endpoint("rx", ping_rx)
                .endpoint("tx", pong_tx)
                .param("hold_us", hold.as_micros())
                .spawn();
            let ex = Executor::new(1);
            for b in 0..bursts {
                for k in 0..BURST {
                    let n = b * BURST + k;
                    ex.send(&ping_tx, &n.to_le_bytes(), deadline()).expect("ping");
                }
                for k in 0..BURST {
                    let n = b * BURST + k;
                    let f = ex.recv(&pong_rx, deadline()).expect("pong");
                    assert_eq!(f.bytes(), n.to_le_bytes());
                }
            }
            drop(ping_tx);
            assert!(matches!(
                ex.recv(&pong_rx, deadline()),
                Err(RawRecvError::Disconnected)
            ));
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child("echo") => {
            let rx: T::Receiver = h.endpoint("rx");
            let tx: T::Sender = h.endpoint("tx");
            let hold = Duration::from_micros(h.param("hold_us"));
            let ex = Executor::new(1);
            loop {
                match ex.recv(&rx, deadline()) {
                    Ok(f) => {
                        // Free the ring slot before echoing: with both rings
                        // full, holding it would deadlock the two processes.
                        let bytes = f.bytes().to_vec();
                        drop(f);
                        let t = Instant::now();
                        while t.elapsed() < hold {
                            std::hint::spin_loop();
                        }
                        ex.send(&tx, &bytes, deadline()).expect("echo");
                    }
                    Err(RawRecvError::Disconnected) => break,
                    Err(e) => panic!("echo: {e:?}"),
                }
            }
        }
        Role::Child(other) => unknown(other),
    }
}

macro_rules! readiness_tests {
    ($transport:ty) => {
        readiness_tests!(@cases $transport;
            recv_ready_wakes_on_send, send_ready_wakes_on_recv, recv_waiter_sees_killed_sender,
            send_waiter_sees_killed_receiver, recv_waiter_sees_dropped_sender,
            many_channels_one_bridge_thread, ping_pong_loses_no_wake_up, ping_pong_through_the_bridge,
        );
    };
    (@cases $transport:ty; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                transport_core::conformance::run(
                    transport_core::conformance::test_name(module_path!(), stringify!($case)),
                    <$transport as transport_core::Transport>::NAME,
                    true,
                    super::$case::<$transport>,
                );
            }
        )*
    };
}

mod spsc {
    readiness_tests!(transport_shm::Shm);
}

mod mpsc {
    readiness_tests!(transport_shm::ShmMpsc);
}

mod busy_poll {
    readiness_tests!(transport_shm::ShmBusyPoll);
}

mod untrusted {
    readiness_tests!(transport_shm::ShmUntrusted);
}
