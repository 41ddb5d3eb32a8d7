//! Over-limit messages and bytes that are not messages.

use crate::{
    ChannelConfig, Receiver, RecvTimeoutError, SendError, Sender, Transport,
    conformance::harness::{Harness, PEER_TIMEOUT, Role},
};

use super::common::{Blob, LONG, Probe, channel, expect_disconnected, unknown_role};

const LIMIT: usize = 64 << 10;

/// A message past the size limit gives `TooLarge` with its length and the
/// limit, gives the message back, and leaves nothing in the channel, which
/// stays usable.
pub fn too_large<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = channel::<T, Blob>(&ChannelConfig::default().max_message_size(LIMIT));
            let peer = h.child("receiver").endpoint("rx", rx).spawn();
            let big = Blob::new(1, 100 << 10);
            match tx.send(&big) {
                Err(SendError::TooLarge { msg, len, limit }) => {
                    assert!(std::ptr::eq(msg, &big), "the message is given back");
                    assert!(len > 100 << 10, "the reported length {len} is the archive's");
                    assert_eq!(limit, LIMIT);
                }
                Ok(()) => panic!("a {}-byte message went through a {LIMIT}-byte limit", 100 << 10),
                Err(e) => panic!("expected `TooLarge`, got: {e}"),
            }
            let raw = vec![0u8; LIMIT + 1];
            match tx.send_bytes(&raw) {
                Err(SendError::TooLarge { len, limit, .. }) => assert_eq!((len, limit), (LIMIT + 1, LIMIT)),
                other => panic!("expected `TooLarge` for raw bytes, got: {:?}", other.err()),
            }
            // Exactly at the limit is allowed.
            tx.send_bytes(&vec![7u8; LIMIT])
                .expect("a frame of exactly the limit");
            tx.send(Blob::new(2, 1000))
                .expect("a small message after the failures");
            drop(tx);
            assert_eq!(
                peer.wait(PEER_TIMEOUT),
                [format!("{LIMIT} bytes"), "blob 2 of 1000 bytes".to_owned()]
            );
        }
        Role::Child("receiver") => {
            let rx: Receiver<Blob, T::Receiver> = h.endpoint("rx");
            let frame = rx
                .recv_bytes_timeout(LONG)
                .expect("receiving the frame at the limit");
            h.report(format!("{} bytes", crate::backend::Frame::bytes(&frame).len()));
            let blob = rx.recv_timeout(LONG).expect("receiving the small blob");
            h.report(format!("blob {} of {} bytes", blob.salt, blob.data.len()));
            expect_disconnected(&rx);
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

/// Random and truncated bytes given as frames are each rejected as
/// `Invalid`, with no panic, and a valid message after them arrives intact.
pub fn garbage_frames<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = channel::<T, Probe>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            for (i, frame) in garbage(0x5EED_1234_ABCD_0001).iter().enumerate() {
                match rx.recv_timeout(LONG) {
                    Err(RecvTimeoutError::Invalid(e)) => assert_eq!(e.len(), frame.len()),
                    Ok(_) => panic!("garbage frame {i} ({} bytes) validated as a message", frame.len()),
                    Err(e) => panic!("garbage frame {i}: expected `Invalid`, got: {e}"),
                }
            }
            let probe = rx
                .recv_timeout(LONG)
                .expect("receiving the valid probe after the garbage");
            assert_eq!(probe.deserialize().expect("deserializing"), Probe::sample());
            expect_disconnected(&rx);
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child("sender") => {
            let tx: Sender<Probe, T::Sender> = h.endpoint("tx");
            for frame in garbage(0x5EED_1234_ABCD_0001) {
                tx.send_bytes(&frame).expect("sending a garbage frame");
            }
            tx.send(Probe::sample()).expect("sending the valid probe");
        }
        Role::Child(other) => unknown_role(other),
    }
}
