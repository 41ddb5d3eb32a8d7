//! The ring's checks in one process: words a peer could write are written
//! here directly, and the receiver (or sender) must give a typed error and
//! close the lane, never loop, wedge, repeat a record or keep growing. The
//! same words written from another process are in `tests/hostile.rs`; these
//! run under Miri too (on heap segments).

use std::sync::{Arc, atomic::Ordering};

use transport_core::backend::{Frame, RawReceiver, RawRecvError, RawSendError, RawSender, Wait};

use super::{
    ShmReceiver, ShmSender, Single,
    frame::ShmFrame,
    layout::{ROLE_RECEIVER, ROLE_SENDER, WRAP, stamp},
    raw_channel, raw_mpsc_channel,
};
use crate::{ShmConfig, segment::Attachment};

/// 4 KiB of queued records, messages up to 256 bytes: 33 records of 128
/// bytes per lap.
fn small() -> ShmConfig {
    ShmConfig::bounded(64).max_message_size(256).buffer_bytes(4096)
}

/// A 100-byte message (a 128-byte record) carrying `seq`.
fn message(seq: u32) -> Vec<u8> {
    let mut m = vec![0x5A; 100];
    m[..4].copy_from_slice(&seq.to_le_bytes());
    m
}

fn seq_of(f: &impl Frame) -> u32 {
    u32::from_le_bytes(f.bytes()[..4].try_into().unwrap())
}

fn lane_bytes(rx: &ShmReceiver) -> u64 {
    rx.chan().geo.lane_bytes as u64
}

/// Expects `Malformed` mentioning `what`, then `Disconnected` for both
/// ends (the lane is closed).
fn expect_closed(tx: &ShmSender, rx: &ShmReceiver, what: &str) {
    match rx.recv_frame(Wait::Never) {
        Err(RawRecvError::Malformed(e)) => assert!(e.reason().contains(what), "{}", e.reason()),
        other => panic!("expected `Malformed` ({what}), got {other:?}"),
    }
    assert!(matches!(
        rx.recv_frame(Wait::Never),
        Err(RawRecvError::Disconnected)
    ));
    assert!(
        rx.wait_ready(Wait::Never),
        "a closed channel is ready (disconnected)"
    );
    assert!(matches!(
        tx.send_bytes(b"x", Wait::Never),
        Err(RawSendError::Disconnected)
    ));
}

#[test]
fn records_of_the_last_lap_behind_a_corrupted_tail_are_not_delivered() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    for seq in 0..40 {
        tx.send_bytes(&message(seq), Wait::Never).unwrap();
        assert_eq!(seq_of(&rx.recv_frame(Wait::Never).unwrap()), seq);
    }
    let chan = Arc::clone(rx.chan());
    let tail = chan.lane(0).tail.load(Ordering::SeqCst);
    assert!(tail > lane_bytes(&rx), "the ring went round");
    // Eight records ahead, over records of the last lap.
    chan.lane(0).tail.store(tail + 8 * 128, Ordering::SeqCst);
    expect_closed(&tx, &rx, "no record at position");
}

#[test]
fn a_far_tail_is_malformed_at_once() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    let chan = Arc::clone(rx.chan());
    chan.record_header(0, 0).store(WRAP, Ordering::SeqCst);
    chan.record_stamp(0, 0).store(stamp(0), Ordering::SeqCst);
    chan.lane(0).tail.store(lane_bytes(&rx) << 40, Ordering::SeqCst);
    expect_closed(&tx, &rx, "more than a lane ahead");
}

#[test]
fn a_wrap_at_a_lap_start_is_malformed() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    let chan = Arc::clone(rx.chan());
    // Plausible tail (into the next lap), and a wrap where no wrap can be.
    chan.record_header(0, 0).store(WRAP, Ordering::SeqCst);
    chan.record_stamp(0, 0).store(stamp(0), Ordering::SeqCst);
    chan.lane(0).tail.store(lane_bytes(&rx) + 16, Ordering::SeqCst);
    expect_closed(&tx, &rx, "wraps at position 0x0");
}

#[test]
fn a_wrap_past_the_tail_is_malformed() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    tx.send_bytes(&message(0), Wait::Never).unwrap();
    drop(rx.recv_frame(Wait::Never).unwrap());
    let chan = Arc::clone(rx.chan());
    chan.record_header(0, 128).store(WRAP, Ordering::SeqCst);
    chan.record_stamp(0, 128).store(stamp(128), Ordering::SeqCst);
    chan.lane(0).tail.store(144, Ordering::SeqCst);
    expect_closed(&tx, &rx, "does not pass");
}

#[test]
fn a_misaligned_tail_is_malformed() {
    for untrusted in [false, true] {
        let (tx, rx) = raw_channel(&small().untrusted(untrusted)).unwrap();
        tx.send_bytes(&message(0), Wait::Never).unwrap();
        drop(rx.recv_frame(Wait::Never).unwrap());
        let chan = Arc::clone(rx.chan());
        chan.lane(0).tail.store(128 + 100, Ordering::SeqCst);
        expect_closed(&tx, &rx, "not at a record boundary");
    }
}

#[test]
fn a_tail_behind_the_reader_is_malformed() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    tx.send_bytes(&message(0), Wait::Never).unwrap();
    drop(rx.recv_frame(Wait::Never).unwrap());
    rx.chan().lane(0).tail.store(0, Ordering::SeqCst);
    expect_closed(&tx, &rx, "behind the records already read");
}

#[test]
fn a_tail_past_the_watermark_is_malformed_where_no_record_reaches_it() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    let watermark = rx.chan().geo.watermark as u64;
    rx.chan().lane(0).tail.store(watermark + 16, Ordering::SeqCst);
    expect_closed(&tx, &rx, "no record at position 0x0");
}

#[test]
fn a_corrupted_head_neither_stops_the_ring_nor_parks_releases() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    let chan = Arc::clone(rx.chan());
    tx.send_bytes(&message(0), Wait::Never).unwrap();
    tx.send_bytes(&message(1), Wait::Never).unwrap();
    let held = rx.recv_frame(Wait::Never).unwrap();
    // Someone writes over the consumer's head word.
    chan.lane(0).head.store(0x10_0000, Ordering::SeqCst);
    drop(held);
    assert_eq!(rx.parked(), 0, "the release was not parked");
    assert_eq!(
        chan.lane(0).head.load(Ordering::SeqCst),
        128,
        "and the word was put right"
    );
    assert_eq!(seq_of(&rx.recv_frame(Wait::Never).unwrap()), 1);
    // Three laps more, releasing in order and out of order.
    for n in 2..100u32 {
        tx.send_bytes(&message(n), Wait::Never).unwrap();
        let a = rx.recv_frame(Wait::Never).unwrap();
        assert_eq!(seq_of(&a), n);
        if n % 2 == 0 {
            tx.send_bytes(&message(n + 1000), Wait::Never).unwrap();
            let b = rx.recv_frame(Wait::Never).unwrap();
            assert_eq!(seq_of(&b), n + 1000);
            drop(b);
            // `b`, and a wrap passed after `a`, perhaps.
            assert!((1..=2).contains(&rx.parked()));
            chan.lane(0).head.store(0x10_0000, Ordering::SeqCst);
        }
        drop(a);
        assert_eq!(rx.parked(), 0, "message {n}");
    }
}

#[test]
fn an_impossible_head_disconnects_the_sender() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    let chan = Arc::clone(rx.chan());
    let mut sent = 0;
    while tx.send_bytes(&message(sent), Wait::Never).is_ok() {
        sent += 1;
    }
    // The ring is full; a head ahead of the tail would make room out of
    // nothing.
    let tail = chan.lane(0).tail.load(Ordering::SeqCst);
    chan.lane(0).head.store(tail + 4096, Ordering::SeqCst);
    assert!(matches!(
        tx.send_bytes(&message(sent), Wait::Never),
        Err(RawSendError::Disconnected)
    ));
}

#[test]
fn a_sender_does_not_take_a_lane_with_an_impossible_tail() {
    let (tx, rx) = raw_mpsc_channel(&small().max_producers(2)).unwrap();
    let chan = Arc::clone(rx.chan());
    chan.lane(1).tail.store(100, Ordering::SeqCst);
    assert!(tx.try_clone().is_none(), "lane 1's tail is not a record boundary");
    chan.lane(1).tail.store(0, Ordering::SeqCst);
    let other = tx.try_clone().expect("a sound lane");
    other.send_bytes(b"hi", Wait::Never).unwrap();
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"hi");
}

#[test]
fn a_closed_lane_is_not_taken_again() {
    let (tx, rx) = raw_mpsc_channel(&small().max_producers(2)).unwrap();
    let chan = Arc::clone(rx.chan());
    let second = tx.try_clone().expect("lane 1");
    chan.lane(1).tail.store(4, Ordering::SeqCst);
    match rx.recv_frame(Wait::Never) {
        Err(RawRecvError::Malformed(e)) => assert!(e.reason().contains("lane 1")),
        other => panic!("expected `Malformed`, got {other:?}"),
    }
    assert!(matches!(
        second.send_bytes(b"x", Wait::Never),
        Err(RawSendError::Disconnected)
    ));
    drop(second);
    assert!(tx.try_clone().is_none(), "the closed lane is not handed out");
    // Lane 0 still works.
    tx.send_bytes(b"ok", Wait::Never).unwrap();
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), b"ok");
}

#[test]
fn a_receiver_opening_on_a_misaligned_head_reports_it_and_closes_the_lane() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    let chan = Arc::clone(rx.chan());
    drop(rx);
    chan.lane(0).head.store(8, Ordering::SeqCst);
    let att = Attachment::join(&chan.seg, ROLE_RECEIVER).unwrap();
    let rx = ShmReceiver::new(Arc::clone(&chan), att, false);
    expect_closed(&tx, &rx, "not at a record boundary");
}

#[test]
fn a_sender_opening_on_an_impossible_lane_is_refused() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    let chan = Arc::clone(rx.chan());
    chan.lane(0).tail.store(8, Ordering::SeqCst);
    let att = Attachment::join(&chan.seg, ROLE_SENDER).unwrap();
    let err = ShmSender::<Single>::new(Arc::clone(&chan), att, 0).unwrap_err();
    assert!(err.to_string().contains("not a ring's"), "{err}");
    drop(tx);
}

#[test]
fn a_copy_never_reads_a_misaligned_word() {
    // Writable memory, as a mapping is (a copy reads it through atomics).
    let mut bytes: Vec<u8> = (0..100u8).collect();
    for skew in 0..8 {
        let expected = bytes[skew..].to_vec();
        let part = &mut bytes[skew..];
        // SAFETY: `part` is live memory of `part.len()` bytes.
        let frame = unsafe { ShmFrame::copied(part.as_mut_ptr(), part.len()) };
        assert_eq!(frame.bytes(), expected);
        assert_eq!(
            frame.bytes().as_ptr() as usize % transport_core::backend::FRAME_ALIGN,
            0
        );
    }
}

#[test]
fn frames_dropped_on_many_threads_in_any_order_free_the_ring() {
    // A ring of 33 records, so the producer depends on every release.
    let n: u32 = if cfg!(miri) { 150 } else { 20_000 };
    let (tx, rx) = raw_channel(&small()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let workers: Vec<_> = (0..3)
        .map(|_| std::sync::mpsc::sync_channel::<ShmFrame>(4))
        .collect();
    std::thread::scope(|s| {
        s.spawn(move || {
            for seq in 0..n {
                tx.send_bytes(&message(seq), Wait::Until(deadline))
                    .unwrap_or_else(|e| panic!("message {seq} found no room: {e:?}"));
            }
        });
        let mut inboxes = Vec::new();
        for (to, from) in workers {
            inboxes.push(to);
            s.spawn(move || {
                // Hold up to two; on each arrival drop the newest or the
                // oldest in turn: out of order, and no frame held long.
                let mut held: std::collections::VecDeque<ShmFrame> = Default::default();
                let mut turn = false;
                while let Ok(frame) = from.recv() {
                    held.push_back(frame);
                    if held.len() > 2 {
                        turn = !turn;
                        drop(if turn { held.pop_back() } else { held.pop_front() });
                    }
                }
            });
        }
        for seq in 0..n {
            let frame = rx.recv_frame(Wait::Until(deadline)).expect("receiving");
            assert_eq!(seq_of(&frame), seq);
            inboxes[seq as usize % 3].send(frame).unwrap();
        }
    });
    assert_eq!(rx.parked(), 0, "every release reached the head");
    assert_eq!(
        rx.chan().lane(0).head.load(Ordering::SeqCst),
        rx.chan().lane(0).tail.load(Ordering::SeqCst),
        "the producer got every byte back"
    );
}

/// Only a receive whose predecessor found its message at once slips: one
/// that had to wait for it (a reply) and a `try_recv` leave the next
/// receive to look at once.
#[test]
fn only_a_receiver_that_found_messages_at_once_slips() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    assert!(!rx.streaming(), "a new receiver has seen no stream");
    tx.send_bytes(&message(0), Wait::Never).unwrap();
    tx.send_bytes(&message(1), Wait::Never).unwrap();
    drop(rx.recv_frame(Wait::Forever).unwrap());
    assert!(rx.streaming(), "the message was there at the first look");
    drop(rx.recv_frame(Wait::Forever).unwrap());
    assert!(rx.streaming());
    // Nothing queued: this receive waits (and times out).
    let waited = rx.recv_frame(Wait::timeout(std::time::Duration::from_millis(1)));
    assert!(matches!(waited, Err(RawRecvError::NotReady)), "{waited:?}");
    assert!(!rx.streaming(), "a receive that waited ends the stream");
    tx.send_bytes(&message(2), Wait::Never).unwrap();
    assert_eq!(seq_of(&rx.recv_frame(Wait::Never).unwrap()), 2);
    assert!(!rx.streaming(), "a try_recv says nothing of the stream");
}

/// A reply that came before its receive looked is found at once, but alone:
/// that is a round trip, not a stream, and the next receive does not slip
/// (if it did, it would find its own reply there after the slip, and every
/// round trip after it would slip too).
#[test]
fn a_message_found_alone_at_once_is_no_stream() {
    let (tx, rx) = raw_channel(&small()).unwrap();
    for seq in 0..3 {
        tx.send_bytes(&message(seq), Wait::Never).unwrap();
        assert_eq!(seq_of(&rx.recv_frame(Wait::Forever).unwrap()), seq);
        assert!(!rx.streaming(), "message {seq} was there at once, but alone");
    }
    tx.send_bytes(&message(3), Wait::Never).unwrap();
    tx.send_bytes(&message(4), Wait::Never).unwrap();
    assert_eq!(seq_of(&rx.recv_frame(Wait::Forever).unwrap()), 3);
    assert!(rx.streaming(), "message 3 had message 4 behind it");
    assert_eq!(seq_of(&rx.recv_frame(Wait::Forever).unwrap()), 4);
    assert!(rx.streaming(), "message 4 came from what the last look found");
}
