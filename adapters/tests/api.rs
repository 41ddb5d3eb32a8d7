//! The async API's own behaviour, in one process (on the `local` backend
//! and the chosen one):
//! the `Sink`'s one-item slot, several tasks waiting on one connection,
//! and trait objects.

use std::{pin::pin, process::Command, task::Poll, time::Duration};

use futures::{Sink, SinkExt, StreamExt, poll};
use transport_adapters::{AsyncConnection, AsyncReceiver, AsyncSend, AsyncSender};
use transport_core::{Handoff, HandoffError, TrySendError, local};

const LIMIT: Duration = Duration::from_secs(60);

#[path = "support/chosen.rs"]
mod support;
use support::{Chosen, ChosenDuplex};

/// Runs a test's body on a runtime, failing it after [`LIMIT`].
fn run(body: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            tokio::time::timeout(LIMIT, body)
                .await
                .expect("the test finished in time")
        });
}

#[test]
fn a_sink_item_that_finds_no_room_waits_in_the_slot_and_goes_first() {
    run(async {
        let (tx, rx) = local::bounded::<u64>(1).expect("a local channel");
        let (mut tx, mut rx) = (AsyncSender::from(tx), AsyncReceiver::from(rx));
        tx.send(0).await.expect("the channel has room for one");
        // `poll_ready` sees no slot in use; `start_send` finds the channel
        // full and keeps the item.
        let mut sink = pin!(&mut tx);
        assert!(matches!(
            poll!(futures::future::poll_fn(|cx| Sink::<u64>::poll_ready(
                sink.as_mut(),
                cx
            ))),
            Poll::Ready(Ok(()))
        ));
        Sink::<u64>::start_send(sink.as_mut(), 1).expect("the slot takes the item");
        assert!(
            poll!(futures::future::poll_fn(|cx| Sink::<u64>::poll_flush(
                sink.as_mut(),
                cx
            )))
            .is_pending()
        );
        // While the slot is in use, `try_send` reports `Full` rather than
        // overtake it, and a hand-off is refused.
        assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
        // Room: the slot's item goes out first, then the next.
        assert_eq!(*rx.recv().await.expect("the first item"), 0);
        SinkExt::<u64>::flush(&mut tx)
            .await
            .expect("flushing once there is room");
        assert_eq!(*rx.recv().await.expect("the slot's item"), 1);
        tx.send(2).await.expect("sending after the flush");
        let rest: Vec<u64> = rx
            .by_ref()
            .take(1)
            .map(|m| m.expect("an item").to_native())
            .collect()
            .await;
        assert_eq!(rest, [2]);
    });
}

#[test]
fn a_sender_holding_an_unflushed_item_is_not_handed_off() {
    run(async {
        let (tx, _rx) = local::bounded::<u64>(1).expect("a local channel");
        let mut tx = AsyncSender::from(tx);
        tx.send(0).await.expect("room for one");
        {
            let mut sink = pin!(&mut tx);
            Sink::<u64>::start_send(sink.as_mut(), 1).expect("the slot takes the item");
        }
        match tx.prepare(&mut Command::new("child")) {
            Err(HandoffError::Unsupported { what }) => assert!(what.contains("Sink item"), "{what}"),
            other => panic!("expected the hand-off to be refused, got {other:?}"),
        }
    });
}

#[test]
fn sink_errors_once_the_receiver_is_gone() {
    run(async {
        let (tx, rx) = local::unbounded::<u64>().expect("a local channel");
        let mut tx = AsyncSender::from(tx);
        drop(rx);
        let err = tx
            .send_all(&mut futures::stream::iter([Ok(1u64)]))
            .await
            .expect_err("no receiver");
        assert!(err.is_disconnected(), "{err}");
    });
}

#[test]
fn every_task_waiting_on_a_connection_is_woken() {
    run(async {
        // The chosen backend: a pipe end, say, wakes one task per direction
        // (the last to wait); the connection must wake all of them.
        let (a, b) = transport_adapters::duplex_on::<ChosenDuplex, u64, u64>(&Default::default())
            .expect("a two-way channel");
        let a = std::sync::Arc::new(AsyncConnection::from(a));
        let b = AsyncConnection::from(b);
        let (waiting_tx, mut waiting) = tokio::sync::mpsc::unbounded_channel();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let (a, waiting_tx) = (std::sync::Arc::clone(&a), waiting_tx.clone());
                tokio::spawn(async move {
                    let mut receiving = pin!(a.recv());
                    assert!(poll!(receiving.as_mut()).is_pending(), "nothing was sent yet");
                    waiting_tx.send(()).expect("the test waits for this");
                    receiving.await.expect("a message").to_native()
                })
            })
            .collect();
        for _ in 0..3 {
            waiting.recv().await.expect("each waiter says it waits");
        }
        // Not synchronisation: this only gives the three time to wait again
        // after their report, which is when a lost wake-up would show. A
        // correct connection passes however short it is.
        tokio::time::sleep(Duration::from_millis(50)).await;
        for n in [10, 20, 30] {
            b.send(n).await.expect("sending");
        }
        let mut got = Vec::new();
        for w in waiters {
            got.push(w.await.expect("every waiter was woken, none panicked"));
        }
        got.sort();
        assert_eq!(got, [10, 20, 30]);
    });
}

#[test]
fn senders_of_different_backends_behind_one_trait_object() {
    run(async {
        let (ltx, lrx) = local::unbounded::<u64>().expect("a local channel");
        let (ptx, prx) =
            transport_adapters::channel_on::<Chosen, u64>(&transport_core::ChannelConfig::unbounded())
                .expect("a channel of the chosen backend");
        let mut outs: Vec<Box<dyn AsyncSend<u64>>> =
            vec![Box::new(AsyncSender::from(ltx)), Box::new(AsyncSender::from(ptx))];
        for (i, out) in outs.iter_mut().enumerate() {
            out.send(i as u64)
                .await
                .expect("sending through the trait object");
        }
        assert_eq!(*lrx.recv_timeout(LIMIT).expect("local"), 0);
        assert_eq!(*prx.recv_timeout(LIMIT).expect("the chosen backend"), 1);
    });
}
