//! Waiting on receivers of three backends at once in async code (queue,
//! pipe, shared memory), the async form of `tests/select.rs`: one
//! `tokio::select!` over their receive futures, the senders in a child
//! process that sends through the async API too. The receive futures are
//! cancel-safe, so those that lose take nothing.
#![cfg(all(feature = "queue", feature = "pipe", feature = "shm"))]

use std::time::Duration;

use transport_adapters::{AsyncReceiver, AsyncSender, pipe, queue, shm};
use transport_core::{
    RecvError,
    conformance::{Harness, PEER_TIMEOUT, Role, run},
};

const LONG: Duration = Duration::from_secs(60);
/// How long the parent waits where no receiver may become ready.
const QUIET: Duration = Duration::from_millis(100);

/// The order the child is told to send in: pipe, shared memory, queue.
const ORDER: [u32; 3] = [1, 2, 0];

type Receivers = (
    AsyncReceiver<u32, queue::BackendReceiver>,
    AsyncReceiver<u32, pipe::BackendReceiver>,
    AsyncReceiver<u32, shm::BackendReceiver>,
);

/// Waits for the first of the three receivers that is ready (with a
/// message or a disconnect), among those `gone` does not mark: its index
/// and what it gave.
async fn first_ready(rxs: &mut Receivers, gone: [bool; 3]) -> (usize, Result<u32, RecvError>) {
    let (q, p, s) = rxs;
    tokio::select! {
        got = q.recv_owned(), if !gone[0] => (0, got),
        got = p.recv_owned(), if !gone[1] => (1, got),
        got = s.recv_owned(), if !gone[2] => (2, got),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn mixed(h: &Harness) {
    match h.role() {
        Role::Parent => runtime().block_on(async {
            let (tx_q, rx_q) = queue::unbounded::<u32>().expect("a queue");
            let (tx_p, rx_p) = pipe::unbounded::<u32>().expect("a pipe");
            let (tx_s, rx_s) = shm::unbounded::<u32>().expect("a shared-memory channel");
            let (go, go_rx) = queue::unbounded::<u32>().expect("the control queue");
            let go = AsyncSender::from(go);
            let peer = h
                .child("sender")
                .endpoint("q", AsyncSender::from(tx_q))
                .endpoint("p", AsyncSender::from(tx_p))
                .endpoint("s", AsyncSender::from(tx_s))
                .endpoint("go", AsyncReceiver::from(go_rx))
                .spawn();
            let mut rxs = (rx_q.into(), rx_p.into(), rx_s.into());
            let nothing = tokio::time::timeout(QUIET, first_ready(&mut rxs, [false; 3]))
                .await
                .is_err();
            assert!(nothing, "a receiver was ready before anything was sent");
            for which in ORDER {
                within("telling the child", go.send(which))
                    .await
                    .expect("telling the child");
                let (index, got) = within("a ready receiver", first_ready(&mut rxs, [false; 3])).await;
                assert_eq!(
                    index, which as usize,
                    "the receiver the child sent on is the ready one"
                );
                assert_eq!(got.expect("the child's message"), 100 + which);
            }
            drop(go);
            // Every sender goes with the child: each receiver becomes ready
            // with its disconnect, whatever backend notices first.
            let mut gone = [false; 3];
            while gone.contains(&false) {
                let (index, got) = within("a disconnect", first_ready(&mut rxs, gone)).await;
                assert!(
                    matches!(got, Err(RecvError::Disconnected)),
                    "receiver {index}: expected `Disconnected`, got {got:?}"
                );
                gone[index] = true;
            }
            assert_eq!(peer.wait(PEER_TIMEOUT), ["sent 3"]);
        }),
        Role::Child("sender") => runtime().block_on(async {
            let q: AsyncSender<u32, queue::BackendSender> = h.endpoint("q");
            let p: AsyncSender<u32, pipe::BackendSender> = h.endpoint("p");
            let s: AsyncSender<u32, shm::BackendSender> = h.endpoint("s");
            let mut go: AsyncReceiver<u32, queue::BackendReceiver> = h.endpoint("go");
            let mut sent = 0;
            loop {
                let which = match within("waiting for the parent", go.recv()).await {
                    Ok(which) => which.to_native(),
                    Err(RecvError::Disconnected) => break,
                    Err(e) => panic!("waiting for the parent: {e}"),
                };
                let message = 100 + which;
                let result = match which {
                    0 => within("sending", q.send(message))
                        .await
                        .map_err(|e| e.to_string()),
                    1 => within("sending", p.send(message))
                        .await
                        .map_err(|e| e.to_string()),
                    _ => within("sending", s.send(message))
                        .await
                        .map_err(|e| e.to_string()),
                };
                result.expect("sending the message");
                sent += 1;
            }
            h.report(format!("sent {sent}"));
        }),
        Role::Child(other) => panic!("no child role `{other}`"),
    }
}

/// Awaits `f`, failing the test if it takes longer than [`LONG`].
async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(LONG, f).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: nothing within {LONG:?}"),
    }
}

#[test]
fn select_async_across_three_backends() {
    run(
        transport_core::conformance::test_name(module_path!(), "select_async_across_three_backends"),
        "queue+pipe+shm",
        true,
        mixed,
    );
}
