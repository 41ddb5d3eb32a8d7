//! One async sender shared by tasks: the async form of the blocking
//! driver's `shared_sender`.

use std::sync::Arc;

use futures::future::join_all;
use transport_adapters::AsyncSender;
use transport_core::{
    ChannelConfig,
    backend::PollSend,
    conformance::{Harness, Item, PEER_TIMEOUT, Role, recv_in_order_per_producer},
};

use crate::{
    driver::Async,
    util::{AsyncTransport, block_on, channel, expect_disconnected, unknown_role, within},
};

const TASKS: u32 = 8;
const PER_TASK: u64 = 1_000;

/// A child shares one `AsyncSender` among eight tokio tasks on a runtime
/// of two threads, as an `Arc`, then among eight futures of one task, as
/// `&tx`. The channel is bounded where the backend bounds messages, so
/// tasks wait for room at the same time. The parent receives every task's
/// items once each, in the order that task sent them, and nothing more.
pub fn shared_sender<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let config = if T::capabilities().bounded {
                ChannelConfig::bounded(16)
            } else {
                ChannelConfig::default()
            };
            let (tx, mut rx) = channel::<T, Item>(&config);
            let peer = h.child("tasks").endpoint("tx", tx).spawn();
            let next = recv_in_order_per_producer::<T, Async>(&mut rx, 2 * TASKS, PER_TASK, "task");
            block_on(expect_disconnected(&mut rx));
            peer.wait(PEER_TIMEOUT);
            assert!(next.iter().all(|&n| n == PER_TASK));
        }
        Role::Child("tasks") => {
            let tx: Arc<AsyncSender<Item, T::Sender>> = Arc::new(h.endpoint("tx"));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime of two threads");
            runtime.block_on(async {
                let tasks: Vec<_> = (0..TASKS)
                    .map(|t| {
                        let tx = Arc::clone(&tx);
                        tokio::spawn(async move { send_items(&tx, t).await })
                    })
                    .collect();
                for (t, task) in tasks.into_iter().enumerate() {
                    within("a sending task", task)
                        .await
                        .unwrap_or_else(|e| panic!("sending task {t}: {e}"));
                }
                let tx = &*tx;
                join_all((TASKS..2 * TASKS).map(|t| send_items(tx, t))).await;
            });
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// Sends `PER_TASK` items of producer `t` through a shared `tx`.
async fn send_items<S: PollSend + Sync>(tx: &AsyncSender<Item, S>, t: u32) {
    for seq in 0..PER_TASK {
        within("sending", tx.send(Item::new(t, seq)))
            .await
            .unwrap_or_else(|e| panic!("task {t} sending item {seq}: {e}"));
    }
}
