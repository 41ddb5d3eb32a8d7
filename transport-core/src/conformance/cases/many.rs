//! Many producers, many consumers.

use crate::{
    ChannelConfig, RawReceiver, RawSender, Receiver, Sender, Transport,
    conformance::harness::{Harness, PEER_TIMEOUT, Role},
};

use super::common::{Item, LONG, channel, expect_disconnected, recv_in_order_per_producer, unknown_role};

const PEERS: u32 = 4;
// Under Miri (`cargo xtask miri`, threads as peers) every step is
// interpreted: a few hundred items take the same paths.
const PER_PRODUCER: u64 = if cfg!(miri) { 250 } else { 10_000 };
const TO_CONSUMERS: u64 = if cfg!(miri) { 500 } else { 20_000 };

/// Four children send 10,000 items each into one channel; the parent
/// receives all 40,000, each once, in order per producer.
pub fn many_producers<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if !T::capabilities().multi_producer {
                h.skip("the backend is not multi-producer");
                return;
            }
            let (tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            let peers: Vec<_> = (0..PEERS)
                .map(|p| {
                    // Generic over every backend, so through the raw end,
                    // whose `try_clone` is there for all of them.
                    let tx = Sender::<Item, _>::from_raw(
                        tx.raw().try_clone().expect("a multi-producer sender clones"),
                    );
                    h.child("producer")
                        .endpoint("tx", tx)
                        .param("producer", p)
                        .spawn()
                })
                .collect();
            drop(tx);
            let next = recv_in_order_per_producer(&rx, PEERS, PER_PRODUCER, "producer");
            expect_disconnected(&rx);
            for peer in peers {
                peer.wait(PEER_TIMEOUT);
            }
            assert!(next.iter().all(|&n| n == PER_PRODUCER));
        }
        Role::Child("producer") => {
            let tx: Sender<Item, T::Sender> = h.endpoint("tx");
            let p: u32 = h.param("producer");
            for seq in 0..PER_PRODUCER {
                tx.send(Item::new(p, seq))
                    .unwrap_or_else(|e| panic!("producer {p} sending item {seq}: {e}"));
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// The parent sends 20,000 items to four consumer children; every item is
/// received by exactly one of them, and each sees its share in order.
pub fn many_consumers<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if !T::capabilities().multi_consumer {
                h.skip("the backend is not multi-consumer");
                return;
            }
            let (tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            let peers: Vec<_> = (0..PEERS)
                .map(|_| {
                    let rx = Receiver::<Item, _>::from_raw(
                        rx.raw().try_clone().expect("a multi-consumer receiver clones"),
                    );
                    h.child("consumer").endpoint("rx", rx).spawn()
                })
                .collect();
            drop(rx);
            for seq in 0..TO_CONSUMERS {
                tx.send(Item::new(11, seq))
                    .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
            }
            drop(tx);
            let (mut count, mut sum, mut squares) = (0u64, 0u64, 0u64);
            for peer in peers {
                let report = peer.wait(PEER_TIMEOUT);
                let [line] = report.as_slice() else {
                    panic!("a consumer reported {report:?}")
                };
                let v: Vec<u64> = line.split(' ').map(|x| x.parse().expect("a number")).collect();
                count += v[0];
                sum = sum.wrapping_add(v[1]);
                squares = squares.wrapping_add(v[2]);
            }
            let expected_sum: u64 = (0..TO_CONSUMERS).sum();
            let expected_squares = (0..TO_CONSUMERS).fold(0u64, |a, s| a.wrapping_add(s * s));
            assert_eq!(count, TO_CONSUMERS, "items received by all consumers");
            assert_eq!(
                (sum, squares),
                (expected_sum, expected_squares),
                "some item was lost or duplicated"
            );
        }
        Role::Child("consumer") => {
            let rx: Receiver<Item, T::Receiver> = h.endpoint("rx");
            let (mut count, mut sum, mut squares) = (0u64, 0u64, 0u64);
            let mut last = None;
            loop {
                match rx.recv_timeout(LONG) {
                    Ok(item) => {
                        let seq = item.seq.to_native();
                        item.assert_is(11, seq);
                        assert!(last < Some(seq), "consumer saw item {seq} after {last:?}");
                        last = Some(seq);
                        count += 1;
                        sum = sum.wrapping_add(seq);
                        squares = squares.wrapping_add(seq * seq);
                    }
                    Err(crate::RecvTimeoutError::Disconnected) => break,
                    Err(e) => panic!("consumer receiving: {e}"),
                }
            }
            h.report(format!("{count} {sum} {squares}"));
        }
        Role::Child(other) => unknown_role(other),
    }
}
