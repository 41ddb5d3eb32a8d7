//! Waiting on several receivers at once in async code, the async form of
//! `Select`: `futures::future::select_all` over the receive futures of
//! three receivers, each fed by a child process (the blocking driver's
//! `Select` cases are core's; `tests/select_async.rs` mixes backends).

use std::{future::Future, pin::Pin, time::Duration};

use futures::future::select_all;
use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, RecvError,
    conformance::{Harness, PEER_TIMEOUT, Role},
};

use crate::util::{AsyncTransport, block_on, channel, unknown_role, within};

/// How long the parent waits where no receiver may become ready.
const QUIET: Duration = Duration::from_millis(100);

/// The order the child is told to send in: receiver 1, 2, then 0.
const ORDER: [u32; 3] = [1, 2, 0];

/// What each receive future gives: its receiver's index and what it got.
type Waiting<'r> = Pin<Box<dyn Future<Output = (usize, Result<u32, RecvError>)> + Send + 'r>>;

/// One receive future per receiver, each knowing its index.
fn waiting<T: AsyncTransport>(rxs: &mut [AsyncReceiver<u32, T::Receiver>]) -> Vec<Waiting<'_>> {
    rxs.iter_mut()
        .enumerate()
        .map(|(i, rx)| -> Waiting<'_> { Box::pin(async move { (i, rx.recv_owned().await) }) })
        .collect()
}

/// Three receivers of one backend, their senders in a child told which to
/// send on. With nothing sent, waiting on all three ends at its timeout;
/// after each word, the receiver the child sent on is the one that
/// completes, with the child's message (the others' futures are dropped,
/// taking nothing). Once the child is gone, each receiver becomes ready
/// with its disconnect, in whatever order the backend notices.
pub fn select_receivers<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            let (txs, mut rxs): (Vec<_>, Vec<_>) = (0..3)
                .map(|_| channel::<T, u32>(&ChannelConfig::default()))
                .unzip();
            let (go, go_rx) = channel::<T, u32>(&ChannelConfig::default());
            let mut child = h.child("sender").endpoint("go", go_rx);
            for (i, tx) in txs.into_iter().enumerate() {
                child = child.endpoint(&format!("tx{i}"), tx);
            }
            let peer = child.spawn();
            let nothing = tokio::time::timeout(QUIET, select_all(waiting::<T>(&mut rxs)))
                .await
                .is_err();
            assert!(nothing, "a receiver was ready before anything was sent");
            for which in ORDER {
                within("telling the child", go.send(which))
                    .await
                    .expect("telling the child");
                let ((index, got), _, _) =
                    within("a ready receiver", select_all(waiting::<T>(&mut rxs))).await;
                assert_eq!(
                    index, which as usize,
                    "the receiver the child sent on is the ready one"
                );
                assert_eq!(got.expect("the child's message"), 100 + which);
            }
            drop(go);
            let mut left = waiting::<T>(&mut rxs);
            let mut gone = [false; 3];
            while !left.is_empty() {
                let ((index, got), _, rest) = within("a disconnect", select_all(left)).await;
                assert!(
                    matches!(got, Err(RecvError::Disconnected)),
                    "receiver {index}: expected `Disconnected`, got {got:?}"
                );
                gone[index] = true;
                left = rest;
            }
            assert_eq!(gone, [true; 3]);
            assert_eq!(peer.wait(PEER_TIMEOUT), ["sent 3"]);
        }),
        Role::Child("sender") => block_on(async {
            let txs: Vec<AsyncSender<u32, T::Sender>> =
                (0..3).map(|i| h.endpoint(&format!("tx{i}"))).collect();
            let mut go: AsyncReceiver<u32, T::Receiver> = h.endpoint("go");
            let mut sent = 0;
            loop {
                let which = match within("waiting for the word", go.recv()).await {
                    Ok(which) => which.to_native(),
                    Err(RecvError::Disconnected) => break,
                    Err(e) => panic!("waiting for the word: {e}"),
                };
                within("sending", txs[which as usize].send(100 + which))
                    .await
                    .expect("sending");
                sent += 1;
            }
            h.report(format!("sent {sent}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}
