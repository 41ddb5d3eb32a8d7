//! `Select` and `wait` over receivers of three backends at once (queue,
//! pipe, shared memory), with the senders in a child process: the readiness
//! of each backend wakes one blocking wait, with no thread per receiver.
#![cfg(all(feature = "queue", feature = "pipe", feature = "shm"))]

use std::time::Duration;

use transport_adapters::{Select, pipe, queue, shm, wait};
use transport_core::{
    RecvTimeoutError, Selectable,
    conformance::{Harness, PEER_TIMEOUT, Role, run},
};

const LONG: Duration = Duration::from_secs(60);

/// The order the child is told to send in: pipe, shared memory, queue.
const ORDER: [u32; 3] = [1, 2, 0];

fn mixed(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx_q, rx_q) = queue::unbounded::<u32>().expect("a queue");
            let (tx_p, rx_p) = pipe::unbounded::<u32>().expect("a pipe");
            let (tx_s, rx_s) = shm::unbounded::<u32>().expect("a shared-memory channel");
            let (go, go_rx) = queue::unbounded::<u32>().expect("the control queue");
            let peer = h
                .child("sender")
                .endpoint("q", tx_q)
                .endpoint("p", tx_p)
                .endpoint("s", tx_s)
                .endpoint("go", go_rx)
                .spawn();
            let mut sel = Select::new();
            assert_eq!(sel.recv(&rx_q), 0);
            assert_eq!(sel.recv(&rx_p), 1);
            assert_eq!(sel.recv(&rx_s), 2);
            for which in ORDER {
                go.send(which).expect("telling the child");
                let index = sel.ready_timeout(LONG).expect("a receiver becomes ready");
                assert_eq!(
                    index, which as usize,
                    "the receiver the child sent on is the ready one"
                );
                let got = match index {
                    0 => rx_q.recv_timeout(LONG).map(|m| m.to_native()),
                    1 => rx_p.recv_timeout(LONG).map(|m| m.to_native()),
                    _ => rx_s.recv_timeout(LONG).map(|m| m.to_native()),
                };
                assert_eq!(got.expect("the child's message"), 100 + which);
            }
            drop(go);
            peer.wait(PEER_TIMEOUT);
            // Every sender is gone now: each receiver becomes ready with
            // its disconnect, whatever backend noticed first.
            let all: [&dyn Selectable; 3] = [&rx_q, &rx_p, &rx_s];
            let mut gone = [false; 3];
            while gone.contains(&false) {
                let ready = wait(&all, Some(LONG)).expect("waiting on three backends");
                assert!(!ready.is_empty(), "no disconnect within {LONG:?}");
                for index in ready {
                    let result = match index {
                        0 => rx_q.recv_timeout(LONG).map(|m| m.to_native()),
                        1 => rx_p.recv_timeout(LONG).map(|m| m.to_native()),
                        _ => rx_s.recv_timeout(LONG).map(|m| m.to_native()),
                    };
                    match result {
                        Err(RecvTimeoutError::Disconnected) => gone[index] = true,
                        other => panic!("receiver {index}: expected `Disconnected`, got {other:?}"),
                    }
                }
            }
        }
        Role::Child("sender") => {
            let q: queue::Sender<u32> = h.endpoint("q");
            let p: pipe::Sender<u32> = h.endpoint("p");
            let s: shm::Sender<u32> = h.endpoint("s");
            let go: queue::Receiver<u32> = h.endpoint("go");
            loop {
                let which = match go.recv_timeout(LONG) {
                    Ok(which) => which.to_native(),
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(e) => panic!("waiting for the parent: {e}"),
                };
                let sent = match which {
                    0 => q.send(100 + which).map_err(|e| e.to_string()),
                    1 => p.send(100 + which).map_err(|e| e.to_string()),
                    _ => s.send(100 + which).map_err(|e| e.to_string()),
                };
                sent.expect("sending the message");
            }
        }
        Role::Child(other) => panic!("no child role `{other}`"),
    }
}

#[test]
fn select_across_three_backends() {
    run(
        transport_core::conformance::test_name(module_path!(), "select_across_three_backends"),
        "queue+pipe+shm",
        true,
        mixed,
    );
}
