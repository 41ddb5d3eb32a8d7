//! The request/response shortcuts (see the crate docs, "Design"): a get in
//! the creating process that waits on the members' channels itself, and
//! messages to members sent at once by the thread that queued them.

mod common;

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use common::{LONG, run_case, unknown_role};
use transport_core::conformance::{Harness, Item, PEER_TIMEOUT, Role};
use transport_queue::{Queue, Receiver};

/// A get in the creating process that waits on the members' channels wakes
/// for items put by another thread of its own process. Each round a child
/// puts an item (which leaves the channels to the get it wakes, for its
/// next wait), then this process puts one while that next get waits on
/// them. A lost wake-up fails the get after [`LONG`].
#[test]
fn a_get_waiting_on_members_sees_local_puts() {
    run_case(
        "a_get_waiting_on_members_sees_local_puts",
        |h: &Harness| match h.role() {
            Role::Parent => {
                const ROUNDS: u64 = 300;
                let q = transport_queue::Queue::<Item>::unbounded();
                let go = transport_queue::Queue::<u64>::unbounded();
                let child = h
                    .child("member")
                    .endpoint("q", q.sender())
                    .endpoint("go", go.clone())
                    .spawn();
                let (got_tx, got_rx) = mpsc::channel();
                let getter = {
                    let q = q.clone();
                    thread::spawn(move || {
                        for seq in 0..2 * ROUNDS {
                            let item = q.get_timeout(LONG).expect("a get woken by a put");
                            assert_eq!(item.seq.to_native(), seq);
                            got_tx.send(seq).expect("telling the main thread");
                        }
                    })
                };
                for round in 0..ROUNDS {
                    go.put(2 * round).expect("asking the child to put");
                    assert_eq!(got_rx.recv_timeout(LONG).expect("the child's item"), 2 * round);
                    q.put(Item::new(9, 2 * round + 1)).expect("put");
                    assert_eq!(got_rx.recv_timeout(LONG).expect("the local item"), 2 * round + 1);
                }
                getter.join().expect("the getter");
                go.put(u64::MAX).expect("releasing the member");
                assert!(child.wait(PEER_TIMEOUT).is_empty());
            }
            Role::Child("member") => {
                let q: transport_queue::Sender<Item> = h.endpoint("q");
                let go: Queue<u64> = h.endpoint("go");
                loop {
                    let seq = go.get_timeout(LONG).expect("the parent's request").to_native();
                    if seq == u64::MAX {
                        break;
                    }
                    q.send(Item::new(9, seq)).expect("put");
                }
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// Puts spaced out in time are each sent to the member at once, by the
/// putting thread, while the member's kernel buffer surely has room. A
/// member that asked for many items and reads none must not make those
/// puts wait: past what it may have left unread they go to the member's
/// writer thread. Every item then arrives, once and in order.
#[test]
fn puts_never_wait_for_a_member_that_does_not_read() {
    run_case(
        "puts_never_wait_for_a_member_that_does_not_read",
        |h: &Harness| match h.role() {
            Role::Parent => {
                const ITEMS: u64 = 3000;
                let q: Queue<Vec<u8>> = Queue::<Vec<u8>>::builder()
                    .receiver_prefetch(100_000)
                    .build()
                    .expect("building");
                let go = transport_queue::Queue::<u64>::unbounded();
                let mut child = h
                    .child("reader")
                    .endpoint("q", q.receiver())
                    .endpoint("go", go.clone())
                    .spawn();
                q.put(vec![0; 1024]).expect("the first put");
                assert_eq!(child.expect_report(LONG), "took the first");
                // The child now reads nothing until told. The puts run on a
                // thread so that one that waits fails the test instead of
                // hanging it.
                let (done_tx, done_rx) = mpsc::channel();
                let tx = q.sender();
                thread::spawn(move || {
                    for seq in 1..=ITEMS {
                        let mut item = vec![0u8; 1024];
                        item[..8].copy_from_slice(&seq.to_le_bytes());
                        tx.send(item).expect("put");
                        // Space the puts out so each is sent at once rather
                        // than merged with the next (a burst).
                        let t = Instant::now();
                        while t.elapsed() < Duration::from_micros(10) {
                            std::hint::spin_loop();
                        }
                    }
                    done_tx.send(()).expect("done");
                });
                done_rx
                    .recv_timeout(LONG)
                    .expect("puts waited for a member that does not read");
                go.put(ITEMS).expect("go");
                assert_eq!(child.wait(PEER_TIMEOUT), [format!("read {ITEMS} in order")]);
            }
            Role::Child("reader") => {
                let rx: Receiver<Vec<u8>> = h.endpoint("q");
                let go: Queue<u64> = h.endpoint("go");
                rx.recv_timeout(LONG).expect("the first item");
                h.report("took the first");
                let n = go.get_timeout(LONG).expect("go").to_native();
                for seq in 1..=n {
                    let item = rx.recv_timeout(LONG).expect("an item");
                    let got = u64::from_le_bytes(item[..8].try_into().expect("8 bytes"));
                    assert_eq!(got, seq, "items in order");
                }
                h.report(format!("read {n} in order"));
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}
