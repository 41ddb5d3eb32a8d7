//! The `Queue` (Python's `JoinableQueue`) across processes, and dead
//! letters.

mod common;

use std::time::Duration;

use transport_core::conformance::{Harness, LONG, PEER_TIMEOUT, Role};
use transport_nats::{Delivery, NatsFrame, Options, Queue, QueueError, Receiver, Sender};

use common::{client, run, server_available};

const STOP: u64 = u64::MAX;

fn name(h: &Harness, what: &str) -> String {
    let full = h.unique_name(what);
    let tail: String = full.chars().rev().take(50).collect();
    tail.chars().rev().collect()
}

/// A parent puts 200 jobs and a stop item per worker; three worker
/// processes get and mark each done; the parent's `join` returns once all
/// are done, and the queue is empty.
#[test]
fn joinable_queue_across_processes() {
    if !server_available("joinable_queue_across_processes") {
        return;
    }
    run("joinable_queue_across_processes", |h| match h.role() {
        Role::Parent => {
            let c = client();
            let name = name(h, "jobs");
            let options = Options::new(Delivery::AtLeastOnce);
            let jobs: Queue<u64> = c.queue(&name, &options).expect("the queue");
            let workers: Vec<_> = (0..3)
                .map(|_| {
                    let handle: Queue<u64> = c.queue(&name, &options).expect("a handle for a worker");
                    h.child("worker").endpoint("jobs", handle).spawn()
                })
                .collect();
            for job in 0..200u64 {
                jobs.put(job).expect("putting a job");
            }
            for _ in 0..3 {
                jobs.put(STOP).expect("putting a stop item");
            }
            jobs.join_timeout(LONG).expect("every job done");
            assert_eq!(jobs.len().expect("len"), 0);
            let mut sum = 0;
            for worker in workers {
                let report = worker.wait(PEER_TIMEOUT);
                sum += report[0].parse::<u64>().expect("a sum");
            }
            assert_eq!(sum, (0..200).sum::<u64>(), "every job once");
            assert!(matches!(jobs.task_done(), Err(QueueError::TooManyTaskDone)));
        }
        Role::Child("worker") => {
            let jobs: Queue<u64> = h.endpoint("jobs");
            let mut sum = 0;
            loop {
                let job = jobs.get_timeout(LONG).expect("a job").to_native();
                jobs.task_done().expect("marking it done");
                if job == STOP {
                    break;
                }
                sum += job;
            }
            h.report(sum);
        }
        Role::Child(other) => panic!("no role {other}"),
    });
}

/// A handle dropped with a job it took and did not finish gives it back at
/// once: another handle gets it (a second delivery).
#[test]
fn a_dropped_handle_gives_its_unfinished_job_back() {
    if !server_available("a_dropped_handle_gives_its_unfinished_job_back") {
        return;
    }
    let c = client();
    let options = Options::new(Delivery::AtLeastOnce);
    let first: Queue<String> = c.queue("giveback", &options).expect("a handle");
    let second: Queue<String> = c.queue("giveback", &options).expect("another handle");
    first.put("only".to_string()).expect("putting");
    let job = first.get_timeout(LONG).expect("taking it");
    assert_eq!(job.as_str(), "only");
    drop(job);
    drop(first);
    let again = second.get_timeout(LONG).expect("it comes back");
    assert_eq!(again.as_str(), "only");
    second.task_done().expect("done");
    second.join_timeout(LONG).expect("nothing left");
}

/// At most once there are no counts: `len`, `join` and `task_done` say so.
#[test]
fn counts_need_at_least_once() {
    if !server_available("counts_need_at_least_once") {
        return;
    }
    let q: Queue<u32> = client()
        .queue("amo", &Options::new(Delivery::AtMostOnce))
        .expect("a queue");
    q.put(5).expect("putting");
    assert_eq!(q.get_timeout(LONG).expect("getting").to_native(), 5);
    assert!(matches!(q.len(), Err(QueueError::NeedsAtLeastOnce { .. })));
    assert!(matches!(q.join(), Err(QueueError::NeedsAtLeastOnce { .. })));
    assert!(matches!(q.task_done(), Err(QueueError::NeedsAtLeastOnce { .. })));
}

/// A message refused `max_deliver` times goes to the dead-letter stream,
/// with its delivery count, and leaves the work queue.
#[test]
fn poison_messages_go_to_the_dead_letters() {
    if !server_available("poison_messages_go_to_the_dead_letters") {
        return;
    }
    let c = client();
    let options = Options::new(Delivery::AtLeastOnce).max_deliver(2);
    let (tx, rx) = c.channel("poison", &options).expect("channel");
    let (tx, rx): (Sender<String>, Receiver<String>) = (Sender::from_raw(tx), Receiver::from_raw(rx));
    tx.send("poison".to_string()).expect("sending");
    tx.send("fine".to_string()).expect("sending");
    let mut refused = 0;
    let mut fine = false;
    while !(fine && refused == 2) {
        let frame: NatsFrame = rx.recv_bytes_timeout(LONG).expect("a delivery");
        if transport_core::backend::Frame::bytes(&frame).starts_with(b"poison") {
            refused += 1;
            frame.nak();
        } else {
            fine = true;
            frame.ack().expect("acknowledging");
        }
    }
    // The dead letter is stored by whichever receiver got the advisory.
    let js = c.nats().clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let stored = rt.block_on(async move {
        let js = transport_nats::async_nats::jetstream::new(js);
        let deadline = tokio::time::Instant::now() + LONG;
        loop {
            let dead = js
                .get_stream("TRANSPORT_poison_DEAD")
                .await
                .expect("the dead-letter stream");
            if let Ok(message) = dead.get_raw_message(1).await {
                let work = js.get_stream("TRANSPORT_poison").await.expect("the work stream");
                return (message, work.cached_info().state.messages);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no dead letter within {LONG:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let (message, left) = stored;
    let payload = aligned(&message.payload);
    let archived = rkyv::access::<rkyv::Archived<String>, rkyv::rancor::Error>(&payload)
        .expect("the dead letter is the original message");
    assert_eq!(archived.as_str(), "poison");
    assert_eq!(
        message.headers.get("Transport-Deliveries").map(|v| v.as_str()),
        Some("2")
    );
    assert_eq!(left, 0, "the work queue is empty");
}

fn aligned(bytes: &[u8]) -> rkyv::util::AlignedVec<16> {
    let mut v = rkyv::util::AlignedVec::<16>::new();
    v.extend_from_slice(bytes);
    v
}
