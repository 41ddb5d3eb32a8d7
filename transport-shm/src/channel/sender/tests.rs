//! Unit tests of `sender.rs`.

use std::time::{Duration, Instant};

use transport_core::backend::{Frame, RawReceiver, RawSender, Wait};

use crate::{ShmConfig, channel::raw_channel};

/// A 64 KiB ring for messages of up to 128 KiB.
fn small_ring() -> ShmConfig {
    ShmConfig::default()
        .max_message_size(128 << 10)
        .buffer_bytes(64 << 10)
}

/// Message `seq`: a length that jumps around, and bytes that depend on
/// both.
fn message(seq: u32) -> Vec<u8> {
    let len = ((seq.wrapping_mul(2_654_435_761) >> 7) % (96 << 10)) as usize + 1;
    (0..len).map(|i| (i as u32 ^ seq.rotate_left(9)) as u8).collect()
}

#[test]
#[cfg_attr(miri, ignore = "megabytes of messages on two threads: too slow under Miri")]
fn messages_larger_than_the_room_at_a_lap_start_arrive_whole() {
    // Messages up to 96 KiB: most laps start with less room than the
    // next message needs, so its first part is written in place and the
    // rest waits aside for the consumer.
    let (tx, rx) = raw_channel(&small_ring()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    const N: u32 = 3000;
    std::thread::scope(|s| {
        s.spawn(move || {
            for seq in 0..N {
                let frame = rx.recv_frame(Wait::Until(deadline)).unwrap();
                assert!(frame.bytes() == message(seq), "message {seq} differs");
            }
        });
        for seq in 0..N {
            tx.send_bytes(&message(seq), Wait::Until(deadline)).unwrap();
        }
        let spill = std::mem::take(&mut tx.state.take(Wait::Never).unwrap().spill);
        assert!(
            spill.capacity() > 0,
            "no message ever needed more room than there was"
        );
    });
}

#[test]
fn a_try_send_without_the_room_it_turns_out_to_need_leaves_no_trace() {
    let (tx, rx) = raw_channel(&small_ring()).unwrap();
    // Fill the ring with small messages, keeping the last one's size
    // small so the next send expects little room.
    let mut sent = 0u32;
    while tx.send_bytes(&[sent as u8; 100], Wait::Never).is_ok() {
        sent += 1;
    }
    // Free a little: enough for another small message, not a big one.
    drop(rx.recv_frame(Wait::Never).unwrap());
    assert!(tx.send_bytes(&vec![7u8; 100 << 10], Wait::Never).is_err());
    for i in 1..sent {
        assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), &[i as u8; 100][..]);
    }
    assert!(
        rx.recv_frame(Wait::Never).is_err(),
        "the failed send left a frame"
    );
    tx.send_bytes(&vec![7u8; 100 << 10], Wait::Never).unwrap();
    assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes().len(), 100 << 10);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "tens of thousands of messages on five threads: slow under Miri"
)]
fn threads_sharing_a_sender_lose_nothing_and_keep_their_order() {
    // A ring of 8 messages: sends often wait for room while they hold
    // the lane, and the other threads' sends wait for them, as
    // `try_send`, with a deadline, or without limit.
    const THREADS: u8 = 4;
    const N: u32 = 5_000;
    let (tx, rx) = raw_channel(&ShmConfig::bounded(8).max_message_size(256).buffer_bytes(4096)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let tx = &tx;
            s.spawn(move || {
                for seq in 0..N {
                    let mut msg = vec![t];
                    msg.extend_from_slice(&seq.to_le_bytes());
                    loop {
                        let wait = match (seq + u32::from(t)) % 3 {
                            0 => Wait::Never,
                            1 => Wait::Until(deadline),
                            _ => Wait::Forever,
                        };
                        match tx.send_bytes(&msg, wait) {
                            Ok(()) => break,
                            Err(transport_core::backend::RawSendError::NotReady) if wait == Wait::Never => {
                                assert!(Instant::now() < deadline, "thread {t} never got room");
                            }
                            Err(e) => panic!("thread {t} sending {seq}: {e:?}"),
                        }
                    }
                }
            });
        }
        let mut next = [0u32; THREADS as usize];
        for _ in 0..u32::from(THREADS) * N {
            let f = rx.recv_frame(Wait::Until(deadline)).unwrap();
            let (t, seq) = (
                f.bytes()[0],
                u32::from_le_bytes(f.bytes()[1..5].try_into().unwrap()),
            );
            assert_eq!(seq, next[usize::from(t)], "thread {t}'s messages out of order");
            next[usize::from(t)] += 1;
        }
    });
    assert!(matches!(
        rx.recv_frame(Wait::Never),
        Err(transport_core::backend::RawRecvError::NotReady)
    ));
}
