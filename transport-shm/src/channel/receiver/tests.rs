//! Unit tests of `receiver.rs`.

use std::sync::atomic::Ordering;

use transport_core::{
    backend::{Frame, RawReceiver, RawRecvError, RawSender, Wait},
    sync::LockExt,
};

use crate::{ShmConfig, channel::raw_channel};

fn small() -> ShmConfig {
    ShmConfig::bounded(8).max_message_size(256).buffer_bytes(4096)
}

/// The record position a frame starts at, as a lane offset.
fn offset_of(rx: &super::ShmReceiver) -> u64 {
    rx.state.lock_unpoisoned().read[0] % rx.rx.chan.geo.lane_bytes as u64
}

#[test]
#[cfg_attr(miri, ignore = "the bridge thread waits on futexes")]
fn an_idle_receiver_spins_once_until_it_is_ready_again() {
    use std::task::{Context, Waker};
    use transport_core::backend::PollRecv;
    let (tx, rx) = raw_channel(&small()).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(rx.poll_recv_ready(&mut cx).is_pending());
    let link = rx.link.get().expect("the first look made the link");
    assert!(link.is_quiet(), "its spin ran out with nothing there");
    // Looked at again while idle (as a Select looks at every receiver
    // after a wake-up): no spin, still quiet.
    assert!(rx.poll_recv_ready(&mut cx).is_pending());
    assert!(link.is_quiet());
    tx.send_bytes(b"one", Wait::Never).unwrap();
    assert!(rx.poll_recv_ready(&mut cx).is_ready());
    assert!(!link.is_quiet(), "ready again: its next look spins");
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"one");
}

#[test]
#[cfg_attr(miri, ignore = "the bridge thread waits on futexes")]
fn a_select_registers_without_a_spin_and_reads_readiness_cheaply() {
    use std::task::{Context, Waker};
    use transport_core::backend::PollRecv;
    let (tx, rx) = raw_channel(&small()).unwrap();
    assert_eq!(rx.recv_ready_now(), Some(false));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(rx.register_recv_ready(&mut cx).is_pending());
    let link = rx.link.get().expect("registering made the link");
    assert!(!link.is_quiet(), "no spin ran");
    assert!(link.armed.load(Ordering::SeqCst), "registered with the bridge");
    tx.send_bytes(b"one", Wait::Never).unwrap();
    assert_eq!(rx.recv_ready_now(), Some(true));
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"one");
    assert_eq!(rx.recv_ready_now(), Some(false));
    drop(tx);
    assert_eq!(
        rx.recv_ready_now(),
        Some(true),
        "disconnected: a receive reports it"
    );
}

#[test]
#[cfg_attr(miri, ignore = "megabytes of messages: too slow under Miri")]
fn a_drained_lane_starts_over_early_and_loses_nothing() {
    // A large buffer and limit, as by default: without early wraps the
    // tail would run through the whole buffer.
    let config = ShmConfig::bounded(64)
        .max_message_size(1 << 20)
        .buffer_bytes(1 << 20);
    let (tx, rx) = raw_channel(&config).unwrap();
    let mut max_offset = 0;
    for i in 0u32..20_000 {
        let msg = i.to_le_bytes().repeat(10);
        tx.send_bytes(&msg, Wait::Never).unwrap();
        let f = rx.recv_frame(Wait::Never).unwrap();
        assert_eq!(f.bytes(), &msg[..], "message {i}");
        drop(f);
        max_offset = max_offset.max(offset_of(&rx));
    }
    // 20,000 records of 64 bytes span 1.28 MB; drained after each one,
    // the lane started over before 64 KiB + one record.
    assert!(
        max_offset <= (64 << 10) + 64,
        "the tail reached offset {max_offset}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "megabytes of messages: too slow under Miri")]
fn a_large_message_after_an_early_wrap_does_not_hide_it() {
    // The first record after a jump covers the place where a wrap record
    // would have been: the receiver must still jump, then read it whole.
    let config = ShmConfig::bounded(64)
        .max_message_size(1 << 20)
        .buffer_bytes(1 << 20);
    let (tx, rx) = raw_channel(&config).unwrap();
    let small = [7u8; 48];
    while offset_of(&rx) < 64 << 10 {
        tx.send_bytes(&small, Wait::Never).unwrap();
        rx.recv_frame(Wait::Never).unwrap();
    }
    // Past the threshold: a failed send (too large) must leave no jump
    // behind, and the next, large, one takes it.
    assert!(tx.send_bytes(&vec![0u8; (1 << 20) + 1], Wait::Never).is_err());
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    tx.send_bytes(&big, Wait::Never).unwrap();
    tx.send_bytes(b"after", Wait::Never).unwrap();
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), &big[..]);
    // Its record started at offset 0: it ends at its own length.
    assert_eq!(
        offset_of(&rx),
        16 + 200_000,
        "the big message went to the lane's start"
    );
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"after");
}

#[test]
fn frames_released_out_of_order_free_the_ring() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    // Many laps of the ring, holding two frames at a time and dropping
    // the newer first.
    for i in 0..2000u32 {
        tx.send_bytes(&i.to_le_bytes(), Wait::Never).unwrap();
        tx.send_bytes(&(i + 1).to_le_bytes(), Wait::Never).unwrap();
        let a = rx.recv_frame(Wait::Never).unwrap();
        let b = rx.recv_frame(Wait::Never).unwrap();
        assert_eq!(a.bytes(), i.to_le_bytes());
        assert_eq!(b.bytes(), (i + 1).to_le_bytes());
        drop(b);
        drop(a);
    }
    assert!(matches!(rx.recv_frame(Wait::Never), Err(RawRecvError::NotReady)));
}

#[test]
fn the_capacity_counts_held_messages_up_to_the_oldest() {
    let (tx, rx) = raw_channel(&ShmConfig::bounded(4)).unwrap();
    let fits = || {
        let mut n = 0u8;
        while tx.send_bytes(&[n], Wait::Never).is_ok() {
            n += 1;
            assert!(n <= 4, "capacity 4 was not enforced");
        }
        n
    };
    assert_eq!(fits(), 4);
    let mut held: Vec<_> = (0..4).map(|_| rx.recv_frame(Wait::Never).unwrap()).collect();
    assert_eq!(fits(), 0, "received but held messages still count");
    // The newest, released first, keeps its place until the ones before
    // it are released.
    drop(held.pop());
    assert_eq!(fits(), 0);
    drop(held.remove(0));
    assert_eq!(fits(), 1);
    held.clear();
    assert_eq!(fits(), 3);
    for _ in 0..4 {
        rx.recv_frame(Wait::Never).unwrap();
    }
    assert_eq!(fits(), 4);
}

#[test]
fn a_corrupt_record_header_is_malformed_not_ub() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    tx.send_bytes(b"first", Wait::Never).unwrap();
    // A buggy producer writes a length past the limit into its record.
    rx.rx.chan.record_header(0, 0).store(1 << 40, Ordering::Relaxed);
    match rx.recv_frame(Wait::Never) {
        Err(RawRecvError::Malformed(e)) => assert!(e.reason().contains("record header")),
        other => panic!("expected a malformed frame, got {other:?}"),
    }
    // The lane is closed: its only producer is disconnected, and so is
    // the receiver.
    assert!(matches!(
        rx.recv_frame(Wait::Never),
        Err(RawRecvError::Disconnected)
    ));
    assert!(matches!(
        tx.send_bytes(b"second", Wait::Never),
        Err(transport_core::backend::RawSendError::Disconnected)
    ));
}

#[test]
fn untrusted_frames_are_copies() {
    let (tx, rx) = raw_channel(&small().untrusted(true)).unwrap();
    tx.send_bytes(b"copy me", Wait::Never).unwrap();
    let f = rx.recv_frame(Wait::Never).unwrap();
    assert!(!f.is_in_place());
    assert_eq!(f.bytes(), b"copy me");
}

#[test]
fn full_then_disconnected() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    let mut sent = 0;
    while tx.send_bytes(&[1; 100], Wait::Never).is_ok() {
        sent += 1;
        assert!(sent <= 8, "capacity 8 was not enforced");
    }
    assert!(rx.wait_ready(Wait::Never));
    drop(rx);
    assert!(matches!(
        tx.send_bytes(b"x", Wait::Never),
        Err(transport_core::backend::RawSendError::Disconnected)
    ));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "tens of thousands of messages on five threads: slow under Miri"
)]
fn threads_sharing_a_receiver_get_each_message_once() {
    const N: u32 = 20_000;
    let (tx, rx) = raw_channel(&small()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen: Vec<u32> = std::thread::scope(|s| {
        let takers: Vec<_> = (0..4)
            .map(|_| {
                let rx = &rx;
                s.spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv_frame(Wait::Until(deadline)) {
                            Ok(f) => got.push(u32::from_le_bytes(f.bytes()[..4].try_into().unwrap())),
                            Err(RawRecvError::Disconnected) => return got,
                            Err(e) => panic!("receiving: {e:?}"),
                        }
                    }
                })
            })
            .collect();
        for seq in 0..N {
            tx.send_bytes(&seq.to_le_bytes(), Wait::Until(deadline)).unwrap();
        }
        drop(tx);
        takers.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    seen.sort_unstable();
    assert!(
        seen.iter().copied().eq(0..N),
        "a message was lost or received twice"
    );
}
