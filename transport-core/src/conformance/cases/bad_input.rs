//! Over-limit messages and bytes that are not messages.

use crate::{
    ChannelConfig, RecvTimeoutError, SendError, Transport,
    conformance::{
        drive::Drive,
        harness::{Harness, PEER_TIMEOUT, Role},
    },
};

use super::common::{Blob, Probe, assert_disconnected, unknown_role};

const LIMIT: usize = 64 << 10;

/// A message past the size limit gives `TooLarge` with its length and the
/// limit, gives the message back, and leaves nothing in the channel, which
/// stays usable.
pub fn too_large<T: Transport, D: Drive<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mut tx, rx) = D::channel::<Blob>(&ChannelConfig::default().max_message_size(LIMIT));
            let peer = h.child("receiver").endpoint("rx", rx).spawn();
            let big = Blob::new(1, 100 << 10);
            match D::send(&mut tx, &big) {
                Err(SendError::TooLarge { msg, len, limit }) => {
                    assert!(std::ptr::eq(msg, &big), "the message is given back");
                    assert!(len > 100 << 10, "the reported length {len} is the archive's");
                    assert_eq!(limit, LIMIT);
                }
                Ok(()) => panic!("a {}-byte message went through a {LIMIT}-byte limit", 100 << 10),
                Err(e) => panic!("expected `TooLarge`, got: {e}"),
            }
            let raw = vec![0u8; LIMIT + 1];
            match D::send_bytes(&mut tx, &raw) {
                Err(SendError::TooLarge { len, limit, .. }) => assert_eq!((len, limit), (LIMIT + 1, LIMIT)),
                other => panic!("expected `TooLarge` for raw bytes, got: {:?}", other.err()),
            }
            // Exactly at the limit is allowed.
            D::send_bytes(&mut tx, &vec![7u8; LIMIT]).expect("a frame of exactly the limit");
            D::send(&mut tx, Blob::new(2, 1000)).expect("a small message after the failures");
            drop(tx);
            assert_eq!(
                peer.wait(PEER_TIMEOUT),
                [format!("{LIMIT} bytes"), "blob 2 of 1000 bytes".to_owned()]
            );
        }
        Role::Child("receiver") => {
            let mut rx: D::Rx<Blob> = h.endpoint("rx");
            let frame = D::recv_bytes(&mut rx).expect("receiving the frame at the limit");
            h.report(format!("{} bytes", crate::backend::Frame::bytes(&frame).len()));
            let blob = D::recv(&mut rx).expect("receiving the small blob");
            h.report(format!("blob {} of {} bytes", blob.salt, blob.data.len()));
            assert_disconnected(D::recv(&mut rx));
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// A small deterministic generator of test bytes (xorshift64*).
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn take(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Frames that are not messages: random bytes of many lengths drawn from
/// `seed` (a nonzero seed), then every truncation of a valid [`Probe`]
/// archive. The garbage-frame cases of the suite and of the async adapters
/// send these.
pub fn garbage(seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Bytes(seed);
    let mut frames: Vec<Vec<u8>> = (0..64).map(|i| rng.take((i * 37) % 400)).collect();
    let valid = rkyv::to_bytes::<rkyv::rancor::Error>(&Probe::sample()).expect("serializing the probe");
    frames.extend((0..valid.len()).map(|len| valid[..len].to_vec()));
    frames
}

/// The seeds of the garbage [`garbage_frames`] sends (once one per driver,
/// now both for both).
const SEEDS: [u64; 2] = [0x5EED_1234_ABCD_0001, 0x5EED_1234_ABCD_0002];

/// Random and truncated bytes given as frames are each rejected as
/// `Invalid`, with no panic, and a valid message after them arrives intact.
pub fn garbage_frames<T: Transport, D: Drive<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, mut rx) = D::channel::<Probe>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            for (i, frame) in SEEDS.into_iter().flat_map(garbage).enumerate() {
                match D::recv(&mut rx) {
                    Err(RecvTimeoutError::Invalid(e)) => assert_eq!(e.len(), frame.len()),
                    Ok(_) => panic!("garbage frame {i} ({} bytes) validated as a message", frame.len()),
                    Err(e) => panic!("garbage frame {i}: expected `Invalid`, got: {e}"),
                }
            }
            let probe = D::recv(&mut rx).expect("receiving the valid probe after the garbage");
            assert_eq!(probe.deserialize().expect("deserializing"), Probe::sample());
            assert_disconnected(D::recv(&mut rx));
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child("sender") => {
            let mut tx: D::Tx<Probe> = h.endpoint("tx");
            for frame in SEEDS.into_iter().flat_map(garbage) {
                D::send_bytes(&mut tx, &frame).expect("sending a garbage frame");
            }
            D::send(&mut tx, Probe::sample()).expect("sending the valid probe");
        }
        Role::Child(other) => unknown_role(other),
    }
}
