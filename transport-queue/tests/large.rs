//! Large items across real processes: past 32 KiB they travel in shared
//! memory on Linux (the producer's slab, copied out by the consumer) and
//! inline elsewhere; either way every byte arrives, between any two
//! processes, and nothing is left behind.

mod common;

use common::{LONG, run_case, unknown_role};
use transport_core::conformance::{Harness, PEER_TIMEOUT, Role};
use transport_queue::Queue;

/// The sizes tried: around the shared-memory threshold (32 KiB) and well
/// past it.
const SIZES: &[usize] = &[
    (32 << 10) - 1,
    32 << 10,
    (32 << 10) + 1,
    64 << 10,
    200 << 10,
    1 << 20,
    (3 << 20) + 7,
];

/// An item of `len` bytes whose every byte depends on its place and on
/// `seed`.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 13) as u8)
        .collect()
}

fn check(bytes: &[u8], len: usize, seed: u8) {
    assert_eq!(bytes.len(), len, "an item of the wrong length");
    if let Some(at) = bytes.iter().zip(pattern(len, seed)).position(|(a, b)| *a != b) {
        panic!("item {seed} of {len} bytes differs at byte {at}");
    }
}

/// Items of every size go from a member to another member (and to the
/// creator, and back), whole and in order.
#[test]
fn items_around_the_threshold_round_trip() {
    run_case("items_around_the_threshold_round_trip", |h: &Harness| {
        match h.role() {
            Role::Parent => {
                // This process's descriptors are counted by the other tests
                // of this binary: none may be opened or closed meanwhile.
                let _serial = serial();
                #[cfg(target_os = "linux")]
                let before = resources();
                let there = transport_queue::Queue::<Vec<u8>>::unbounded();
                let back = transport_queue::Queue::<Vec<u8>>::unbounded();
                let consumer = h
                    .child("consumer")
                    .endpoint("rx", there.receiver())
                    .endpoint("back", back.sender())
                    .spawn();
                let producer = h.child("producer").endpoint("tx", there.sender()).spawn();
                drop(there);
                assert!(producer.wait(PEER_TIMEOUT).is_empty());
                // The consumer sends each item back; this process reads them.
                for (seed, &len) in SIZES.iter().enumerate() {
                    let got = back.get_timeout(LONG).expect("an item sent back");
                    check(got.as_slice(), len, seed as u8);
                }
                assert!(consumer.wait(PEER_TIMEOUT).is_empty());
                // And from this process to a member.
                let q = transport_queue::Queue::<Vec<u8>>::unbounded();
                let echo = transport_queue::Queue::<u64>::unbounded();
                let reader = h
                    .child("reader")
                    .endpoint("rx", q.receiver())
                    .endpoint("echo", echo.sender())
                    .spawn();
                for (seed, &len) in SIZES.iter().enumerate() {
                    q.put(pattern(len, seed as u8)).expect("putting");
                }
                for _ in SIZES {
                    echo.get_timeout(LONG).expect("a confirmation");
                }
                assert!(reader.wait(PEER_TIMEOUT).is_empty());
                drop((q, echo, back));
                // The queues' threads close what they hold just after the
                // handles go: wait for that before the next test counts.
                #[cfg(target_os = "linux")]
                back_to(before);
            }
            Role::Child("producer") => {
                let tx: transport_queue::Sender<Vec<u8>> = h.endpoint("tx");
                for (seed, &len) in SIZES.iter().enumerate() {
                    tx.send(pattern(len, seed as u8)).expect("putting");
                }
            }
            Role::Child("consumer") => {
                let rx: transport_queue::Receiver<Vec<u8>> = h.endpoint("rx");
                let back: transport_queue::Sender<Vec<u8>> = h.endpoint("back");
                for (seed, &len) in SIZES.iter().enumerate() {
                    let item = rx.recv_timeout(LONG).expect("an item");
                    check(item.as_slice(), len, seed as u8);
                    back.send_bytes(item.bytes()).expect("sending it back");
                }
            }
            Role::Child("reader") => {
                let rx: transport_queue::Receiver<Vec<u8>> = h.endpoint("rx");
                let echo: transport_queue::Sender<u64> = h.endpoint("echo");
                for (seed, &len) in SIZES.iter().enumerate() {
                    let item = rx.recv_timeout(LONG).expect("an item");
                    check(item.as_slice(), len, seed as u8);
                    echo.send(len as u64).expect("confirming");
                }
            }
            Role::Child(other) => unknown_role(other),
        }
    });
}

/// A 64 MiB item goes from one member to another.
#[test]
fn a_64_mib_item_between_members() {
    run_case("a_64_mib_item_between_members", |h: &Harness| match h.role() {
        Role::Parent => {
            let _serial = serial();
            let q = Queue::<Vec<u8>>::builder()
                .max_message_size(80 << 20)
                .build::<Vec<u8>>()
                .expect("a queue");
            let consumer = h.child("consumer").endpoint("q", q.clone()).spawn();
            let producer = h.child("producer").endpoint("q", q.clone()).spawn();
            drop(q);
            assert!(producer.wait(PEER_TIMEOUT).is_empty());
            assert_eq!(consumer.wait(PEER_TIMEOUT), ["64 MiB whole"]);
        }
        Role::Child("producer") => {
            let q: Queue<Vec<u8>> = h.endpoint("q");
            q.put(pattern(64 << 20, 64)).expect("putting 64 MiB");
            q.put(pattern(1, 1)).expect("putting the end");
        }
        Role::Child("consumer") => {
            let q: Queue<Vec<u8>> = h.endpoint("q");
            let item = q.get_timeout(LONG).expect("the large item");
            check(item.as_slice(), 64 << 20, 64);
            check(q.get_timeout(LONG).expect("the end").as_slice(), 1, 1);
            h.report("64 MiB whole");
        }
        Role::Child(other) => unknown_role(other),
    });
}

/// This process's slab mappings and open descriptors (Linux), to check
/// nothing is left behind.
#[cfg(target_os = "linux")]
fn resources() -> (usize, usize) {
    (common::raw::slab_mappings(), common::raw::open_fds())
}

/// Held by each test of this file that counts this process's resources:
/// the tests of one binary run on threads of one process.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits (at most [`LONG`]) until this process is back to `before`: the
/// queue's threads (the hub thread, a writer per member) close what they
/// hold as they end, just after the last handle is dropped.
#[cfg(target_os = "linux")]
fn back_to(before: (usize, usize)) {
    let deadline = std::time::Instant::now() + LONG;
    let mut now = resources();
    while now != before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        now = resources();
    }
    assert_eq!(now, before, "(slab mappings, descriptors) left behind");
}

/// A consumer killed while it holds shared items it has not copied out
/// gives their slabs back: the producer (this process) reuses its four
/// slabs afterwards instead of making more, and once the queue is dropped
/// no slab mapping and no descriptor of it is left.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_consumer_gives_its_slabs_back() {
    use std::os::fd::AsRawFd;

    use common::raw::{self, RawMember};

    run_case("a_killed_consumer_gives_its_slabs_back", |h: &Harness| {
        match h.role() {
            Role::Parent => {
                let _serial = serial();
                let before = resources();
                let q = Queue::<Vec<u8>>::builder()
                    .prefetch(4)
                    .build::<Vec<u8>>()
                    .expect("a queue");
                let mut holder = h.child("holder").endpoint("q", q.clone()).spawn();
                assert_eq!(holder.expect_report(LONG), "joined");
                for seed in 0..4 {
                    q.put(pattern(1 << 20, seed)).expect("putting");
                }
                assert_eq!(holder.expect_report(LONG), "holding 4");
                assert_eq!(raw::slab_mappings(), before.0 + 4, "one slab per item out");
                holder.kill();
                drop(holder);
                // A consumer that copies its items out: one at a time, so the
                // producer needs one slab at a time.
                let echo = transport_queue::Queue::<u64>::unbounded();
                let reader = h
                    .child("reader")
                    .endpoint("rx", q.receiver())
                    .endpoint("echo", echo.sender())
                    .spawn();
                for seed in 4..12 {
                    q.put(pattern(1 << 20, seed)).expect("putting");
                    assert_eq!(
                        echo.get_timeout(LONG).expect("a confirmation").to_native(),
                        u64::from(seed)
                    );
                }
                assert_eq!(
                    raw::slab_mappings(),
                    before.0 + 4,
                    "the killed consumer's slabs were not given back"
                );
                assert!(reader.wait(PEER_TIMEOUT).is_empty());
                drop((q, echo));
                back_to(before);
            }
            Role::Child("holder") => {
                // Asks for four items, takes them and their descriptors, and
                // never copies them out.
                let m = RawMember::join("q");
                h.report("joined");
                // `Want { n: 4 }` (request 2).
                raw::send(m.up.as_raw_fd(), &raw::datagram(&[0, 0, 2, 4]), &[]).expect("asking for items");
                let mut items = 0;
                while items < 4 {
                    match raw::recv(m.down.as_raw_fd(), LONG) {
                        // Items (message 1), each shared (item 1).
                        raw::Got::Datagram(d) => {
                            items += d.get(2 * size_of::<usize>() + 1).map_or(0, |&n| n as usize)
                        }
                        other => panic!("waiting for items: {other:?}"),
                    }
                }
                h.report(format!("holding {items}"));
                // Killed here.
                let _ = raw::recv(m.down.as_raw_fd(), LONG * 4);
            }
            Role::Child("reader") => {
                let rx: transport_queue::Receiver<Vec<u8>> = h.endpoint("rx");
                let echo: transport_queue::Sender<u64> = h.endpoint("echo");
                for seed in 4..12u8 {
                    let item = rx.recv_timeout(LONG).expect("an item");
                    check(item.as_slice(), 1 << 20, seed);
                    echo.send(u64::from(seed)).expect("confirming");
                }
                drop((rx, echo));
            }
            Role::Child(other) => unknown_role(other),
        }
    });
}

/// A producer killed while it writes large items leaves nothing: every
/// item that reached the queue is whole, and once it is drained and
/// dropped no slab mapping and no descriptor of it is left here. The
/// consumer, a member, has none left either once its handle is gone.
#[cfg(target_os = "linux")]
#[test]
fn a_producer_killed_while_writing_leaves_nothing() {
    run_case(
        "a_producer_killed_while_writing_leaves_nothing",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let _serial = serial();
                let before = resources();
                let q = transport_queue::Queue::<Vec<u8>>::unbounded();
                let done = transport_queue::Queue::<String>::unbounded();
                let consumer = h
                    .child("consumer")
                    .endpoint("rx", q.receiver())
                    .endpoint("done", done.sender())
                    .spawn();
                let mut producer = h.child("producer").endpoint("tx", q.sender()).spawn();
                for n in 0..3 {
                    assert_eq!(producer.expect_report(LONG), format!("writing {n}"));
                }
                producer.kill();
                drop(producer);
                drop(q);
                let said = done.get_timeout(LONG).expect("the consumer's count");
                let said = said.as_str();
                let (got, left) = said.split_once(' ').expect("`items mappings`");
                let got: usize = got.parse().expect("a count");
                assert!((2..=3).contains(&got), "{got} whole items of the 3 begun");
                assert_eq!(left, "0", "the consumer kept slab mappings");
                assert!(consumer.wait(PEER_TIMEOUT).is_empty());
                drop(done);
                back_to(before);
            }
            Role::Child("producer") => {
                let tx: transport_queue::Sender<Vec<u8>> = h.endpoint("tx");
                for n in 0..u8::MAX {
                    h.report(format!("writing {n}"));
                    tx.send(pattern(8 << 20, n)).expect("putting");
                }
            }
            Role::Child("consumer") => {
                let rx: transport_queue::Receiver<Vec<u8>> = h.endpoint("rx");
                let done: transport_queue::Sender<String> = h.endpoint("done");
                let mut got = 0u8;
                loop {
                    match rx.recv_timeout(LONG) {
                        Ok(item) => {
                            check(item.as_slice(), 8 << 20, got);
                            got += 1;
                        }
                        Err(e) if e.is_disconnected() => break,
                        Err(e) => panic!("receiving: {e}"),
                    }
                }
                drop(rx);
                done.send(format!("{got} {}", common::raw::slab_mappings()))
                    .expect("reporting");
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// A member whose `down` channel an async task waits on (the bridge thread
/// reads it from then on) receives large items whole too, and gives their
/// slabs back: the producer, this process, never needs more than the two
/// slabs the pairs of items in flight take.
#[cfg(target_os = "linux")]
#[test]
fn large_items_reach_an_async_waiter() {
    use std::{
        sync::Arc,
        task::{Context, Wake, Waker},
    };

    use transport_core::PollRecv;

    /// Wakes the thread that polls.
    struct Unpark(std::thread::Thread);

    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    run_case("large_items_reach_an_async_waiter", |h: &Harness| {
        match h.role() {
            Role::Parent => {
                let _serial = serial();
                let before = resources();
                let q = transport_queue::Queue::<Vec<u8>>::bounded(2).expect("a bounded queue");
                let child = h.child("waiter").endpoint("rx", q.receiver()).spawn();
                for seed in 0..8 {
                    q.put(pattern(1 << 20, seed)).expect("putting");
                }
                assert!(child.wait(PEER_TIMEOUT).is_empty());
                assert!(
                    common::raw::slab_mappings() <= before.0 + 3,
                    "slabs were not given back"
                );
                drop(q);
                back_to(before);
            }
            Role::Child("waiter") => {
                let rx: transport_queue::Receiver<Vec<u8>> = h.endpoint("rx");
                let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
                let deadline = std::time::Instant::now() + LONG;
                for seed in 0..8u8 {
                    // Wait as an async task would: poll until ready.
                    while rx
                        .raw()
                        .poll_recv_ready(&mut Context::from_waker(&waker))
                        .is_pending()
                    {
                        assert!(std::time::Instant::now() < deadline, "no wake-up");
                        std::thread::park_timeout(deadline - std::time::Instant::now());
                    }
                    let item = rx.try_recv().expect("an item once ready");
                    check(item.as_slice(), 1 << 20, seed);
                }
            }
            Role::Child(other) => unknown_role(other),
        }
    });
}
