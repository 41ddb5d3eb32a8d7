//! One end shared by threads.

use std::{sync::Arc, thread};

use crate::{
    ChannelConfig, Sender, Transport,
    conformance::{
        blocking::Blocking,
        harness::{Harness, PEER_TIMEOUT, Role},
    },
};

use super::common::{Item, channel, expect_disconnected, recv_in_order_per_producer, unknown_role};

const THREADS: u32 = 8;
// Under Miri (`cargo xtask miri`, threads as peers) every step is
// interpreted: a few dozen items per thread take the same paths.
const PER_THREAD: u64 = if cfg!(miri) { 25 } else { 2_000 };

/// A child shares one sender among eight threads, as an
/// `Arc<Sender<T, _>>` (which compiles on every backend: every end is
/// `Sync`); the parent receives every thread's items once each, in the
/// order that thread sent them, and nothing more.
pub fn shared_sender<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, mut rx) = channel::<T, Item>(&ChannelConfig::default());
            let peer = h.child("threads").endpoint("tx", tx).spawn();
            let next = recv_in_order_per_producer::<T, Blocking>(&mut rx, THREADS, PER_THREAD, "thread");
            expect_disconnected(&rx);
            peer.wait(PEER_TIMEOUT);
            assert!(next.iter().all(|&n| n == PER_THREAD));
        }
        Role::Child("threads") => {
            let tx: Arc<Sender<Item, T::Sender>> = Arc::new(h.endpoint("tx"));
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let tx = Arc::clone(&tx);
                    thread::spawn(move || {
                        for seq in 0..PER_THREAD {
                            tx.send(Item::new(t, seq))
                                .unwrap_or_else(|e| panic!("thread {t} sending item {seq}: {e}"));
                        }
                    })
                })
                .collect();
            for (t, thread) in threads.into_iter().enumerate() {
                if thread.join().is_err() {
                    panic!("sending thread {t} panicked");
                }
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}
