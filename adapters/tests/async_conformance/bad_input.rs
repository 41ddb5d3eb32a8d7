//! Over-limit messages and bytes that are not messages, through the async
//! API.

use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, RecvError, SendError,
    backend::Frame,
    conformance::{Blob, Harness, PEER_TIMEOUT, Probe, Role, garbage},
};

use crate::util::{AsyncTransport, block_on, channel, expect_disconnected, unknown_role, within};

const LIMIT: usize = 64 << 10;

/// A message past the limit gives `TooLarge` (with the message back) from
/// `send().await`, and leaves nothing in the channel, which stays usable.
pub fn too_large<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (mut tx, rx) = channel::<T, Blob>(&ChannelConfig::default().max_message_size(LIMIT));
            let peer = h.child("receiver").endpoint("rx", rx).spawn();
            let big = Blob::new(1, 100 << 10);
            match within("sending", tx.send(&big)).await {
                Err(SendError::TooLarge { msg, len, limit }) => {
                    assert!(std::ptr::eq(msg, &big), "the message is given back");
                    assert!(len > 100 << 10);
                    assert_eq!(limit, LIMIT);
                }
                Ok(()) => panic!("a {}-byte message went through a {LIMIT}-byte limit", 100 << 10),
                Err(e) => panic!("expected `TooLarge`, got: {e}"),
            }
            let raw = vec![0u8; LIMIT + 1];
            match within("sending", tx.send_bytes(&raw)).await {
                Err(SendError::TooLarge { len, limit, .. }) => assert_eq!((len, limit), (LIMIT + 1, LIMIT)),
                other => panic!("expected `TooLarge` for raw bytes, got: {:?}", other.err()),
            }
            within("sending", tx.send_bytes(&vec![7u8; LIMIT]))
                .await
                .expect("a frame of exactly the limit");
            within("sending", tx.send(Blob::new(2, 1000)))
                .await
                .expect("a small message after the failures");
            drop(tx);
            assert_eq!(
                peer.wait(PEER_TIMEOUT),
                [format!("{LIMIT} bytes"), "blob 2 of 1000 bytes".to_owned()]
            );
        }),
        Role::Child("receiver") => block_on(async {
            let mut rx: AsyncReceiver<Blob, T::Receiver> = h.endpoint("rx");
            let frame = within("receiving", rx.recv_bytes())
                .await
                .expect("the frame at the limit");
            h.report(format!("{} bytes", frame.bytes().len()));
            let blob = within("receiving", rx.recv()).await.expect("the small blob");
            h.report(format!("blob {} of {} bytes", blob.salt, blob.data.len()));
            expect_disconnected(&mut rx).await;
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// Random and truncated frames are each `Invalid` from `recv().await`, with
/// no panic, and a valid message after them arrives intact.
pub fn garbage_frames<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (tx, mut rx) = channel::<T, Probe>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            for (i, frame) in garbage(0x5EED_1234_ABCD_0002).iter().enumerate() {
                match within("receiving", rx.recv()).await {
                    Err(RecvError::Invalid(e)) => assert_eq!(e.len(), frame.len()),
                    Ok(_) => panic!("garbage frame {i} ({} bytes) validated as a message", frame.len()),
                    Err(e) => panic!("garbage frame {i}: expected `Invalid`, got: {e}"),
                }
            }
            let probe = within("receiving", rx.recv()).await.expect("the valid probe");
            assert_eq!(probe.deserialize().expect("deserializing"), Probe::sample());
            expect_disconnected(&mut rx).await;
            peer.wait(PEER_TIMEOUT);
        }),
        Role::Child("sender") => block_on(async {
            let mut tx: AsyncSender<Probe, T::Sender> = h.endpoint("tx");
            for frame in garbage(0x5EED_1234_ABCD_0002) {
                within("sending", tx.send_bytes(&frame))
                    .await
                    .expect("sending a garbage frame");
            }
            within("sending", tx.send(Probe::sample()))
                .await
                .expect("sending the probe");
        }),
        Role::Child(other) => unknown_role(other),
    }
}
