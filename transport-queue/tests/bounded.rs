//! Bounded queues across processes.
//!
//! Issue 12, item 3: `bounded(n)` holds at most `n` items in flight end to
//! end when the receiver is in another process: a receiver's prefetch is
//! clamped to the capacity and counts against it, and a killed receiver
//! loses at most that many (the crate docs' "Crashes" table).
//!
//! `Queue::full()` (Python's) says whether the queue holds its bound, in
//! the creating process and in a member that fills it.

mod common;

use common::{LONG, run_case, unknown_role};
use transport_core::{
    RecvTimeoutError,
    conformance::{Harness, Item, PEER_TIMEOUT, Role},
};
use transport_queue::Queue;

const CAPACITY: usize = 4;

#[test]
fn prefetch_counts_against_the_capacity() {
    run_case("prefetch_counts_against_the_capacity", |h: &Harness| {
        match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<Item>::bounded(CAPACITY).expect("a bounded queue");
                let idle = transport_queue::Queue::<Item>::unbounded();
                let mut child = h
                    .child("receiver")
                    .endpoint("rx", q.receiver())
                    .endpoint("idle", idle.clone())
                    .spawn();
                q.put(Item::new(1, 0)).expect("the first item");
                assert_eq!(child.expect_report(LONG), "took 0");
                // One item left the queue for good: at most CAPACITY more may be
                // in flight (in the queue, or held by the receiver).
                let mut accepted = 0u64;
                while accepted < 300 && q.try_put(Item::new(1, accepted + 1)).is_ok() {
                    accepted += 1;
                }
                assert!(
                    accepted as usize <= CAPACITY,
                    "{accepted} items went into a queue bounded to {CAPACITY} while one receiver held its prefetch"
                );
                // The receiver is killed holding what it took ahead: it loses at
                // most the capacity.
                child.kill();
                let rx = q.receiver();
                drop(q);
                drop(idle);
                let mut left = 0u64;
                loop {
                    match rx.recv_timeout(LONG) {
                        Ok(_) => left += 1,
                        Err(RecvTimeoutError::Disconnected) => break,
                        Err(e) => panic!("draining: {e}"),
                    }
                }
                let lost = accepted - left;
                assert!(
                    lost as usize <= CAPACITY,
                    "a killed receiver lost {lost} items, at most {CAPACITY} may be"
                );
            }
            Role::Child("receiver") => {
                let rx: transport_queue::Receiver<Item> = h.endpoint("rx");
                let idle: Queue<Item> = h.endpoint("idle");
                let first = rx.recv_timeout(LONG).expect("the first item");
                h.report(format!("took {}", first.seq.to_native()));
                let _ = idle.get();
            }
            Role::Child(other) => unknown_role(other),
        }
    });
}

/// A member fills a bounded queue and sees it full; the creating process
/// sees it full too, and not full once it took an item. An unbounded
/// queue is never full.
#[test]
fn full_says_when_the_queue_holds_its_bound() {
    run_case(
        "full_says_when_the_queue_holds_its_bound",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = Queue::<Item>::bounded(CAPACITY).expect("a bounded queue");
                let unbounded = Queue::<Item>::unbounded();
                assert!(!q.full().expect("full"));
                let child = h
                    .child("filler")
                    .endpoint("q", q.clone())
                    .endpoint("unbounded", unbounded.clone())
                    .spawn();
                let reports = child.wait(PEER_TIMEOUT);
                assert_eq!(reports, ["full"], "the member's reports");
                assert!(q.full().expect("full"), "after the member's puts");
                assert_eq!(q.len().expect("len"), CAPACITY);
                q.get_timeout(LONG).expect("an item").assert_is(2, 0);
                assert!(!q.full().expect("full"), "after a get");
                assert_eq!(unbounded.len().expect("len"), 2 * CAPACITY);
                assert!(!unbounded.full().expect("full"));
            }
            Role::Child("filler") => {
                let q: Queue<Item> = h.endpoint("q");
                let unbounded: Queue<Item> = h.endpoint("unbounded");
                for seq in 0..CAPACITY as u64 {
                    assert!(!q.full().expect("full"), "before put {seq}");
                    q.put(Item::new(2, seq)).expect("a put");
                }
                assert!(q.full().expect("full"), "after {CAPACITY} puts");
                assert!(q.try_put(Item::new(2, 99)).is_err(), "a put into a full queue");
                for seq in 0..2 * CAPACITY as u64 {
                    unbounded.put(Item::new(3, seq)).expect("a put");
                    assert!(!unbounded.full().expect("full"));
                }
                h.report("full");
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}
