//! Orderly close and peer death.

use crate::{
    ChannelConfig, RecvTimeoutError, Transport,
    conformance::{
        drive::Drive,
        harness::{Harness, Mode, PEER_TIMEOUT, Role},
    },
};

use super::common::{Item, LONG, assert_disconnected, send_until_disconnected, unknown_role};

/// A child sends ten items and exits before the parent reads anything; the
/// parent still receives all ten, then `Disconnected`.
pub fn sender_drop_drains_then_disconnects<T: Transport, D: Drive<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, mut rx) = D::channel::<Item>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            peer.wait(PEER_TIMEOUT);
            for seq in 0..10 {
                D::recv(&mut rx)
                    .unwrap_or_else(|e| panic!("receiving buffered item {seq}: {e}"))
                    .assert_is(7, seq);
            }
            assert_disconnected(D::recv(&mut rx));
        }
        Role::Child("sender") => {
            let mut tx: D::Tx<Item> = h.endpoint("tx");
            for seq in 0..10 {
                D::send(&mut tx, Item::new(7, seq)).expect("sending");
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// A child receives one item and exits; the parent's sends then report
/// `Disconnected` in bounded time, and the process is not killed by it.
pub fn receiver_drop_disconnects_sender<T: Transport, D: Drive<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mut tx, rx) = D::channel::<Item>(&ChannelConfig::default());
            let peer = h.child("receiver").endpoint("rx", rx).spawn();
            D::send(&mut tx, Item::new(8, 0)).expect("sending the first item");
            assert_eq!(peer.wait(PEER_TIMEOUT), ["got 1"]);
            send_until_disconnected(8, |item, t| D::send_timeout(&mut tx, item, t));
        }
        Role::Child("receiver") => {
            let mut rx: D::Rx<Item> = h.endpoint("rx");
            D::recv(&mut rx)
                .expect("receiving the first item")
                .assert_is(8, 0);
            h.report("got 1");
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// A child sends without end; the parent kills it mid-stream. Every item
/// received is intact and in order, and then the parent sees
/// `Disconnected` in bounded time, never a hang.
pub fn peer_killed_while_sending<T: Transport, D: Drive<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if h.mode() == Mode::Thread {
                h.skip("peers are threads, which cannot be killed");
                return;
            }
            let (tx, mut rx) = D::channel::<Item>(&ChannelConfig::default());
            let mut peer = h.child("sender").endpoint("tx", tx).spawn();
            let mut seq = 0;
            while seq < 1000 {
                D::recv(&mut rx)
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(9, seq);
                seq += 1;
            }
            peer.kill();
            loop {
                match D::recv(&mut rx) {
                    Ok(item) => {
                        item.assert_is(9, seq);
                        seq += 1;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(e) => panic!("after the sender was killed: expected `Disconnected`, got: {e}"),
                }
            }
        }
        Role::Child("sender") => {
            let mut tx: D::Tx<Item> = h.endpoint("tx");
            for seq in 0.. {
                // The parent kills this process; a send error ends it early.
                if D::send(&mut tx, Item::new(9, seq)).is_err() {
                    break;
                }
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// A child receives without end; the parent kills it, then its sends report
/// `Disconnected` in bounded time.
pub fn peer_killed_while_receiving<T: Transport, D: Drive<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if h.mode() == Mode::Thread {
                h.skip("peers are threads, which cannot be killed");
                return;
            }
            let (mut tx, rx) = D::channel::<Item>(&ChannelConfig::default());
            let mut peer = h.child("receiver").endpoint("rx", rx).spawn();
            D::send(&mut tx, Item::new(10, 0)).expect("sending the first item");
            assert_eq!(peer.expect_report(LONG), "receiving");
            for seq in 1..100 {
                D::send(&mut tx, Item::new(10, seq)).expect("sending to a live receiver");
            }
            peer.kill();
            send_until_disconnected(10, |item, t| D::send_timeout(&mut tx, item, t));
        }
        Role::Child("receiver") => {
            let mut rx: D::Rx<Item> = h.endpoint("rx");
            D::recv(&mut rx)
                .expect("receiving the first item")
                .assert_is(10, 0);
            h.report("receiving");
            // Receive until killed (or, bounded, until nothing comes).
            while D::recv(&mut rx).is_ok() {}
        }
        Role::Child(other) => unknown_role(other),
    }
}
