//! After `close()`, puts and gets say the queue is closed (not that the
//! other end went away), in the creating process and in any other.

mod common;

use common::{LONG, run_case, unknown_role};
use transport_core::{
    RecvTimeoutError, TryRecvError,
    conformance::{Harness, PEER_TIMEOUT, Role},
};
use transport_queue::Queue;

#[test]
fn closed_in_the_creating_process() {
    let q = transport_queue::Queue::<u64>::unbounded();
    let (tx, rx) = (q.sender(), q.receiver());
    q.put(1).expect("putting");
    q.close().expect("closing");
    let refused = q.put(2).expect_err("a put after close");
    assert!(refused.is_closed() && refused.is_disconnected(), "{refused:?}");
    assert_eq!(refused.to_string(), "sending on a channel that was closed");
    assert!(tx.try_send(3).expect_err("a send after close").is_closed());
    assert_eq!(q.get().expect("what was put before").to_native(), 1);
    let drained = q.get().expect_err("a get of a closed, empty queue");
    assert!(drained.is_closed() && drained.is_disconnected(), "{drained:?}");
    assert_eq!(
        drained.to_string(),
        "receiving on a channel that was closed and holds no message"
    );
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Closed)));
    assert!(matches!(rx.recv_timeout(LONG), Err(RecvTimeoutError::Closed)));
}

/// A queue with no sender left (and not closed) still says
/// `Disconnected`.
#[test]
fn disconnected_is_still_disconnected() {
    let q = transport_queue::Queue::<u64>::unbounded();
    let rx = q.receiver();
    drop(q);
    let e = rx.try_recv().expect_err("no sender is left");
    assert!(matches!(e, TryRecvError::Disconnected) && !e.is_closed());
}

/// A member's puts and gets after another process closed the queue.
#[test]
fn closed_in_another_process() {
    run_case("closed_in_another_process", |h: &Harness| match h.role() {
        Role::Parent => {
            let q = transport_queue::Queue::<u64>::unbounded();
            q.put(1).expect("putting");
            q.close().expect("closing");
            let child = h.child("member").endpoint("q", q.clone()).spawn();
            assert_eq!(child.wait(PEER_TIMEOUT), ["put: closed", "get: 1", "get: closed"]);
        }
        Role::Child("member") => {
            let q: Queue<u64> = h.endpoint("q");
            let refused = q.put(2).expect_err("a put after close");
            assert!(refused.is_closed(), "{refused:?}");
            h.report("put: closed");
            h.report(format!(
                "get: {}",
                q.get_timeout(LONG).expect("the item").to_native()
            ));
            let drained = q.get_timeout(LONG).expect_err("a closed, empty queue");
            assert!(matches!(drained, RecvTimeoutError::Closed), "{drained:?}");
            h.report("get: closed");
        }
        Role::Child(other) => unknown_role(other),
    });
}
