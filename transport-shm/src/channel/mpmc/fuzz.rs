//! The fuzz target of the multi-consumer ring (feature `fuzzing`; see
//! `crate::fuzzing`).

use std::sync::atomic::Ordering;

use transport_core::backend::{Frame, RawReceiver, RawRecvError, RawSendError, RawSender, Wait};

use super::{
    raw_mpmc_on_heap,
    state::{Holder, Kind, SlotState},
};
use crate::ShmConfig;

/// The largest message of the fuzzed rings.
const LIMIT: usize = 64;

/// The ring's ends fed a ring whose state words, lengths and positions come
/// from the fuzzer, between real sends and receives on two senders and two
/// receivers.
///
/// What must hold: no panic, hang or read outside the ring; frames no
/// longer than the limit; while nothing was written over the ring, exactly
/// the sent messages arrive, once each, in order, and neither end reports
/// `Malformed` or `Disconnected`.
pub fn mpmc(data: &[u8]) {
    let mut input = data.iter().copied();
    let mut byte = || input.next().unwrap_or(0);
    let slots = 1 + usize::from(byte() % 8);
    let config = ShmConfig::bounded(slots).max_message_size(LIMIT);
    let (tx, rx) = raw_mpmc_on_heap(&config).expect("a heap ring");
    let senders = [tx.try_clone().expect("a second producer"), tx];
    let receivers = [rx.try_clone().expect("a second consumer"), rx];
    let ring = std::sync::Arc::clone(&senders[0].end.ring);
    let me = super::ring::holder_of(senders[0].end.att.as_ref().expect("attached"));
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut received = 0usize;
    let mut scribbled = false;
    // Whether a failed send passed a position since the ring was last
    // drained.
    let mut skipped = false;
    let mut count = 0u32;
    for _ in 0..512 {
        let op = byte();
        if op == 0 && byte() == 0 {
            break;
        }
        let side = usize::from(op >> 7);
        match op % 8 {
            0 => {
                // A state word: any bits, or a state near the position.
                let slot = usize::from(byte()) % slots;
                let near = ring.place(ring.enq().load(Ordering::Relaxed)).1;
                let lap = near.wrapping_add(u64::from(byte() % 4)).wrapping_sub(2);
                let holder = if byte() & 1 == 0 {
                    me
                } else {
                    Holder {
                        index: usize::from(byte() % 64),
                        nonce: u16::from(byte()),
                    }
                };
                let word = match byte() % 5 {
                    0 => SlotState::free(lap).encode(),
                    1 => SlotState::full(lap).encode(),
                    2 => SlotState::held(Kind::Writing, lap, holder).encode(),
                    3 => SlotState::held(Kind::Reading, lap, holder).encode(),
                    _ => u64::from_le_bytes(std::array::from_fn(|_| byte())),
                };
                ring.state(slot).store(word, Ordering::SeqCst);
                scribbled = true;
            }
            1 => {
                let slot = usize::from(byte()) % slots;
                let len = if byte() & 1 == 0 {
                    u64::from(byte())
                } else {
                    u64::from_le_bytes(std::array::from_fn(|_| byte()))
                };
                ring.len_word(slot).store(len, Ordering::SeqCst);
                scribbled = true;
            }
            2 => {
                let word = if side == 0 { ring.enq() } else { ring.deq() };
                let p = word.load(Ordering::Relaxed);
                let moved = match byte() % 3 {
                    0 => p.wrapping_add(u64::from(byte())),
                    1 => p.wrapping_sub(u64::from(byte())),
                    _ => u64::from_le_bytes(std::array::from_fn(|_| byte())),
                };
                word.store(moved, Ordering::SeqCst);
                scribbled = true;
            }
            3..=5 => match receivers[side].recv_frame(Wait::Never) {
                Ok(frame) => {
                    let bytes = frame.bytes();
                    assert!(bytes.len() <= LIMIT, "a frame of {} bytes", bytes.len());
                    if !scribbled {
                        assert_eq!(
                            Some(bytes),
                            sent.get(received).map(Vec::as_slice),
                            "message {received}"
                        );
                        received += 1;
                        if received == sent.len() {
                            skipped = false;
                        }
                    }
                }
                Err(RawRecvError::NotReady) => {}
                Err(e @ (RawRecvError::Malformed(_) | RawRecvError::Disconnected)) => {
                    assert!(scribbled, "{e:?} from a ring nobody wrote over");
                }
                Err(e) => panic!("unexpected receive error: {e:?}"),
            },
            6 => {
                let len = usize::from(byte()) % (LIMIT + 8);
                count += 1;
                let msg: Vec<u8> = (0..len).map(|k| (k as u32 ^ count) as u8).collect();
                match senders[side].send_bytes(&msg, Wait::Never) {
                    Ok(()) => {
                        assert!(len <= LIMIT, "a {len}-byte message past the limit went");
                        sent.push(msg);
                    }
                    Err(e) => {
                        // A failed send passes its position: until the
                        // consumers pass it too, a message queued a lap
                        // before may hold the slot a send needs.
                        skipped |= matches!(e, RawSendError::TooLarge { .. });
                        assert!(
                            scribbled || len > LIMIT || sent.len() - received >= slots || skipped,
                            "{e:?} from a ring with room nobody wrote over"
                        );
                    }
                }
            }
            _ => {
                let o = senders[side].occupancy().expect("the ring counts");
                assert!(o.len <= slots, "{} queued in {slots} slots", o.len);
            }
        }
    }
    if !scribbled {
        while let Ok(frame) = receivers[0].recv_frame(Wait::Never) {
            assert_eq!(
                Some(frame.bytes()),
                sent.get(received).map(Vec::as_slice),
                "message {received}"
            );
            received += 1;
        }
        assert_eq!(received, sent.len(), "every message sent arrived");
    }
}
