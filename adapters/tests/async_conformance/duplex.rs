//! Two-way ends through `AsyncConnection`, both streaming at once (a case
//! of the async driver only; the other two-way cases are shared, in
//! `transport_core::conformance`).

use transport_adapters::AsyncConnection;
use transport_core::{
    ChannelConfig, Duplex,
    backend::{PollRecv, PollSend},
    conformance::{Harness, Item, PEER_TIMEOUT, Role},
};

use crate::util::{block_on, unknown_role, within};

/// A two-way backend the async API can drive.
pub trait AsyncDuplex: Duplex<End: PollSend + PollRecv> {}

impl<T: Duplex<End: PollSend + PollRecv>> AsyncDuplex for T {}

type End<T> = AsyncConnection<Item, Item, <T as Duplex>::End>;

fn pair<T: AsyncDuplex>() -> (End<T>, End<T>) {
    let (a, b) = T::duplex(&ChannelConfig::default())
        .unwrap_or_else(|e| panic!("creating a `{}` duplex pair: {e}", T::NAME));
    (AsyncConnection::from_raw(a), AsyncConnection::from_raw(b))
}

const STREAM: u64 = 20_000;

/// Both ends stream 20,000 items to each other at once, each end sending
/// from one task while another task receives on the same connection.
pub fn duplex_both_ways_at_once<T: AsyncDuplex>(h: &Harness) {
    async fn both_ways<E: PollSend + PollRecv + Sync>(
        end: &AsyncConnection<Item, Item, E>,
        out: u32,
        inn: u32,
    ) {
        let sending = async {
            for seq in 0..STREAM {
                within("sending", end.send(Item::new(out, seq)))
                    .await
                    .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
            }
        };
        let receiving = async {
            for seq in 0..STREAM {
                within("receiving", end.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(inn, seq);
            }
        };
        tokio::join!(sending, receiving);
    }
    match h.role() {
        Role::Parent => block_on(async {
            let (mine, theirs) = pair::<T>();
            let peer = h.child("other").endpoint("end", theirs).spawn();
            both_ways(&mine, 17, 18).await;
            drop(mine);
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("streamed {STREAM}")]);
        }),
        Role::Child("other") => block_on(async {
            let end: End<T> = h.endpoint("end");
            both_ways(&end, 18, 17).await;
            h.report(format!("streamed {STREAM}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}
