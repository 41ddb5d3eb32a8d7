//! Order, integrity and sizes (cases both drivers run).

use crate::{
    ChannelConfig, Frame, Transport,
    conformance::{
        drive::Drive,
        harness::{Harness, PEER_TIMEOUT, Role},
    },
};

use super::common::{Blob, Item, assert_disconnected, pattern, unknown_role};

// Fewer under Miri, which interprets every step (`cargo xtask miri`).
const FIFO_COUNT: u64 = if cfg!(miri) { 1_000 } else { 100_000 };

/// A child sends 100,000 items; the parent receives every one, in order,
/// intact, then `Disconnected` once the child is gone.
pub fn fifo_from_child<T: Transport, D: Drive<T>>(h: &Harness) {
    fifo_from_child_of::<T, D>(h, FIFO_COUNT);
}

/// [`fifo_from_child`] with `count` items.
pub fn fifo_from_child_of<T: Transport, D: Drive<T>>(h: &Harness, count: u64) {
    match h.role() {
        Role::Parent => {
            let (tx, mut rx) = D::channel::<Item>(&ChannelConfig::default());
            let peer = h
                .child("producer")
                .endpoint("tx", tx)
                .param("count", count)
                .spawn();
            for seq in 0..count {
                D::recv(&mut rx)
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(1, seq);
            }
            assert_disconnected(D::recv(&mut rx));
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child("producer") => {
            let mut tx: D::Tx<Item> = h.endpoint("tx");
            let count: u64 = h.param("count");
            for seq in 0..count {
                D::send(&mut tx, Item::new(1, seq)).unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// The parent sends 100,000 items, all in one go (the async driver through
/// the `Sink`), then lets its sender go; the child receives every one, in
/// order (the async driver reading a `Stream`), then `Disconnected`, and
/// reports how many it got.
pub fn fifo_to_child<T: Transport, D: Drive<T>>(h: &Harness) {
    fifo_to_child_of::<T, D>(h, FIFO_COUNT);
}

/// [`fifo_to_child`] with `count` items.
pub fn fifo_to_child_of<T: Transport, D: Drive<T>>(h: &Harness, count: u64) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = D::channel::<Item>(&ChannelConfig::default());
            let peer = h
                .child("consumer")
                .endpoint("rx", rx)
                .param("count", count)
                .spawn();
            D::send_all(tx, (0..count).map(|seq| Item::new(2, seq)));
            let reports = peer.wait(PEER_TIMEOUT);
            assert_eq!(reports, [format!("received {count}")]);
        }
        Role::Child("consumer") => {
            let mut rx: D::Rx<Item> = h.endpoint("rx");
            let count: u64 = h.param("count");
            let mut seq = 0;
            let received = D::recv_until_disconnected(&mut rx, |item| {
                item.assert_is(2, seq);
                seq += 1;
            });
            assert_eq!(received, count, "items before `Disconnected`");
            h.report(format!("received {received}"));
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// The payload sizes every backend must carry (under Miri, which
/// interprets every byte's copy and check and whose clock runs with the
/// work done, 128 KiB instead of 16 MiB: 1 MiB outlasts the receive's
/// timeout there).
const SIZES: [usize; 4] = [0, 1, 64 << 10, if cfg!(miri) { 128 << 10 } else { 16 << 20 }];

/// Room for a blob's archive around its payload.
const ARCHIVE_SLACK: usize = 4096;

/// A child sends blobs of 0 B, 1 B, 64 KiB and 16 MiB; the parent receives
/// each intact.
pub fn payload_sizes<T: Transport, D: Drive<T>>(h: &Harness) {
    let limit = T::capabilities().max_message_size;
    let sizes: Vec<usize> = SIZES.into_iter().filter(|s| s + ARCHIVE_SLACK <= limit).collect();
    match h.role() {
        Role::Parent => {
            if sizes.len() < SIZES.len() {
                h.skip(&format!(
                    "payloads above {limit} bytes (the backend's maximum message size)"
                ));
            }
            let config = ChannelConfig::default().max_message_size((16 << 20) + ARCHIVE_SLACK);
            let (tx, mut rx) = D::channel::<Blob>(&config);
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            for (salt, &len) in sizes.iter().enumerate() {
                let blob = D::recv(&mut rx).unwrap_or_else(|e| panic!("receiving the {len}-byte blob: {e}"));
                assert_eq!(blob.salt, salt as u64);
                assert_eq!(blob.data.len(), len, "length of the {len}-byte blob");
                assert!(
                    blob.data.as_slice() == pattern(salt as u64, len),
                    "the {len}-byte blob is corrupt"
                );
            }
            assert_disconnected(D::recv(&mut rx));
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child("sender") => {
            let mut tx: D::Tx<Blob> = h.endpoint("tx");
            for (salt, &len) in sizes.iter().enumerate() {
                D::send(&mut tx, Blob::new(salt as u64, len))
                    .unwrap_or_else(|e| panic!("sending the {len}-byte blob: {e}"));
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// Raw frames (Python's `send_bytes`/`recv_bytes`), the empty one included,
/// arrive byte for byte.
pub fn raw_bytes_roundtrip<T: Transport, D: Drive<T>>(h: &Harness) {
    let frames: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![1, 2, 3],
        pattern(9, 1000),
        vec![],
        pattern(5, 70_000),
    ];
    match h.role() {
        Role::Parent => {
            let (tx, mut rx) = D::channel::<Item>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            for (i, expected) in frames.iter().enumerate() {
                let frame = D::recv_bytes(&mut rx).unwrap_or_else(|e| panic!("receiving raw frame {i}: {e}"));
                assert!(frame.bytes() == expected.as_slice(), "raw frame {i} differs");
            }
            assert_disconnected(D::recv(&mut rx));
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child("sender") => {
            let mut tx: D::Tx<Item> = h.endpoint("tx");
            for (i, frame) in frames.iter().enumerate() {
                D::send_bytes(&mut tx, frame).unwrap_or_else(|e| panic!("sending raw frame {i}: {e}"));
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}
