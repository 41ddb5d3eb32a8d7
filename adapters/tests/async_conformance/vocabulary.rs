//! crossbeam's vocabulary through the async ends: deadlines, owned
//! streams, and how full a channel is (the async forms of the blocking
//! driver's cases of the same names).

use std::time::{Duration, Instant};

use futures::StreamExt;
use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, Occupancy, RecvError, RecvTimeoutError, SendTimeoutError,
    conformance::{FILL_LIMIT, Harness, Item, LONG, PEER_TIMEOUT, Role},
};

use crate::{
    driver::filled,
    util::{AsyncTransport, block_on, channel, unknown_role, within},
};

/// How long a case waits where nothing may arrive.
const QUIET: Duration = Duration::from_millis(100);

/// The parent waits with `recv_deadline` before the child, told to go,
/// sends five items: the waiting receive gets the first. `recv_timeout`
/// and `tokio::time::timeout` around `recv` get the next two,
/// `stream_owned` the last two as owned `Item`s, ending at the disconnect;
/// then `recv_deadline` and `recv_timeout` say `Disconnected`. On a
/// channel whose sender the parent keeps, `recv_deadline`, `recv_timeout`
/// and a `tokio::time::timeout` end with `Timeout` (on tokio's clock,
/// never before their time); items sent with `send_deadline` and
/// `send_timeout` come through `stream_owned`, and the rest through
/// `into_stream_owned` once the sender is gone.
pub fn deadlines_and_iterators<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            let (go, go_rx) = channel::<T, u64>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).endpoint("go", go_rx).spawn();
            let (first, told) = tokio::join!(rx.recv_deadline(Instant::now() + LONG), go.send(5));
            told.expect("telling the child to send");
            first.expect("the first item, waited for").assert_is(15, 0);
            rx.recv_timeout(LONG)
                .await
                .expect("the second item")
                .assert_is(15, 1);
            tokio::time::timeout(LONG, rx.recv())
                .await
                .expect("the third item within the timeout")
                .expect("the third item")
                .assert_is(15, 2);
            let rest: Vec<Item> = within(
                "the owned stream",
                rx.stream_owned().map(|item| item.expect("an item")).collect(),
            )
            .await;
            assert_eq!(
                rest,
                [Item::new(15, 3), Item::new(15, 4)],
                "the stream ends at the disconnect"
            );
            peer.wait(PEER_TIMEOUT);
            assert!(matches!(
                rx.recv_deadline(Instant::now() + LONG).await,
                Err(RecvTimeoutError::Disconnected)
            ));
            assert!(matches!(
                rx.recv_timeout(LONG).await,
                Err(RecvTimeoutError::Disconnected)
            ));
            drop(go);
            kept_sender::<T>().await;
        }),
        Role::Child("sender") => block_on(async {
            let tx: AsyncSender<Item, T::Sender> = h.endpoint("tx");
            let mut go: AsyncReceiver<u64, T::Receiver> = h.endpoint("go");
            let count = within("waiting for the word", go.recv())
                .await
                .expect("the word")
                .to_native();
            for seq in 0..count {
                within("sending", tx.send(Item::new(15, seq)))
                    .await
                    .expect("sending");
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// The part of [`deadlines_and_iterators`] on a channel whose sender the
/// parent keeps.
async fn kept_sender<T: AsyncTransport>() {
    let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
    assert!(matches!(
        rx.recv_deadline(Instant::now() + QUIET).await,
        Err(RecvTimeoutError::Timeout)
    ));
    assert!(matches!(
        rx.recv_timeout(QUIET).await,
        Err(RecvTimeoutError::Timeout)
    ));
    assert!(
        tokio::time::timeout(QUIET, rx.recv()).await.is_err(),
        "a message on an empty channel"
    );
    for seq in 0..2 {
        tx.send_deadline(Item::new(16, seq), Instant::now() + LONG)
            .await
            .expect("sending with a deadline");
    }
    tx.send_timeout(Item::new(16, 2), LONG)
        .await
        .expect("sending with a timeout");
    let first: Vec<Item> = within(
        "the owned stream",
        rx.stream_owned()
            .take(2)
            .map(|item| item.expect("an item"))
            .collect(),
    )
    .await;
    assert_eq!(first, [Item::new(16, 0), Item::new(16, 1)]);
    drop(tx);
    let rest: Vec<Item> = within(
        "the owned stream",
        rx.into_stream_owned()
            .map(|item| item.expect("an item"))
            .collect(),
    )
    .await;
    assert_eq!(
        rest,
        [Item::new(16, 2)],
        "`into_stream_owned` gives the rest, then ends at the disconnect"
    );
}

/// On a full bounded channel, `send_deadline` and `send_timeout` end with
/// `Timeout` and give the message back; given to a child that drains the
/// channel, a `send_deadline` that waits for room completes, and the child
/// gets every item once, in order.
pub fn send_deadline_full<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let Some(((tx, rx), mut sent)) = filled::<T>(h, 17, "the backend has no bounded channels") else {
                return;
            };
            assert!(sent >= 1, "a channel of capacity 4 took no message");
            // Room may still appear after `Full` without a receiver, where a
            // backend's own writer moves bytes on (a pipe's flusher hands
            // its backlog to the kernel): a send that gets in is counted,
            // and the next one tries, until one ends with `Timeout`.
            for by_deadline in [true, false] {
                loop {
                    assert!(sent < FILL_LIMIT, "a bounded channel never filled");
                    let item = Item::new(17, sent);
                    let result = if by_deadline {
                        tx.send_deadline(&item, Instant::now() + QUIET).await
                    } else {
                        tx.send_timeout(&item, QUIET).await
                    };
                    match result {
                        Ok(()) => sent += 1,
                        Err(SendTimeoutError::Timeout(back)) => {
                            assert_eq!(back, &item, "`Timeout` gives the message back");
                            break;
                        }
                        other => panic!("sending on a full channel: expected `Timeout`, got {other:?}"),
                    }
                }
            }
            let item = Item::new(17, sent);
            let peer = h.child("consumer").endpoint("rx", rx).spawn();
            tx.send_deadline(&item, Instant::now() + LONG)
                .await
                .expect("sending once the child drains");
            drop(tx);
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("received {}", sent + 1)]);
        }),
        Role::Child("consumer") => block_on(async {
            let mut rx: AsyncReceiver<Item, T::Receiver> = h.endpoint("rx");
            let mut seq = 0;
            while let Some(item) = within("receiving", rx.next()).await {
                item.unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(17, seq);
                seq += 1;
            }
            h.report(format!("received {seq}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// Where a backend counts messages, `len`, `capacity`, `is_empty` and
/// `is_full` of both async ends agree with what was sent and received; a
/// backend that cannot tell says `None` on every one.
pub fn occupancy<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let bounded = T::capabilities().bounded;
            let capacity = bounded.then_some(4);
            let config = capacity.map_or_else(ChannelConfig::default, ChannelConfig::bounded);
            let (tx, mut rx) = channel::<T, Item>(&config);
            let Some(empty) = tx.occupancy() else {
                assert_eq!(
                    (tx.len(), tx.capacity(), tx.is_empty(), tx.is_full()),
                    (None, None, None, None)
                );
                assert_eq!(
                    (rx.len(), rx.capacity(), rx.is_empty(), rx.is_full()),
                    (None, None, None, None)
                );
                h.skip("the backend does not count messages");
                return;
            };
            assert_eq!(empty, Occupancy::new(0, capacity));
            assert_eq!(rx.occupancy(), Some(empty));
            assert_eq!((tx.is_empty(), tx.is_full()), (Some(true), Some(false)));
            for seq in 0..3 {
                within("sending", tx.send(Item::new(18, seq)))
                    .await
                    .expect("sending");
            }
            assert_eq!((tx.len(), rx.len()), (Some(3), Some(3)));
            assert_eq!(rx.capacity(), capacity);
            assert_eq!(rx.is_empty(), Some(false));
            if bounded {
                within("sending", tx.send(Item::new(18, 3)))
                    .await
                    .expect("sending the fourth");
                assert_eq!((tx.is_full(), rx.is_full()), (Some(true), Some(true)));
            }
            within("receiving", rx.recv())
                .await
                .expect("receiving")
                .assert_is(18, 0);
            assert_eq!(rx.len(), Some(if bounded { 3 } else { 2 }));
            assert_eq!(tx.is_full(), Some(false));
            drop(tx);
            let left = if bounded { 3 } else { 2 };
            let rest = within("the rest", rx.stream_owned().count()).await;
            assert_eq!(rest, left);
            assert!(matches!(rx.recv().await, Err(RecvError::Disconnected)));
        }),
        Role::Child(other) => unknown_role(other),
    }
}
