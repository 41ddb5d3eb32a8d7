//! The load test: 4 producer processes × 4 consumer processes; every
//! message arrives exactly once, in order per producer.
//!
//! The total number of messages is `QUEUE_LOAD_MESSAGES` (default 200,000,
//! 30,000 on Windows, so `cargo test` stays quick); the release gate is
//! `QUEUE_LOAD_MESSAGES=1000000 cargo test --release -p transport-queue --test load`,
//! and the full `cargo xtask bench` runs it with 10,000,000.

mod common;

use common::{LONG, run_case, unknown_role};
use transport_core::{
    RecvTimeoutError,
    conformance::{Harness, Item, PEER_TIMEOUT, Role},
};

const PRODUCERS: u32 = 4;
const CONSUMERS: u32 = 4;

/// How long the parent waits for each child: the harness's bound, or
/// longer for a big run, at 500 messages a second at the least (a debug
/// build under Wine on a busy two-core machine moves about 1,500 a second,
/// every put a round trip through emulated named pipes).
fn peer_timeout() -> std::time::Duration {
    PEER_TIMEOUT.max(std::time::Duration::from_secs(total() / 500))
}

fn total() -> u64 {
    std::env::var("QUEUE_LOAD_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_TOTAL)
}

/// The default run: 200,000 messages, or 30,000 on Windows, where the
/// test matrix runs a debug build under Wine at about 1,500 messages a
/// second, so that the cell stays well within its time on a busy machine.
const DEFAULT_TOTAL: u64 = if cfg!(windows) { 30_000 } else { 200_000 };

/// What one consumer saw, per producer: count, sum and sum of squares of
/// the sequence numbers (wrapping).
fn parse(line: &str) -> Vec<[u64; 3]> {
    line.split(' ')
        .map(|part| {
            let v: Vec<u64> = part.split(',').map(|x| x.parse().expect("a number")).collect();
            [v[0], v[1], v[2]]
        })
        .collect()
}

#[test]
fn four_by_four() {
    run_case("four_by_four", |h: &Harness| match h.role() {
        Role::Parent => {
            let per_producer = total() / u64::from(PRODUCERS);
            let (tx, rx) = transport_queue::Builder::new()
                .build_channel()
                .expect("creating the queue");
            // Typed, as the children open them: a typed end opens only from
            // a token that names its message type.
            let tx = transport_queue::Sender::<Item>::from_raw(tx);
            let rx = transport_queue::Receiver::<Item>::from_raw(rx);
            let start = std::time::Instant::now();
            let consumers: Vec<_> = (0..CONSUMERS)
                .map(|_| h.child("consumer").endpoint("rx", rx.clone()).spawn())
                .collect();
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    h.child("producer")
                        .endpoint("tx", tx.clone())
                        .param("producer", p)
                        .param("count", per_producer)
                        .spawn()
                })
                .collect();
            drop((tx, rx));
            for p in producers {
                p.wait(peer_timeout());
            }
            let mut seen = vec![[0u64; 3]; PRODUCERS as usize];
            for c in consumers {
                let report = c.wait(peer_timeout());
                let [line] = report.as_slice() else {
                    panic!("a consumer reported {report:?}")
                };
                for (p, [n, s, q]) in parse(line).into_iter().enumerate() {
                    seen[p][0] += n;
                    seen[p][1] = seen[p][1].wrapping_add(s);
                    seen[p][2] = seen[p][2].wrapping_add(q);
                }
            }
            let expected = [
                per_producer,
                (0..per_producer).fold(0u64, |a, s| a.wrapping_add(s)),
                (0..per_producer).fold(0u64, |a, s| a.wrapping_add(s.wrapping_mul(s))),
            ];
            for (p, got) in seen.iter().enumerate() {
                assert_eq!(got[0], expected[0], "producer {p}: messages received");
                assert_eq!(
                    got[1..],
                    expected[1..],
                    "producer {p}: a message was lost or duplicated"
                );
            }
            eprintln!(
                "load: {} messages, {PRODUCERS} producers x {CONSUMERS} consumers, 0 lost, 0 duplicated, \
                 FIFO per producer, in {:?}",
                per_producer * u64::from(PRODUCERS),
                start.elapsed()
            );
        }
        Role::Child("producer") => {
            let tx: transport_queue::Sender<Item> = h.endpoint("tx");
            let p: u32 = h.param("producer");
            let count: u64 = h.param("count");
            for seq in 0..count {
                tx.send(Item::new(p, seq))
                    .unwrap_or_else(|e| panic!("producer {p} sending {seq}: {e}"));
            }
        }
        Role::Child("consumer") => {
            let rx: transport_queue::Receiver<Item> = h.endpoint("rx");
            let mut next = vec![0u64; PRODUCERS as usize];
            let mut stats = vec![[0u64; 3]; PRODUCERS as usize];
            loop {
                match rx.recv_timeout(LONG) {
                    Ok(item) => {
                        let (p, seq) = (item.producer.to_native(), item.seq.to_native());
                        item.assert_is(p, seq);
                        let p = p as usize;
                        assert!(seq >= next[p], "producer {p}: item {seq} after {}", next[p]);
                        next[p] = seq + 1;
                        stats[p][0] += 1;
                        stats[p][1] = stats[p][1].wrapping_add(seq);
                        stats[p][2] = stats[p][2].wrapping_add(seq.wrapping_mul(seq));
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(e) => panic!("consumer: {e}"),
                }
            }
            let parts: Vec<String> = stats.iter().map(|[n, s, q]| format!("{n},{s},{q}")).collect();
            h.report(parts.join(" "));
        }
        Role::Child(other) => unknown_role(other),
    });
}
