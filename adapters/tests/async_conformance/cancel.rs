//! Cancel safety: futures dropped while they wait lose nothing, duplicate
//! nothing and leave nothing half-sent.

use std::{pin::pin, task::Poll, time::Duration};

use futures::poll;
use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, RecvError,
    conformance::{FILL_LIMIT, Harness, Item, PEER_TIMEOUT, Role},
};

use crate::{
    driver::filled,
    util::{AsyncTransport, block_on, channel, expect_disconnected, unknown_role, within},
};

const ROUNDS: u64 = 300;

/// The parent receives item by item from a child that sends only when told
/// to. Before each item it drops a receive future that was polled (and so
/// registered with the backend) while the channel was empty, and one cut
/// short by a timeout; after telling the child to send, it races receives
/// against short timers, dropping the losers, possibly while the item is
/// in flight. Every item arrives exactly once, in order.
pub fn cancelled_recv_loses_nothing<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            let (go, go_rx) = channel::<T, u64>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).endpoint("go", go_rx).spawn();
            let mut dropped = 0u64;
            for seq in 0..ROUNDS {
                {
                    let mut waiting = pin!(rx.recv());
                    assert!(
                        poll!(waiting.as_mut()).is_pending(),
                        "item {seq} came before it was asked for"
                    );
                }
                assert!(
                    tokio::time::timeout(Duration::from_millis(1), rx.recv())
                        .await
                        .is_err(),
                    "item {seq} came before it was asked for"
                );
                dropped += 2;
                within("telling the child", go.send(seq))
                    .await
                    .expect("telling the child to send");
                let mut pause = Duration::from_micros(20 * (seq % 7));
                let item = loop {
                    match tokio::time::timeout(pause, rx.recv()).await {
                        Ok(item) => break item,
                        Err(_) => {
                            dropped += 1;
                            pause = (pause * 2).max(Duration::from_micros(50));
                            assert!(pause < Duration::from_secs(60), "item {seq} never came");
                        }
                    }
                };
                item.unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(20, seq);
            }
            drop(go);
            expect_disconnected(&mut rx).await;
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("sent {ROUNDS}")]);
            assert!(dropped >= 2 * ROUNDS);
        }),
        Role::Child("sender") => block_on(async {
            let tx: AsyncSender<Item, T::Sender> = h.endpoint("tx");
            let mut go: AsyncReceiver<u64, T::Receiver> = h.endpoint("go");
            let mut sent = 0;
            loop {
                match within("waiting for the word", go.recv()).await {
                    Ok(seq) => {
                        within("sending", tx.send(Item::new(20, seq.to_native())))
                            .await
                            .expect("sending");
                        sent += 1;
                    }
                    Err(RecvError::Disconnected) => break,
                    Err(e) => panic!("waiting for the word: {e}"),
                }
            }
            h.report(format!("sent {sent}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// On a full bounded channel, send futures are dropped while they wait:
/// first with nobody reading (each polled once, so registered with the
/// backend, then dropped), then while a consumer in another process drains
/// (every other wait is abandoned and retried). The consumer receives each
/// sequence number exactly once, in order and intact: a dropped send sent
/// nothing, not even part of its message.
pub fn cancelled_send_leaves_nothing<T: AsyncTransport>(h: &Harness) {
    const CANCELS: u64 = 50;
    const MORE: u64 = 2000;
    match h.role() {
        Role::Parent => block_on(async {
            let Some(((tx, rx), mut seq)) = filled::<T>(
                h,
                21,
                "the backend has no bounded channels, so a send never waits",
            ) else {
                return;
            };
            let mut cancelled = 0;
            while cancelled < CANCELS {
                let mut sending = pin!(tx.send(Item::new(21, seq)));
                match poll!(sending.as_mut()) {
                    // The backend found room after all (a writer thread
                    // drained): that one went in.
                    Poll::Ready(Ok(())) => seq += 1,
                    Poll::Ready(Err(e)) => panic!("sending item {seq}: {e}"),
                    Poll::Pending => cancelled += 1,
                }
                assert!(seq < FILL_LIMIT, "a bounded channel never filled");
            }
            let peer = h.child("consumer").endpoint("rx", rx).spawn();
            for n in 0..MORE {
                loop {
                    let mut sending = pin!(tx.send(Item::new(21, seq)));
                    match poll!(sending.as_mut()) {
                        Poll::Ready(result) => {
                            result.unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
                            break;
                        }
                        Poll::Pending if n % 2 == 0 => {
                            cancelled += 1;
                            tokio::task::yield_now().await;
                        }
                        Poll::Pending => {
                            within("sending", sending)
                                .await
                                .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
                            break;
                        }
                    }
                }
                seq += 1;
            }
            drop(tx);
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("received {seq}")]);
            assert!(cancelled >= CANCELS);
        }),
        Role::Child("consumer") => block_on(async {
            let mut rx: AsyncReceiver<Item, T::Receiver> = h.endpoint("rx");
            let mut seq = 0;
            loop {
                match within("receiving", rx.recv()).await {
                    Ok(item) => {
                        item.assert_is(21, seq);
                        seq += 1;
                    }
                    Err(RecvError::Disconnected) => break,
                    Err(e) => panic!("receiving item {seq}: {e}"),
                }
            }
            h.report(format!("received {seq}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}
