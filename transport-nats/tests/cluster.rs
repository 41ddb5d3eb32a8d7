//! A three-node NATS cluster on this machine (loopback ports, routes
//! between them, JetStream with three replicas), and a 4 × 4 load test
//! across processes during which the stream leader's node is SIGKILLed.
//!
//! What it checks, with processed markers on ([`Options::deduplicate`]):
//! no message lost; no message stored twice (a publish whose answer was
//! lost is sent again with the same `Nats-Msg-Id`, and the stream keeps one
//! copy); no message handed to a consumer twice (an acknowledgement the
//! failover lost brings the message back, and its marker sends it away);
//! FIFO per producer for every first delivery; every consumer ends with
//! `Disconnected` once the channel is drained, never by waiting it out.
//! Two consumers acknowledge with `ack` (waiting for the server), two by
//! dropping their frames. It prints the numbers (run with `--nocapture`).

mod common;

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use transport_core::{
    Frame, RawReceiver, RawSender,
    conformance::{Harness, Item, PEER_TIMEOUT, Role},
};
use transport_nats::{Client, Delivery, NatsReceiver, NatsSender, Options, Sender, server::LocalServer};

use common::{run, server_available};

const PRODUCERS: u32 = 4;
const CONSUMERS: u32 = 4;
const PER_PRODUCER: u64 = 5_000;
/// How long a consumer waits for a message or `Disconnected` before the
/// test fails.
const QUIET: Duration = Duration::from_secs(150);

fn options() -> Options {
    Options::new(Delivery::AtLeastOnce)
        .replicas(3)
        .liveness(Duration::from_millis(500), Duration::from_secs(10))
        .outage_limit(Duration::from_secs(60))
        .ack_wait(Duration::from_secs(10))
        .max_deliver(100)
        .deduplicate(Duration::from_secs(600))
}

/// Makes the channel once the cluster's JetStream has a leader (a fresh
/// cluster answers "temporarily unavailable" for a few seconds).
fn channel(client: &Client, name: &str) -> (NatsSender, NatsReceiver) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match client.channel(name, &options()) {
            Ok(pair) => return pair,
            Err(e) if Instant::now() < deadline => {
                eprintln!("cluster not ready yet: {e}");
                // Asking again is the only way to learn the cluster is up.
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("the cluster never accepted the stream: {e}"),
        }
    }
}

/// The name of the server that leads the stream now.
fn leader(client: &Client, stream: &str) -> Option<String> {
    let js = client.nats().clone();
    let stream = stream.to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async move {
        let js = transport_nats::async_nats::jetstream::new(js);
        let mut s = js.get_stream(stream).await.ok()?;
        s.info().await.ok()?.cluster.as_ref()?.leader.clone()
    })
}

#[test]
fn cluster_node_killed_under_load() {
    if !server_available("cluster_node_killed_under_load") {
        return;
    }
    run("cluster_node_killed_under_load", |h| match h.role() {
        Role::Parent => parent(h),
        Role::Child("producer") => producer(h),
        Role::Child("consumer") => consumer(h),
        Role::Child(other) => panic!("no role {other}"),
    });
}

fn parent(h: &Harness) {
    let mut servers = LocalServer::cluster(3).expect("a three-node cluster");
    let urls: Vec<String> = servers.iter().map(LocalServer::url).collect();
    let client = Client::connect(&urls.join(",")).expect("connecting to the cluster");
    let (tx, rx) = channel(&client, "load");
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let tx = tx.try_clone().expect("a producer");
        producers.push(
            h.child("producer")
                .endpoint("tx", tx)
                .param("producer", p)
                .spawn(),
        );
    }
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|c| {
            h.child("consumer")
                .endpoint("rx", rx.try_clone().expect("a consumer"))
                .param("confirm", c % 2 == 0)
                .spawn()
        })
        .collect();
    drop((tx, rx));
    // Kill the stream leader's node once the first producer is halfway.
    assert_eq!(producers[0].expect_report(PEER_TIMEOUT), "halfway");
    let started = Instant::now();
    let leader = leader(&client, "TRANSPORT_load").expect("the stream has a leader");
    let victim = servers
        .iter_mut()
        .find(|s| s.name() == leader)
        .expect("the leader is one of ours");
    victim.kill();
    eprintln!("killed node {leader} (the stream leader) while the producers were halfway");
    for producer in producers {
        producer.wait(PEER_TIMEOUT);
    }
    let mut deliveries: Vec<(u32, u64, u64, u64)> = Vec::new();
    let (mut first_breaks, mut breaks, mut unconfirmed, mut skipped) = (0u64, 0u64, 0u64, 0u64);
    for consumer in consumers {
        let report = consumer.wait(PEER_TIMEOUT);
        for entry in report[0].split(';').filter(|e| !e.is_empty()) {
            let v: Vec<u64> = entry.split(':').map(|x| x.parse().expect("a number")).collect();
            deliveries.push((v[0] as u32, v[1], v[2], v[3]));
        }
        let counts: Vec<u64> = report[1]
            .split(' ')
            .map(|x| x.parse().expect("a number"))
            .collect();
        first_breaks += counts[0];
        breaks += counts[1];
        unconfirmed += counts[2];
        skipped += counts[3];
    }
    let mut handed: HashMap<(u32, u64), u64> = HashMap::new();
    let mut stored: HashMap<(u32, u64), HashSet<u64>> = HashMap::new();
    for &(p, seq, sseq, _) in &deliveries {
        *handed.entry((p, seq)).or_default() += 1;
        stored.entry((p, seq)).or_default().insert(sseq);
    }
    let lost = (0..PRODUCERS)
        .flat_map(|p| (0..PER_PRODUCER).map(move |s| (p, s)))
        .filter(|k| !handed.contains_key(k))
        .count();
    let duplicated: u64 = handed.values().map(|n| n - 1).sum();
    let stored_twice = stored.values().filter(|s| s.len() > 1).count();
    let again = deliveries.iter().filter(|d| d.3 > 1).count();
    eprintln!(
        "cluster load test: {} messages sent by {PRODUCERS} producers, node killed at halfway; \
         {} deliveries handed to {CONSUMERS} consumers: {lost} lost, {duplicated} duplicated, \
         {stored_twice} stored twice, {first_breaks} first deliveries out of order per producer \
         ({breaks} out of order in all, {again} deliveries counted as second or later ones by the \
         server), {skipped} deliveries not handed out (finished elsewhere by their processed markers, or \
         held unread past half the ack wait), {unconfirmed} \
         acknowledgements not confirmed, {:?} from the kill to the end",
        u64::from(PRODUCERS) * PER_PRODUCER,
        deliveries.len(),
        started.elapsed()
    );
    assert_eq!(lost, 0, "messages lost");
    assert_eq!(stored_twice, 0, "messages stored twice");
    assert_eq!(duplicated, 0, "messages handed to consumers twice");
    assert_eq!(first_breaks, 0, "first deliveries out of order per producer");
}

fn producer(h: &Harness) {
    let tx: Sender<Item> = Sender::from_raw(h.endpoint::<NatsSender>("tx"));
    let p: u32 = h.param("producer");
    for seq in 0..PER_PRODUCER {
        if seq == PER_PRODUCER / 2 {
            h.report("halfway");
        }
        tx.send(Item::new(p, seq))
            .unwrap_or_else(|e| panic!("producer {p} sending {seq}: {e}"));
    }
}

fn consumer(h: &Harness) {
    let rx: NatsReceiver = h.endpoint("rx");
    let confirm: bool = h.param("confirm");
    let mut log = String::new();
    let mut last: HashMap<u32, u64> = HashMap::new();
    let (mut first_breaks, mut breaks, mut unconfirmed) = (0u64, 0u64, 0u64);
    loop {
        let frame = match rx.recv_frame(transport_core::Wait::timeout(QUIET)) {
            Ok(frame) => frame,
            Err(transport_core::RawRecvError::Disconnected) => break,
            Err(e) => panic!("consumer: neither a message nor Disconnected within {QUIET:?}: {e:?}"),
        };
        let mut aligned = rkyv::util::AlignedVec::<16>::new();
        aligned.extend_from_slice(frame.bytes());
        let item = rkyv::access::<rkyv::Archived<Item>, rkyv::rancor::Error>(&aligned).expect("a valid item");
        let (p, seq) = (item.producer.to_native(), item.seq.to_native());
        item.assert_is(p, seq);
        let delivered = frame.delivered().expect("a delivery count");
        let sseq = frame.stream_sequence().expect("a stream sequence");
        if last.get(&p).is_some_and(|&l| seq < l) {
            breaks += 1;
            first_breaks += u64::from(delivered == 1);
        }
        last.insert(p, seq);
        log.push_str(&format!("{p}:{seq}:{sseq}:{delivered};"));
        if confirm {
            if let Err(e) = frame.ack() {
                eprintln!("{p}:{seq}: acknowledgement not confirmed: {e}");
                unconfirmed += 1;
            }
        } else {
            drop(frame);
        }
    }
    h.report(log);
    h.report(format!(
        "{first_breaks} {breaks} {unconfirmed} {}",
        rx.duplicates_skipped()
    ));
}
