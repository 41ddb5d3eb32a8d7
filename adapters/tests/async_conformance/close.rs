//! Orderly close and peer death, through the async API.

use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, RecvError,
    conformance::{Harness, Item, Mode, PEER_TIMEOUT, Role},
};

use crate::util::{
    AsyncTransport, block_on, channel, expect_disconnected, send_until_disconnected, unknown_role, within,
};

/// A child sends ten items and exits before the parent reads anything; the
/// parent still receives all ten, then `Disconnected`.
pub fn sender_drop_drains_then_disconnects<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            peer.wait(PEER_TIMEOUT);
            for seq in 0..10 {
                within("receiving", rx.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving buffered item {seq}: {e}"))
                    .assert_is(7, seq);
            }
            expect_disconnected(&mut rx).await;
        }),
        Role::Child("sender") => block_on(async {
            let mut tx: AsyncSender<Item, T::Sender> = h.endpoint("tx");
            for seq in 0..10 {
                within("sending", tx.send(Item::new(7, seq)))
                    .await
                    .expect("sending");
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// A child receives one item and exits; the parent's async sends then
/// report `Disconnected` in bounded time.
pub fn receiver_drop_disconnects_sender<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (mut tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            let peer = h.child("receiver").endpoint("rx", rx).spawn();
            within("sending", tx.send(Item::new(8, 0)))
                .await
                .expect("sending the first item");
            assert_eq!(peer.wait(PEER_TIMEOUT), ["got 1"]);
            send_until_disconnected(8, async |item, t| tx.send_timeout(item, t).await).await;
        }),
        Role::Child("receiver") => block_on(async {
            let mut rx: AsyncReceiver<Item, T::Receiver> = h.endpoint("rx");
            within("receiving", rx.recv())
                .await
                .expect("receiving the first item")
                .assert_is(8, 0);
            h.report("got 1");
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// A child sends without end; the parent kills it mid-stream. Every item
/// received is intact and in order, then `Disconnected` comes in bounded
/// time.
pub fn peer_killed_while_sending<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            if h.mode() == Mode::Thread {
                h.skip("peers are threads, which cannot be killed");
                return;
            }
            let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            let mut peer = h.child("sender").endpoint("tx", tx).spawn();
            let mut seq = 0;
            while seq < 1000 {
                within("receiving", rx.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(9, seq);
                seq += 1;
            }
            peer.kill();
            loop {
                match within("receiving after the kill", rx.recv()).await {
                    Ok(item) => {
                        item.assert_is(9, seq);
                        seq += 1;
                    }
                    Err(RecvError::Disconnected) => break,
                    Err(e) => panic!("after the sender was killed: expected `Disconnected`, got: {e}"),
                }
            }
        }),
        Role::Child("sender") => block_on(async {
            let mut tx: AsyncSender<Item, T::Sender> = h.endpoint("tx");
            for seq in 0.. {
                if tx.send(Item::new(9, seq)).await.is_err() {
                    break;
                }
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// A child waits in `recv().await` without end; the parent kills it, then
/// its async sends report `Disconnected` in bounded time.
pub fn peer_killed_while_receiving<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            if h.mode() == Mode::Thread {
                h.skip("peers are threads, which cannot be killed");
                return;
            }
            let (mut tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            let mut peer = h.child("receiver").endpoint("rx", rx).spawn();
            within("sending", tx.send(Item::new(10, 0)))
                .await
                .expect("sending the first item");
            assert_eq!(peer.expect_report(transport_core::conformance::LONG), "receiving");
            for seq in 1..100 {
                within("sending", tx.send(Item::new(10, seq)))
                    .await
                    .expect("sending to a live receiver");
            }
            peer.kill();
            send_until_disconnected(10, async |item, t| tx.send_timeout(item, t).await).await;
        }),
        Role::Child("receiver") => block_on(async {
            let mut rx: AsyncReceiver<Item, T::Receiver> = h.endpoint("rx");
            within("receiving", rx.recv())
                .await
                .expect("receiving the first item")
                .assert_is(10, 0);
            h.report("receiving");
            while rx.recv().await.is_ok() {}
        }),
        Role::Child(other) => unknown_role(other),
    }
}
