//! Back-pressure, non-blocking calls and timeouts, through the async API.

use std::time::{Duration, Instant};

use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError,
    backend::PollSend,
    conformance::{Harness, Item, PEER_TIMEOUT, Role},
};

use crate::util::{AsyncTransport, block_on, channel, expect_disconnected, unknown_role, within};

/// The most messages a case sends to fill a bounded channel before it
/// decides the channel never fills.
pub const FILL_LIMIT: u64 = 1_000_000;

/// Fills a bounded channel with `try_send` until it says `Full`; returns
/// how many went in.
pub fn fill<S: PollSend>(tx: &mut AsyncSender<Item, S>, producer: u32) -> u64 {
    for seq in 0..FILL_LIMIT {
        match tx.try_send(Item::new(producer, seq)) {
            Ok(()) => {}
            Err(TrySendError::Full(item)) => {
                assert_eq!(item, Item::new(producer, seq), "`Full` gives the message back");
                return seq;
            }
            Err(e) => panic!("filling the channel: {e}"),
        }
    }
    panic!("a bounded channel took {FILL_LIMIT} messages without filling up")
}

/// `try_recv` says `Empty` at once on an empty channel, a message sent
/// arrives through `recv().await`, and `Disconnected` follows the sender's
/// drop.
pub fn try_recv_empty<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (mut tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
            within("sending", tx.send(Item::new(3, 0)))
                .await
                .expect("sending one item");
            within("receiving", rx.recv())
                .await
                .expect("receiving the item")
                .assert_is(3, 0);
            assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
            drop(tx);
            expect_disconnected(&mut rx).await;
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// On a full bounded channel, `send().await` waits (back-pressure) instead
/// of failing, and completes once a consumer in another process drains;
/// nothing is lost or reordered.
pub fn send_waits_for_room<T: AsyncTransport>(h: &Harness) {
    const MORE: u64 = 2000;
    match h.role() {
        Role::Parent => block_on(async {
            if !T::capabilities().bounded {
                h.skip("the backend has no bounded channels");
                return;
            }
            let (mut tx, rx) = channel::<T, Item>(&ChannelConfig::bounded(4));
            let filled = fill(&mut tx, 4);
            assert!(filled >= 1, "a channel of capacity 4 took no message");
            let peer = h.child("consumer").endpoint("rx", rx).spawn();
            for seq in filled..filled + MORE {
                within("sending into a full channel", tx.send(Item::new(4, seq)))
                    .await
                    .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
            }
            drop(tx);
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("received {}", filled + MORE)]);
        }),
        Role::Child("consumer") => block_on(async {
            let mut rx: AsyncReceiver<Item, T::Receiver> = h.endpoint("rx");
            let mut seq = 0;
            loop {
                match within("receiving", rx.recv()).await {
                    Ok(item) => {
                        item.assert_is(4, seq);
                        seq += 1;
                    }
                    Err(transport_core::RecvError::Disconnected) => break,
                    Err(e) => panic!("receiving item {seq}: {e}"),
                }
            }
            h.report(format!("received {seq}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// `tokio::time::timeout` around `recv()` on an empty channel and around
/// `send()` on a full one ends in `Elapsed`, never before the time asked;
/// so do `recv_timeout` and `send_timeout`, which give the message back.
/// What the channel then holds is exactly what was sent before, in order.
pub fn timeouts<T: AsyncTransport>(h: &Harness) {
    const WAIT: Duration = Duration::from_millis(100);
    match h.role() {
        Role::Parent => block_on(async {
            let bounded = T::capabilities().bounded;
            let config = if bounded {
                ChannelConfig::bounded(4)
            } else {
                ChannelConfig::default()
            };
            let (mut tx, mut rx) = channel::<T, Item>(&config);
            let start = Instant::now();
            assert!(
                tokio::time::timeout(WAIT, rx.recv()).await.is_err(),
                "an empty channel gave something"
            );
            assert!(start.elapsed() >= WAIT, "timeout(recv) ended before its time");
            let start = Instant::now();
            assert!(matches!(
                rx.recv_timeout(WAIT).await,
                Err(RecvTimeoutError::Timeout)
            ));
            assert!(
                start.elapsed() >= WAIT,
                "recv_timeout returned before its timeout"
            );
            if !bounded {
                h.skip("timeouts of sends into a full channel: the backend has no bounded channels");
                return;
            }
            let mut seq = fill(&mut tx, 6);
            // A backend with a writer thread or read-ahead may find room
            // for a while after the first `Full`: send with a timeout until
            // one times out, which it must not do early.
            loop {
                let start = Instant::now();
                match tx.send_timeout(Item::new(6, seq), WAIT).await {
                    Err(SendTimeoutError::Timeout(item)) => {
                        assert_eq!(item, Item::new(6, seq), "`Timeout` gives the message back");
                        assert!(
                            start.elapsed() >= WAIT,
                            "send_timeout returned before its timeout"
                        );
                        break;
                    }
                    Ok(()) if seq < FILL_LIMIT => seq += 1,
                    Ok(()) => panic!("a bounded channel took {FILL_LIMIT} messages without filling up"),
                    Err(e) => panic!("send_timeout on a full channel: {e}"),
                }
            }
            let start = Instant::now();
            let cut = tokio::time::timeout(WAIT, tx.send(Item::new(66, 0))).await;
            let late = match cut {
                // The channel found room after all: that item went in.
                Ok(sent) => {
                    sent.expect("sending");
                    true
                }
                Err(_) => {
                    assert!(start.elapsed() >= WAIT, "timeout(send) ended before its time");
                    false
                }
            };
            // Exactly the items sent, in order; the timed-out ones are not
            // there, and nothing is half there.
            for n in 0..seq {
                within("receiving", rx.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving item {n}: {e}"))
                    .assert_is(6, n);
            }
            if late {
                within("receiving", rx.recv())
                    .await
                    .expect("the late item")
                    .assert_is(66, 0);
            }
            drop(tx);
            expect_disconnected(&mut rx).await;
        }),
        Role::Child(other) => unknown_role(other),
    }
}
