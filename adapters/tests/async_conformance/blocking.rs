//! Back-pressure through the async API (a case of the async driver only;
//! non-blocking calls and timeouts are the shared cases of
//! `transport_core::conformance`).

use transport_adapters::AsyncReceiver;
use transport_core::conformance::{Harness, Item, PEER_TIMEOUT, Role};

use crate::{
    driver::filled,
    util::{AsyncTransport, block_on, unknown_role, within},
};

/// On a full bounded channel, `send().await` waits (back-pressure) instead
/// of failing, and completes once a consumer in another process drains;
/// nothing is lost or reordered.
pub fn send_waits_for_room<T: AsyncTransport>(h: &Harness) {
    const MORE: u64 = 2000;
    match h.role() {
        Role::Parent => block_on(async {
            let Some(((tx, rx), filled)) = filled::<T>(h, 4, "the backend has no bounded channels") else {
                return;
            };
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
