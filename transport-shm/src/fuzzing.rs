//! Entry points of the fuzz targets in `fuzz/` (feature `fuzzing`; not an
//! API). Each runs the crate's own code on a heap segment laid out exactly
//! as a shared one, with the words a peer could write taken from the
//! fuzzer's bytes, and checks what must hold whatever they are.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use transport_core::backend::{Frame, RawReceiver, RawRecvError, RawSender, Wait};

use crate::{
    ShmConfig, ShmReceiver, ShmSender, Single,
    channel::{
        chan::Chan,
        layout::{ROLE_RECEIVER, ROLE_SENDER, WRAP, stamp},
        raw_channel_on_heap,
    },
    liveness::Identity,
    segment::{Attachment, Kind, Segment, Token, backing::Backing, header},
    shared::{
        SharedArray, SharedValue,
        object::{Object, ObjectKind, Shape},
    },
};

pub use crate::channel::mpmc::fuzz::mpmc;

/// The fuzzer's bytes, taken from the front; zeros once they run out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        b.iter_mut().for_each(|x| *x = self.byte());
        u64::from_le_bytes(b)
    }

    /// A position near `base`: the fuzzer mostly moves words by a few
    /// records, sometimes anywhere.
    fn near(&mut self, base: u64) -> u64 {
        match self.byte() % 4 {
            0 => self.u64(),
            1 => base.wrapping_add(u64::from(self.u16()) * 16),
            2 => base.wrapping_sub(u64::from(self.u16()) * 16),
            _ => base.wrapping_add(u64::from(self.byte())),
        }
    }
}

/// The ring reader fed a ring whose control words and records come from
/// the fuzzer, between real sends and receives.
///
/// What must hold: no panic, hang, misaligned read or read outside the
/// lane; frames no longer than the limit; while nothing was written over
/// the ring, exactly the sent messages arrive, in order (whatever was
/// written over the lanes' message counts, which take no part in the
/// ring's protocol); how full the channel says it is stays within what its
/// lanes can hold; once every frame is dropped, no release is left parked
/// (memory bounded by the frames alive).
pub fn ring(data: &[u8]) {
    let mut input = Input(data);
    let flags = input.byte();
    let lanes = 1 + usize::from(flags & 1);
    let capacity = 1 + usize::from(flags >> 4);
    let config = ShmConfig::bounded(capacity)
        .max_message_size(256)
        .buffer_bytes(4096)
        .max_producers(lanes)
        .untrusted(flags & 2 != 0);
    let (tx, rx) = raw_channel_on_heap(&config).expect("a heap channel");
    let chan = Arc::clone(rx.chan());
    let mut senders = vec![tx];
    if lanes > 1 {
        senders.push(senders[0].try_clone().expect("a second lane"));
    }
    let lane_bytes = chan.geo.lane_bytes as u64;
    let mut held: Vec<crate::channel::ShmFrame> = Vec::new();
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut received = 0usize;
    let mut scribbled = false;
    let mut recounted = false;
    let mut count = 0u32;
    let mut steps = 0;
    while !input.is_empty() && steps < 512 {
        steps += 1;
        let op = input.byte();
        let i = usize::from(op >> 7) % lanes;
        let lane = chan.lane(i);
        match op % 11 {
            0 => {
                let t = input.near(lane.tail.load(Ordering::Relaxed));
                lane.tail.store(t, Ordering::Release);
                scribbled = true;
            }
            1 => {
                let j = input.near(lane.tail.load(Ordering::Relaxed));
                lane.jump_from.store(j, Ordering::Relaxed);
                scribbled = true;
            }
            2 => {
                // A record header and stamp where the fuzzer says, looking
                // like a record of some lap.
                let off = (u64::from(input.u16()) * 16) % lane_bytes;
                let lap = u64::from(input.byte() % 4);
                let tail = lane.tail.load(Ordering::Relaxed);
                let pos = (tail / lane_bytes)
                    .wrapping_add(lap)
                    .wrapping_sub(1)
                    .wrapping_mul(lane_bytes)
                    .wrapping_add(off);
                let len = match input.byte() % 3 {
                    0 => WRAP,
                    1 => u64::from(input.u16() % 300),
                    _ => input.u64(),
                };
                chan.record_header(i, off as usize).store(len, Ordering::Relaxed);
                chan.record_stamp(i, off as usize)
                    .store(stamp(pos), Ordering::Relaxed);
                scribbled = true;
            }
            3 => {
                let off = (u64::from(input.u16()) * 8) % lane_bytes;
                let word = input.u64();
                // SAFETY: an 8-aligned word inside lane `i`'s data.
                let w =
                    unsafe { &*(chan.lane_data(i).add(off as usize) as *const std::sync::atomic::AtomicU64) };
                w.store(word, Ordering::Relaxed);
                scribbled = true;
            }
            4 => {
                let h = input.near(lane.head.load(Ordering::Relaxed));
                lane.head.store(h, Ordering::Relaxed);
                scribbled = true;
            }
            5 | 6 => match rx.recv_frame(Wait::Never) {
                Ok(frame) => {
                    let bytes = frame.bytes();
                    assert!(bytes.len() <= 256, "a frame of {} bytes", bytes.len());
                    let sum = bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b));
                    std::hint::black_box(sum);
                    if !scribbled {
                        // One producer per lane, FIFO per lane: with one
                        // lane the whole order is fixed.
                        if lanes == 1 {
                            assert_eq!(
                                Some(bytes),
                                sent.get(received).map(Vec::as_slice),
                                "message {received}"
                            );
                        }
                        received += 1;
                    }
                    if op % 10 == 5 && held.len() < 8 {
                        held.push(frame);
                    }
                }
                Err(RawRecvError::NotReady) => {}
                Err(e @ (RawRecvError::Malformed(_) | RawRecvError::Disconnected)) => {
                    assert!(scribbled, "{e:?} from a ring nobody wrote over");
                }
                Err(e) => panic!("unexpected receive error: {e:?}"),
            },
            7 => {
                if !held.is_empty() {
                    let k = usize::from(input.byte()) % held.len();
                    drop(held.swap_remove(k));
                }
            }
            8 => {
                let len = usize::from(input.byte()) + usize::from(input.byte() & 1) * 64;
                count += 1;
                let msg: Vec<u8> = (0..len).map(|k| (k as u32 ^ count) as u8).collect();
                let s = &senders[usize::from(op >> 7) % senders.len()];
                if s.send_bytes(&msg, Wait::Never).is_ok() {
                    sent.push(msg);
                }
            }
            9 => {
                // The lane's message counts, which only `occupancy` reads.
                let sent_count = input.near(lane.sent.load(Ordering::Relaxed));
                let received_count = input.near(lane.received.load(Ordering::Relaxed));
                lane.sent.store(sent_count, Ordering::Relaxed);
                lane.received.store(received_count, Ordering::Relaxed);
                recounted = true;
                let occupancy = [rx.occupancy(), senders[0].occupancy()];
                for o in occupancy.into_iter().flatten() {
                    assert_eq!(o.capacity, Some(capacity), "the capacity is the configured one");
                    assert!(o.len <= lanes * capacity, "{} queued in {lanes} lanes", o.len);
                }
            }
            _ => {
                rx.wait_ready(Wait::Never);
            }
        }
    }
    if !scribbled && !recounted {
        // Honest counts: what was sent and not yet handed out.
        let len = rx.occupancy().map(|o| o.len);
        assert_eq!(len, Some(sent.len() - received), "the channel's length");
    }
    if !scribbled && lanes == 1 {
        // Nothing was written over the ring: the rest arrives, in order.
        drop(held.drain(..));
        while let Ok(frame) = rx.recv_frame(Wait::Never) {
            assert_eq!(
                Some(frame.bytes()),
                sent.get(received).map(Vec::as_slice),
                "message {received}"
            );
            received += 1;
        }
        assert_eq!(received, sent.len(), "every message sent arrived");
    }
    held.clear();
    assert_eq!(rx.parked(), 0, "releases left parked with no frame alive");
    drop(senders);
}

/// The fuzzer's flags for [`segment`]: which header words to set right, so
/// that it reaches past each check.
const FIX_MAGIC: u8 = 1;
const FIX_VERSION: u8 = 2;
const FIX_KIND: u8 = 4;
const FIX_SIZE: u8 = 8;
const FIX_ENTRY: u8 = 16;
const AS_CHANNEL: u8 = 32;
const FIX_OBJECT: u8 = 64;
/// For a channel: open a sender rather than a receiver.
const AS_SENDER: u8 = 128;
/// For a channel receiver: untrusted mode.
const UNTRUSTED: u8 = 64;

/// Opening a segment whose header (and object header, channel header and
/// lane words) come from the fuzzer: the open path of shared arrays and
/// values, and of channel ends, then a little use of what opened.
///
/// What must hold: no panic, hang or read outside the segment; what opens
/// has the length it checked (the array never reads past the segment).
pub fn segment(data: &[u8]) {
    let mut input = Input(data);
    let flags = input.byte();
    let pages = 2 + usize::from(input.byte() % 8);
    let size = pages * 4096;
    let name = "/tshm_0_fuzz";
    let backing = Backing::heap(name, size);
    let base = backing.as_ptr();
    // The fuzzer's bytes over the segment, from its start.
    let bytes = input.0;
    let n = bytes.len().min(size);
    // SAFETY: `n` bytes into the heap segment of `size` bytes, nobody else
    // has it yet.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), base, n) };
    let word64 = |off: usize| {
        // SAFETY: an aligned word of the header page.
        unsafe { &*(base.add(off) as *const std::sync::atomic::AtomicU64) }
    };
    let word32 = |off: usize| {
        // SAFETY: as above.
        unsafe { &*(base.add(off) as *const std::sync::atomic::AtomicU32) }
    };
    let kind = if flags & AS_CHANNEL != 0 {
        Kind::Channel
    } else {
        Kind::State
    };
    if flags & FIX_MAGIC != 0 {
        word64(0).store(header::MAGIC, Ordering::Relaxed);
    }
    if flags & FIX_VERSION != 0 {
        word32(8).store(header::VERSION, Ordering::Relaxed);
    }
    if flags & FIX_KIND != 0 {
        word32(12).store(kind as u32, Ordering::Relaxed);
    }
    if flags & FIX_SIZE != 0 {
        word64(16).store(size as u64, Ordering::Relaxed);
    }
    let segment = match Segment::adopt(backing, kind) {
        Ok(s) => Arc::new(s),
        Err(_) => return,
    };
    // A pending entry for this process, to claim (or the fuzzer's table).
    let index = usize::from(flags >> 1) % header::MAX_PARTICIPANTS;
    let nonce = (data.len() as u32) | 1;
    if flags & FIX_ENTRY != 0 {
        let p = &segment.header().participants[index];
        p.free_if(p.state());
        let me = Identity::current();
        if p.take(3, me, header::State::Pending, nonce) {
            p.child_slots()
                .child
                .store((u64::from(nonce) << 32) | u64::from(me.pid), Ordering::SeqCst);
            p.child_slots().start.store(me.start, Ordering::SeqCst);
        }
    }
    let token = Token {
        name: name.into(),
        index,
        nonce,
    };
    match kind {
        Kind::State => state(&segment, &token, flags),
        Kind::Channel => channel(&segment, &token, flags),
    }
}

fn state(segment: &Arc<Segment>, token: &Token, flags: u8) {
    if flags & FIX_OBJECT != 0 {
        let h = segment.payload();
        let shape = Shape::of::<u64>(ObjectKind::Array, 0);
        // SAFETY: the payload holds at least a page (the segment is two
        // pages or more); the object header's words are aligned.
        unsafe {
            (*(h as *const std::sync::atomic::AtomicU32)).store(ObjectKind::Array as u32, Ordering::Relaxed);
            (*(h.add(4) as *const std::sync::atomic::AtomicU32)).store(8, Ordering::Relaxed);
            (*(h.add(8) as *const std::sync::atomic::AtomicU32)).store(8, Ordering::Relaxed);
            (*(h.add(24) as *const std::sync::atomic::AtomicU64)).store(shape.fingerprint, Ordering::Relaxed);
        }
    }
    for shape in [
        Shape::of::<u64>(ObjectKind::Array, usize::MAX),
        Shape::of::<u64>(ObjectKind::Value, 1),
    ] {
        let Ok(len) = Object::check(segment, shape) else {
            continue;
        };
        // The data fits: `len` elements from the data offset.
        assert!(len * 8 + crate::shared::object::data_offset(8) <= segment.payload_len());
        let Ok(att) = Attachment::claim_in(Arc::clone(segment), token) else {
            continue;
        };
        let obj = Arc::new(Object::from_parts(att, shape.kind, len));
        if shape.kind == ObjectKind::Array {
            let array = SharedArray::<u64>::from_object(obj);
            assert_eq!(array.len(), len);
            if let Ok(mut guard) = array.lock_timeout(Duration::ZERO) {
                let sum = guard.iter().fold(0u64, |a, b| a.wrapping_add(*b));
                if let Some(last) = guard.last_mut() {
                    *last = sum;
                }
            }
        } else {
            let value = SharedValue::<u64>::from_object(obj);
            if let Some(mut guard) = value.try_lock() {
                *guard = guard.wrapping_add(1);
            }
        }
        return;
    }
}

fn channel(segment: &Arc<Segment>, token: &Token, flags: u8) {
    let Ok(chan) = Chan::open(Arc::clone(segment)) else {
        return;
    };
    if flags & AS_SENDER == 0 {
        if let Ok(att) = Attachment::claim_in(Arc::clone(segment), token) {
            let rx = ShmReceiver::new(Arc::clone(&chan), att, flags & UNTRUSTED != 0);
            for _ in 0..4 {
                match rx.recv_frame(Wait::Never) {
                    Ok(f) => assert!(f.bytes().len() <= chan.geo.limit),
                    Err(_) => break,
                }
            }
            rx.wait_ready(Wait::Never);
        } else if let Ok(att) = Attachment::join(segment, ROLE_RECEIVER) {
            let rx = ShmReceiver::new(Arc::clone(&chan), att, false);
            let _ = rx.recv_frame(Wait::Never);
        }
    } else {
        let lane = usize::from(flags >> 3) % chan.geo.lanes;
        if let Ok(att) = Attachment::join(segment, ROLE_SENDER) {
            if let Ok(tx) = ShmSender::<Single>::new(Arc::clone(&chan), att, lane) {
                let _ = tx.send_bytes(&[7; 40], Wait::Never);
                let _ = tx.send_bytes(&vec![1; chan.geo.limit.min(1 << 16)], Wait::Never);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The committed seeds of the fuzz targets, replayed as tests (and
    //! under Miri, on heap segments).

    macro_rules! replay {
        ($($target:ident / $name:ident),* $(,)?) => {
            $(
                #[test]
                fn $name() {
                    super::$target(include_bytes!(concat!(
                        "../../fuzz/seeds/shm_",
                        stringify!($target),
                        "/",
                        stringify!($name)
                    )));
                }
            )*
        };
    }

    replay!(
        ring / legit_traffic,
        ring / tail_ahead,
        ring / wrap_record,
        ring / two_lanes_untrusted,
        ring / head_moved,
        mpmc / mpmc_traffic,
        mpmc / dead_writer,
        mpmc / positions_moved,
        mpmc / failed_sends,
        mpmc / last_position,
        segment / array,
        segment / value,
        segment / channel_receiver,
        segment / channel_sender,
        segment / garbage,
    );
}
