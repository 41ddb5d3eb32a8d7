//! Many producers, many consumers, through the async API.

use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, RawReceiver, RawSender, RecvError,
    conformance::{Harness, Item, PEER_TIMEOUT, Role},
};

use crate::util::{AsyncTransport, block_on, channel, expect_disconnected, unknown_role, within};

const PEERS: u32 = 4;
const PER_PRODUCER: u64 = 10_000;
const TO_CONSUMERS: u64 = 20_000;

/// Four children send 10,000 items each with `send().await`; the parent
/// receives all 40,000, each once, in order per producer.
pub fn many_producers<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            if !T::capabilities().multi_producer {
                h.skip("the backend is not multi-producer");
                return;
            }
            let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            let peers: Vec<_> = (0..PEERS)
                .map(|p| {
                    // Generic over every backend, so through the raw end,
                    // whose `try_clone` is there for all of them.
                    let tx = AsyncSender::<Item, _>::from_raw(
                        tx.get_ref()
                            .raw()
                            .try_clone()
                            .expect("a multi-producer sender clones"),
                    );
                    h.child("producer")
                        .endpoint("tx", tx)
                        .param("producer", p)
                        .spawn()
                })
                .collect();
            drop(tx);
            let mut next = vec![0u64; PEERS as usize];
            for n in 0..u64::from(PEERS) * PER_PRODUCER {
                let item = within("receiving", rx.recv())
                    .await
                    .unwrap_or_else(|e| panic!("receiving item {n} of all producers: {e}"));
                let p = item.producer.to_native();
                assert!(p < PEERS, "unknown producer {p}");
                item.assert_is(p, next[p as usize]);
                next[p as usize] += 1;
            }
            expect_disconnected(&mut rx).await;
            for peer in peers {
                peer.wait(PEER_TIMEOUT);
            }
        }),
        Role::Child("producer") => block_on(async {
            let mut tx: AsyncSender<Item, T::Sender> = h.endpoint("tx");
            let p: u32 = h.param("producer");
            for seq in 0..PER_PRODUCER {
                within("sending", tx.send(Item::new(p, seq)))
                    .await
                    .unwrap_or_else(|e| panic!("producer {p} sending item {seq}: {e}"));
            }
        }),
        Role::Child(other) => unknown_role(other),
    }
}

/// The parent sends 20,000 items to four consumer children that wait in
/// `recv().await`; every item goes to exactly one of them, in order.
pub fn many_consumers<T: AsyncTransport>(h: &Harness) {
    match h.role() {
        Role::Parent => block_on(async {
            if !T::capabilities().multi_consumer {
                h.skip("the backend is not multi-consumer");
                return;
            }
            let (mut tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            let peers: Vec<_> = (0..PEERS)
                .map(|_| {
                    let rx = AsyncReceiver::<Item, _>::from_raw(
                        rx.get_ref()
                            .raw()
                            .try_clone()
                            .expect("a multi-consumer receiver clones"),
                    );
                    h.child("consumer").endpoint("rx", rx).spawn()
                })
                .collect();
            drop(rx);
            for seq in 0..TO_CONSUMERS {
                within("sending", tx.send(Item::new(11, seq)))
                    .await
                    .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
            }
            drop(tx);
            let (mut count, mut sum) = (0u64, 0u64);
            for peer in peers {
                let report = peer.wait(PEER_TIMEOUT);
                let [line] = report.as_slice() else {
                    panic!("a consumer reported {report:?}")
                };
                let (c, s) = line.split_once(' ').expect("`count sum`");
                count += c.parse::<u64>().expect("a count");
                sum += s.parse::<u64>().expect("a sum");
            }
            assert_eq!(count, TO_CONSUMERS, "items received by all consumers");
            assert_eq!(
                sum,
                (0..TO_CONSUMERS).sum::<u64>(),
                "some item was lost or duplicated"
            );
        }),
        Role::Child("consumer") => block_on(async {
            let mut rx: AsyncReceiver<Item, T::Receiver> = h.endpoint("rx");
            let (mut count, mut sum, mut last) = (0u64, 0u64, None);
            loop {
                match within("receiving", rx.recv()).await {
                    Ok(item) => {
                        let seq = item.seq.to_native();
                        item.assert_is(11, seq);
                        assert!(last < Some(seq), "consumer saw item {seq} after {last:?}");
                        last = Some(seq);
                        count += 1;
                        sum += seq;
                    }
                    Err(RecvError::Disconnected) => break,
                    Err(e) => panic!("consumer receiving: {e}"),
                }
            }
            h.report(format!("{count} {sum}"));
        }),
        Role::Child(other) => unknown_role(other),
    }
}
