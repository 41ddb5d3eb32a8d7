//! Bounded puts, non-blocking gets and timeouts from a process other than
//! the creator (the conformance suite runs those cases in the creator).

mod common;

use std::time::{Duration, Instant};

use common::{LONG, run_case, unknown_role};
use transport_core::{
    SendTimeoutError, TryRecvError, TrySendError,
    conformance::{Harness, Item, PEER_TIMEOUT, Role},
};
use transport_queue::Queue;

#[test]
fn bounded_from_a_child() {
    run_case("bounded_from_a_child", |h: &Harness| match h.role() {
        Role::Parent => {
            let q = transport_queue::Queue::<Item>::bounded(2).expect("a bounded queue");
            let mut child = h.child("producer").endpoint("q", q.clone()).spawn();
            assert_eq!(child.expect_report(LONG), "full after 2");
            assert_eq!(q.len().expect("len"), 2);
            q.get_timeout(LONG).expect("taking one").assert_is(8, 0);
            assert_eq!(child.wait(PEER_TIMEOUT), ["blocking put went in"]);
            for seq in 1..3 {
                q.get_timeout(LONG).expect("taking").assert_is(8, seq);
            }
            assert!(q.is_empty().expect("is_empty"));
        }
        Role::Child("producer") => {
            let q: Queue<Item> = h.endpoint("q");
            assert!(matches!(q.try_get(), Err(TryRecvError::Empty)));
            let start = Instant::now();
            assert!(q.get_timeout(Duration::from_millis(50)).unwrap_err().is_timeout());
            assert!(
                start.elapsed() >= Duration::from_millis(50),
                "get_timeout returned early"
            );
            let mut seq = 0;
            loop {
                match q.try_put(Item::new(8, seq)) {
                    Ok(()) => seq += 1,
                    Err(TrySendError::Full(item)) => {
                        assert_eq!(item, Item::new(8, seq), "`Full` gives the item back");
                        break;
                    }
                    Err(e) => panic!("try_put: {e}"),
                }
            }
            let start = Instant::now();
            match q.put_timeout(Item::new(8, seq), Duration::from_millis(50)) {
                Err(SendTimeoutError::Timeout(item)) => assert_eq!(item, Item::new(8, seq)),
                other => panic!("put_timeout on a full queue: {:?}", other.err()),
            }
            assert!(
                start.elapsed() >= Duration::from_millis(50),
                "put_timeout returned early"
            );
            h.report(format!("full after {seq}"));
            // Waits until the parent takes one.
            q.put(Item::new(8, seq)).expect("a blocking put");
            h.report("blocking put went in");
        }
        Role::Child(other) => unknown_role(other),
    });
}
