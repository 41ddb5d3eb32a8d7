//! Owned values through the async API (a case of the async driver only;
//! order, integrity and sizes are the shared cases of
//! `transport_core::conformance`).

use transport_adapters::AsyncSender;
use transport_core::{
    ChannelConfig,
    conformance::{Harness, Item, PEER_TIMEOUT, Role},
};

use crate::util::{AsyncTransport, block_on, channel, expect_disconnected, unknown_role, within};

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
            let tx: AsyncSender<Item, T::Sender> = h.endpoint("tx");
            for seq in 0..3 {
                within("sending", tx.send(Item::new(20, seq)))
                    .await
                    .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}
