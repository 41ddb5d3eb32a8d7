//! Large items across real processes: past 64 KiB they travel in shared
//! memory on Linux (the producer's slab, copied out by the consumer) and
//! inline elsewhere; either way every byte arrives, between any two
//! processes, and nothing is left behind.

mod common;

use common::{LONG, run_case, unknown_role};
use transport_core::conformance::{Harness, PEER_TIMEOUT, Role};
use transport_queue::Queue;

/// The sizes tried: around the shared-memory threshold (64 KiB) and well
/// past it.
const SIZES: &[usize] = &[
    (64 << 10) - 1,
    64 << 10,
    (64 << 10) + 1,
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
                let there = transport_queue::unbounded::<Vec<u8>>();
                let back = transport_queue::unbounded::<Vec<u8>>();
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
                let q = transport_queue::unbounded::<Vec<u8>>();
                let echo = transport_queue::unbounded::<u64>();
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
