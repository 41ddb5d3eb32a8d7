//! Many producers, many consumers.

use crate::{
    ChannelConfig, Transport,
    conformance::{
        drive::Drive,
        harness::{Harness, PEER_TIMEOUT, Role},
    },
};

use super::common::{Item, assert_disconnected, recv_in_order_per_producer, unknown_role};

const PEERS: u32 = 4;
// Under Miri (`cargo xtask miri`, threads as peers) every step is
// interpreted: a few hundred items take the same paths.
const PER_PRODUCER: u64 = if cfg!(miri) { 250 } else { 10_000 };
const TO_CONSUMERS: u64 = if cfg!(miri) { 500 } else { 20_000 };

/// Four children send 10,000 items each into one channel; the parent
/// receives all 40,000, each once, in order per producer.
pub fn many_producers<T: Transport, D: Drive<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if !T::capabilities().multi_producer {
                h.skip("the backend is not multi-producer");
                return;
            }
            let (tx, mut rx) = D::channel::<Item>(&ChannelConfig::default());
            let peers: Vec<_> = (0..PEERS)
                .map(|p| {
                    let tx = D::try_clone_tx(&tx).expect("a multi-producer sender clones");
                    h.child("producer")
                        .endpoint("tx", tx)
                        .param("producer", p)
                        .spawn()
                })
                .collect();
            drop(tx);
            let next = recv_in_order_per_producer::<T, D>(&mut rx, PEERS, PER_PRODUCER, "producer");
            assert_disconnected(D::recv(&mut rx));
            for peer in peers {
                peer.wait(PEER_TIMEOUT);
            }
            assert!(next.iter().all(|&n| n == PER_PRODUCER));
        }
        Role::Child("producer") => {
            let mut tx: D::Tx<Item> = h.endpoint("tx");
            let p: u32 = h.param("producer");
            for seq in 0..PER_PRODUCER {
                D::send(&mut tx, Item::new(p, seq))
                    .unwrap_or_else(|e| panic!("producer {p} sending item {seq}: {e}"));
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// The parent sends 20,000 items to four consumer children; every item is
/// received by exactly one of them, and each sees its share in order.
pub fn many_consumers<T: Transport, D: Drive<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if !T::capabilities().multi_consumer {
                h.skip("the backend is not multi-consumer");
                return;
            }
            let (mut tx, rx) = D::channel::<Item>(&ChannelConfig::default());
            let peers: Vec<_> = (0..PEERS)
                .map(|_| {
                    let rx = D::try_clone_rx(&rx).expect("a multi-consumer receiver clones");
                    h.child("consumer").endpoint("rx", rx).spawn()
                })
                .collect();
            drop(rx);
            for seq in 0..TO_CONSUMERS {
                D::send(&mut tx, Item::new(11, seq)).unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
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
            let mut rx: D::Rx<Item> = h.endpoint("rx");
            let (mut sum, mut squares) = (0u64, 0u64);
            let mut last = None;
            let count = D::recv_until_disconnected(&mut rx, |item| {
                let seq = item.seq.to_native();
                item.assert_is(11, seq);
                assert!(last < Some(seq), "consumer saw item {seq} after {last:?}");
                last = Some(seq);
                sum = sum.wrapping_add(seq);
                squares = squares.wrapping_add(seq * seq);
            });
            h.report(format!("{count} {sum} {squares}"));
        }
        Role::Child(other) => unknown_role(other),
    }
}
