//! The ring's rules in one process: dead holders passed or freed, words no
//! ring has refused, threads sharing and cloning the ends.

use std::{
    collections::HashSet,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use transport_core::backend::{Frame, RawReceiver, RawRecvError, RawSendError, RawSender, Wait};

use super::{
    raw_mpmc,
    state::{Holder, Kind, SlotState},
};
use crate::ShmConfig;

/// A participant entry nobody holds: its holder counts as dead.
const DEAD: Holder = Holder { index: 63, nonce: 7 };

fn small(capacity: usize) -> ShmConfig {
    ShmConfig::bounded(capacity).max_message_size(64)
}

#[test]
fn a_slot_a_dead_producer_was_writing_is_passed() {
    let (tx, rx) = raw_mpmc(&small(4)).unwrap();
    tx.send_bytes(b"first", Wait::Never).unwrap();
    // Position 1 claimed by a producer that died before publishing.
    let ring = &tx.end.ring;
    ring.state(1)
        .store(SlotState::held(Kind::Writing, 0, DEAD).encode(), Ordering::SeqCst);
    ring.enq().store(2, Ordering::SeqCst);
    tx.send_bytes(b"third", Wait::Never).unwrap();
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"first");
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"third");
    assert!(matches!(rx.recv_frame(Wait::Never), Err(RawRecvError::NotReady)));
    // The slot went free for its next lap: the ring still takes four.
    for i in 0..4u8 {
        tx.send_bytes(&[i], Wait::Never).unwrap();
    }
    for i in 0..4u8 {
        assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), &[i]);
    }
}

#[test]
fn a_slot_a_dead_consumer_was_reading_is_freed_for_the_producers() {
    let (tx, rx) = raw_mpmc(&small(2)).unwrap();
    tx.send_bytes(b"a", Wait::Never).unwrap();
    tx.send_bytes(b"b", Wait::Never).unwrap();
    assert!(matches!(
        tx.send_bytes(b"c", Wait::Never),
        Err(RawSendError::NotReady)
    ));
    // A consumer claimed position 0 and died copying it out.
    let ring = &rx.end.ring;
    ring.state(0)
        .store(SlotState::held(Kind::Reading, 0, DEAD).encode(), Ordering::SeqCst);
    ring.deq().store(1, Ordering::SeqCst);
    tx.send_bytes(b"c", Wait::Never).unwrap();
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"b");
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"c");
}

#[test]
fn a_consumer_waiting_behind_a_dead_producer_gets_what_follows() {
    let (tx, rx) = raw_mpmc(&small(4)).unwrap();
    let ring = &tx.end.ring;
    ring.state(0)
        .store(SlotState::held(Kind::Writing, 0, DEAD).encode(), Ordering::SeqCst);
    ring.enq().store(1, Ordering::SeqCst);
    tx.send_bytes(b"after", Wait::Never).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    assert_eq!(rx.recv_frame(Wait::Until(deadline)).unwrap().bytes(), b"after");
}

#[test]
fn impossible_words_are_malformed_once_then_disconnected() {
    let (tx, rx) = raw_mpmc(&small(4)).unwrap();
    // A free slot that names a holder.
    let bad = SlotState::free(0).encode() | (5 << 56);
    rx.end.ring.state(0).store(bad, Ordering::SeqCst);
    assert!(matches!(
        rx.recv_frame(Wait::Never),
        Err(RawRecvError::Malformed(_))
    ));
    assert!(matches!(
        rx.recv_frame(Wait::Never),
        Err(RawRecvError::Disconnected)
    ));
    assert!(matches!(
        tx.send_bytes(b"x", Wait::Never),
        Err(RawSendError::Disconnected)
    ));
}

#[test]
fn a_length_past_the_limit_is_malformed_and_the_ring_goes_on() {
    let (tx, rx) = raw_mpmc(&small(4)).unwrap();
    tx.send_bytes(b"one", Wait::Never).unwrap();
    tx.send_bytes(b"two", Wait::Never).unwrap();
    tx.end.ring.len_word(0).store(u64::MAX, Ordering::SeqCst);
    assert!(matches!(
        rx.recv_frame(Wait::Never),
        Err(RawRecvError::Malformed(_))
    ));
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"two");
}

#[test]
fn a_slot_behind_the_position_is_refused_by_a_producer() {
    let (tx, _rx) = raw_mpmc(&small(4)).unwrap();
    // Position 9 is slot 1 of lap 2; a free slot of lap 0 cannot be there.
    tx.end.ring.enq().store(9, Ordering::SeqCst);
    assert!(matches!(
        tx.send_bytes(b"x", Wait::Never),
        Err(RawSendError::Disconnected)
    ));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "tens of thousands of messages on eight threads: slow under Miri"
)]
fn threads_with_clones_get_each_message_once() {
    const PRODUCERS: u32 = 3;
    const CONSUMERS: usize = 4;
    const N: u32 = 5_000;
    let (tx, rx) = raw_mpmc(&small(8)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let got: Vec<Vec<u32>> = std::thread::scope(|s| {
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let rx = rx.try_clone().unwrap();
                s.spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv_frame(Wait::Until(deadline)) {
                            Ok(f) => got.push(u32::from_le_bytes(f.bytes().try_into().unwrap())),
                            Err(RawRecvError::Disconnected) => return got,
                            Err(e) => panic!("receiving: {e:?}"),
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for p in 0..PRODUCERS {
            let tx = tx.try_clone().unwrap();
            s.spawn(move || {
                for seq in 0..N {
                    tx.send_bytes(&(p * N + seq).to_le_bytes(), Wait::Until(deadline))
                        .unwrap();
                }
            });
        }
        drop(tx);
        consumers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let mut seen = HashSet::new();
    for m in got.iter().flatten() {
        assert!(seen.insert(*m), "message {m} arrived twice");
    }
    assert_eq!(seen.len(), (PRODUCERS * N) as usize, "messages lost");
}

#[test]
#[cfg(feature = "fuzzing")]
#[cfg_attr(miri, ignore = "thousands of rings: slow under Miri")]
fn the_fuzz_entry_holds_on_random_inputs() {
    // The fuzz target's invariants on random inputs (a fixed seed, so a
    // failure replays), so that a plain test run exercises them without
    // cargo-fuzz.
    let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2_000 {
        let len = rng.usize(..600);
        let input: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        super::fuzz::mpmc(&input);
    }
    // Traffic only: sends and receives on both sides.
    let traffic: Vec<u8> = (0..400u32).map(|i| [6u8, 3, 134, 131][i as usize % 4]).collect();
    super::fuzz::mpmc(&traffic);
}
