//! Order, integrity and sizes, through the async API.

use futures::{SinkExt, StreamExt, stream};
use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig,
    backend::Frame,
    conformance::{Blob, Harness, Item, PEER_TIMEOUT, Role, pattern},
};

use crate::util::{AsyncTransport, block_on, channel, expect_disconnected, unknown_role, within};

const FIFO_COUNT: u64 = 100_000;

/// A child sends 100,000 items with `send().await`; the parent receives
/// every one with `recv().await`, in order, then `Disconnected`.
pub fn fifo_from_child<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            let peer = h.child("producer").endpoint("tx", tx).spawn();
            for seq in 0..FIFO_COUNT {
                within("receiving", rx.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(1, seq);
            }
            expect_disconnected(&mut rx).await;
            peer.wait(PEER_TIMEOUT);
        }),
        Role::Child("producer") => block_on(async {
            let mut tx: AsyncSender<Item, T::Sender> = h.endpoint("tx");
            for seq in 0..FIFO_COUNT {
                within("sending", tx.send(Item::new(1, seq)))
                    .await
                    .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// The parent sends 100,000 items through the `Sink` (`send_all`); the
/// child reads them as a `Stream`, which ends when the parent is gone.
pub fn fifo_to_child<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (mut tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            let peer = h.child("consumer").endpoint("rx", rx).spawn();
            let mut items = stream::iter((0..FIFO_COUNT).map(|seq| Ok(Item::new(2, seq))));
            within("sending", tx.send_all(&mut items))
                .await
                .expect("sending every item");
            within("closing", SinkExt::<Item>::close(&mut tx))
                .await
                .expect("flushing");
            drop(tx);
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("received {FIFO_COUNT}")]);
        }),
        Role::Child("consumer") => block_on(async {
            let mut rx: AsyncReceiver<Item, T::Receiver> = h.endpoint("rx");
            let mut seq = 0;
            while let Some(item) = within("receiving", rx.next()).await {
                item.unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(2, seq);
                seq += 1;
            }
            assert_eq!(seq, FIFO_COUNT, "the stream ended early");
            h.report(format!("received {seq}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}

const SIZES: [usize; 4] = [0, 1, 64 << 10, 16 << 20];
const ARCHIVE_SLACK: usize = 4096;

/// A child sends blobs of 0 B, 1 B, 64 KiB and 16 MiB; the parent receives
/// each intact.
pub fn payload_sizes<T: AsyncTransport>(h: &Harness) {
    let limit = T::capabilities().max_message_size;
    let sizes: Vec<usize> = SIZES.into_iter().filter(|s| s + ARCHIVE_SLACK <= limit).collect();
    match h.role() {
        Role::Parent => block_on(async {
            if sizes.len() < SIZES.len() {
                h.skip(&format!("payloads above {limit} bytes (the backend's maximum)"));
            }
            let config = ChannelConfig::default().max_message_size((16 << 20) + ARCHIVE_SLACK);
            let (tx, mut rx) = channel::<T, Blob>(&config);
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            for (salt, &len) in sizes.iter().enumerate() {
                let blob = within("receiving", rx.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving the {len}-byte blob: {e}"));
                assert_eq!(blob.salt, salt as u64);
                assert!(
                    blob.data.as_slice() == pattern(salt as u64, len),
                    "the {len}-byte blob is corrupt"
                );
            }
            expect_disconnected(&mut rx).await;
            peer.wait(PEER_TIMEOUT);
        }),
        Role::Child("sender") => block_on(async {
            let mut tx: AsyncSender<Blob, T::Sender> = h.endpoint("tx");
            for (salt, &len) in sizes.iter().enumerate() {
                within("sending", tx.send(Blob::new(salt as u64, len)))
                    .await
                    .unwrap_or_else(|e| panic!("sending the {len}-byte blob: {e}"));
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// Raw frames through `send_bytes().await` and `recv_bytes().await`, the
/// empty one included, arrive byte for byte.
pub fn raw_bytes_roundtrip<T: AsyncTransport>(h: &Harness) {
    let frames: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![1, 2, 3],
        pattern(9, 1000),
        vec![],
        pattern(5, 70_000),
    ];
    match h.role() {
        Role::Parent => block_on(async {
            let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            for (i, expected) in frames.iter().enumerate() {
                let frame = within("receiving", rx.recv_bytes())
                    .await
                    .unwrap_or_else(|e| panic!("receiving raw frame {i}: {e}"));
                assert!(frame.bytes() == expected.as_slice(), "raw frame {i} differs");
            }
            expect_disconnected(&mut rx).await;
            peer.wait(PEER_TIMEOUT);
        }),
        Role::Child("sender") => block_on(async {
            let mut tx: AsyncSender<Item, T::Sender> = h.endpoint("tx");
            for (i, frame) in frames.iter().enumerate() {
                within("sending", tx.send_bytes(frame))
                    .await
                    .unwrap_or_else(|e| panic!("sending raw frame {i}: {e}"));
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// A child sends three items; the parent takes each as an owned `Item`
/// with `recv_owned().await`, then sees `Disconnected`.
pub fn owned_values<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            let peer = h.child("producer").endpoint("tx", tx).spawn();
            for seq in 0..3 {
                let item = within("receiving", rx.recv_owned())
                    .await
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"));
                assert_eq!(item, Item::new(20, seq));
            }
            expect_disconnected(&mut rx).await;
            peer.wait(PEER_TIMEOUT);
        }),
        Role::Child("producer") => block_on(async {
            let mut tx: AsyncSender<Item, T::Sender> = h.endpoint("tx");
            for seq in 0..3 {
                within("sending", tx.send(Item::new(20, seq)))
                    .await
                    .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}
