//! Every shape of the typed channel API builds on every backend this build
//! enables, through the backend's own module (`queue::bounded`, ...), and
//! does what it says in one process; the conformance suites check the same
//! across processes. What a backend cannot offer does not compile: cloning
//! a pipe end, a shared-memory lane channel's receiver, or the sender of a
//! single-producer shared-memory channel (`Shm`) (`compile_fail` doc tests
//! in `transport-pipe` and `transport-shm`, whose compiler notes point to
//! the queue, `ShmMpsc`, `ShmMpmc` and NATS).
//!
//! NATS needs a server, so its shapes are only compiled here (the
//! functions instantiated for its backend); its conformance suite runs
//! them against one.
use std::{
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use transport_core::{
    ChannelConfig, MultiConsumer, MultiProducer, PollRecv, Receiver, RecvTimeoutError, Select,
    SendTimeoutError, Sender, Transport, TryRecvError, local, wait,
};

const LONG: Duration = Duration::from_secs(60);

fn channel<B: Transport, T: transport_core::Message>(
    capacity: usize,
) -> (Sender<T, B::Sender>, Receiver<T, B::Receiver>) {
    transport_adapters::channel_on::<B, T>(&ChannelConfig::bounded(capacity)).expect("a channel")
}

/// The shapes every backend has: deadlines, owned receives, iterators,
/// sizes, `&tx` in scoped threads, `Arc<Sender>` in threads, `Select` and
/// `wait` mixing this backend with `local`.
fn every_backend<B: Transport>()
where
    B::Receiver: PollRecv,
{
    let (tx, rx) = channel::<B, u64>(64);

    // Deadlines and owned values.
    tx.send_deadline(1, Instant::now() + LONG).expect("send_deadline");
    tx.send_timeout(2, LONG).expect("send_timeout");
    assert_eq!(
        rx.recv_deadline(Instant::now() + LONG)
            .expect("recv_deadline")
            .to_native(),
        1
    );
    assert_eq!(rx.recv_owned().expect("recv_owned"), 2);
    assert!(matches!(rx.try_recv_owned(), Err(TryRecvError::Empty)));

    // Sizes: `Some` where the backend counts, and then right.
    if let Some(len) = rx.len() {
        assert_eq!(len, 0);
        assert_eq!(rx.is_empty(), Some(true));
    }
    let _: (Option<usize>, Option<bool>) = (tx.capacity(), tx.is_full());

    // One sender shared by scoped threads, and by threads through an Arc.
    thread::scope(|s| {
        for t in 0..4u64 {
            let tx = &tx;
            s.spawn(move || tx.send(10 + t).expect("a send from a scoped thread"));
        }
    });
    let shared = Arc::new(tx);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let tx = Arc::clone(&shared);
            thread::spawn(move || tx.send(20 + t).expect("a send through an Arc"))
        })
        .collect();
    for t in threads {
        t.join().expect("a sending thread");
    }
    let mut got: Vec<u64> = rx
        .iter_timeout(LONG)
        .take(8)
        .map(|m| m.expect("a message").to_native())
        .collect();
    got.sort_unstable();
    assert_eq!(got, [10, 11, 12, 13, 20, 21, 22, 23]);
    assert_eq!(rx.try_iter().count(), 0);

    // `Select` and `wait` over this backend and `local` at once.
    let (ltx, lrx) = local::bounded::<u64>(4).expect("a local channel");
    ltx.send(5).expect("a local send");
    let mut select = Select::new();
    let ours = select.recv(&rx);
    let theirs = select.recv(&lrx);
    assert_eq!(select.ready_timeout(LONG).expect("a ready receiver"), theirs);
    assert_eq!(lrx.recv_owned().expect("the local message"), 5);
    shared.send(6).expect("a send");
    assert_eq!(select.ready_timeout(LONG).expect("a ready receiver"), ours);
    assert_eq!(wait(&[&lrx, &rx], Some(LONG)).expect("wait"), [1]);
    assert_eq!(rx.recv_owned().expect("the message"), 6);

    // A receiver by reference and by value as an iterator, ending at the
    // disconnect.
    shared.send(7).expect("a send");
    drop(shared);
    let mut n = 0;
    for msg in &rx {
        assert_eq!(msg.expect("a message").to_native(), 7);
        n += 1;
    }
    assert_eq!(n, 1);
    assert_eq!(rx.into_iter().count(), 0);
    assert!(matches!(
        local::bounded::<u64>(1)
            .expect("a local channel")
            .1
            .recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    ));
}

/// Where the backend has many producers (its sender is `MultiProducer`,
/// and its capabilities say so): a sender clones.
fn many_producers<B: Transport>()
where
    B::Sender: MultiProducer,
{
    assert!(B::capabilities().multi_producer, "{}: capabilities", B::NAME);
    let (tx, rx) = channel::<B, u64>(8);
    let second = tx.try_clone().expect("a second producer");
    second.send(1).expect("a send through the clone");
    assert_eq!(rx.recv_timeout_owned(LONG).expect("the clone's message"), 1);
}

/// Where the backend has many consumers: a receiver clones, and each
/// message goes to one of them.
fn many_consumers<B: Transport>()
where
    B::Receiver: MultiConsumer,
{
    let (tx, rx) = channel::<B, u64>(8);
    let second = rx.try_clone().expect("a second consumer");
    tx.send(1).expect("a send");
    tx.send(2).expect("a send");
    drop(tx);
    let mut got: Vec<u64> = rx
        .iter()
        .chain(second.iter())
        .map(|m| m.expect("a message").to_native())
        .collect();
    got.sort_unstable();
    assert_eq!(got, [1, 2]);
}

/// A full bounded channel refuses a send at its deadline, on every
/// backend that bounds by count.
fn full_at_deadline<B: Transport>() {
    let (tx, _rx) = channel::<B, u64>(1);
    let mut sent = 0u64;
    loop {
        match tx.send_timeout(sent, Duration::from_millis(1)) {
            Ok(()) => sent += 1,
            Err(SendTimeoutError::Timeout(v)) => {
                assert_eq!(v, sent, "the refused message comes back");
                break;
            }
            Err(e) => panic!("{}: {e}", B::NAME),
        }
        assert!(sent < 1_000_000, "{}: never full", B::NAME);
    }
}

#[test]
fn local_shapes() {
    every_backend::<local::Local>();
    many_producers::<local::Local>();
    many_consumers::<local::Local>();
    full_at_deadline::<local::Local>();
}

#[cfg(feature = "queue")]
#[test]
fn queue_shapes() {
    use transport_adapters::queue::Backend;
    every_backend::<Backend>();
    many_producers::<Backend>();
    many_consumers::<Backend>();
    full_at_deadline::<Backend>();
}

#[cfg(feature = "pipe")]
#[test]
fn pipe_shapes() {
    // No `many_producers` or `many_consumers`: they do not compile for
    // the pipe.
    every_backend::<transport_adapters::pipe::Backend>();
}

#[cfg(feature = "shm")]
#[test]
fn shm_shapes() {
    use transport_adapters::shm::Backend;
    every_backend::<Backend>();
    many_producers::<Backend>();
    full_at_deadline::<Backend>();
    // The single-producer ring: no `many_producers` (it does not compile,
    // `Shm`'s sender is `ShmSender<Single>`); the multi-consumer ring.
    every_backend::<transport_shm::Shm>();
    full_at_deadline::<transport_shm::Shm>();
    every_backend::<transport_shm::ShmMpmc>();
    many_producers::<transport_shm::ShmMpmc>();
    many_consumers::<transport_shm::ShmMpmc>();
}

/// NATS: the shapes compile for its backend (a compile-time check, not a
/// test); its own suite runs them against a server.
#[cfg(feature = "nats")]
const _: [fn(); 3] = [
    every_backend::<transport_adapters::nats::Backend>,
    many_producers::<transport_adapters::nats::Backend>,
    many_consumers::<transport_adapters::nats::Backend>,
];
