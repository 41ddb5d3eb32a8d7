//! What a process killed with `SIGKILL` in the middle of traffic can lose
//! or leave, checked against the numbers the crate documents (see the
//! channel module's "Crashes" section):
//! - a killed producer loses no message whose send returned; only the one
//!   it was writing, if any, is missing;
//! - a killed consumer loses at most `capacity` messages per producer: the
//!   ones in its ring, counting those it had received and not yet dropped;
//! - either way the survivor gets `Disconnected`, and once it drops its end
//!   no segment is left.
//!
//! Each case runs several trials, killing at a random message.

#[path = "support/crash.rs"]
mod crash;

use std::sync::atomic::{AtomicU64, Ordering};

use transport_core::{
    SendTimeoutError,
    conformance::{Harness, LONG, Role},
};
use transport_shm::{
    SharedAtomic, ShmConfig,
    channel::{self, Receiver, Sender},
};

use crash::{assert_removed, drain, rng, until};

const TRIALS: u64 = 8;
const CAPACITY: usize = 16;

transport_core::cross_process_tests!("shm", cases;
    killed_producer_loses_no_returned_send,
    killed_consumer_loses_at_most_its_capacity
);

fn config() -> ShmConfig {
    ShmConfig::bounded(CAPACITY)
        .max_message_size(1024)
        .buffer_bytes(64 << 10)
}

mod cases {
    use super::*;

    pub fn killed_producer_loses_no_returned_send(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let mut rng = rng("crash_loss");
                for trial in 0..TRIALS {
                    let (tx, rx) = channel::channel::<u64>(&config()).expect("creating the channel");
                    let name = tx.raw().segment_name().to_owned();
                    let sent = SharedAtomic::new(AtomicU64::new(0)).expect("creating the counter");
                    let mut producer = h
                        .child("producer")
                        .endpoint("tx", tx)
                        .endpoint("sent", sent.clone())
                        .spawn();
                    // Kill at a random message.
                    let kill_after = 1 + rng.u64(..5000);
                    let mut next = 0u64;
                    while next < kill_after {
                        let m = rx.recv_timeout(LONG).expect("receiving");
                        assert_eq!(m.to_native(), next, "trial {trial}: in order");
                        next += 1;
                    }
                    producer.kill();
                    let returned = sent.load(Ordering::SeqCst);
                    // Everything whose send returned is there, then
                    // `Disconnected`.
                    drain(
                        trial,
                        || rx.recv_timeout(LONG).map(|m| m.to_native()),
                        |m| {
                            assert_eq!(m, next, "trial {trial}: in order, no duplicate");
                            next += 1;
                        },
                    );
                    assert!(
                        next >= returned,
                        "trial {trial}: {returned} sends returned, {next} messages arrived"
                    );
                    assert!(
                        next <= returned + 1,
                        "trial {trial}: {next} arrived, only {returned} sends returned (+1 in flight)"
                    );
                    drop(rx);
                    drop(sent);
                    assert_removed(trial, &name);
                }
            }
            Role::Child("producer") => {
                let tx: Sender<u64> = h.endpoint("tx");
                let sent: SharedAtomic<AtomicU64> = h.endpoint("sent");
                for seq in 0.. {
                    tx.send(seq).expect("sending");
                    sent.store(seq + 1, Ordering::SeqCst);
                }
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    pub fn killed_consumer_loses_at_most_its_capacity(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let mut rng = rng("crash_loss");
                for trial in 0..TRIALS {
                    let (tx, rx) = channel::channel::<u64>(&config()).expect("creating the channel");
                    let name = tx.raw().segment_name().to_owned();
                    let done = SharedAtomic::new(AtomicU64::new(0)).expect("creating the counter");
                    let mut consumer = h
                        .child("consumer")
                        .endpoint("rx", rx)
                        .endpoint("done", done.clone())
                        .spawn();
                    let kill_after = 1 + rng.u64(..5000);
                    let mut sent = 0u64;
                    while sent < kill_after {
                        tx.send_timeout(sent, LONG).expect("sending");
                        sent += 1;
                    }
                    if cfg!(windows) {
                        // Windows cannot make a child record its pid before
                        // it runs (Unix does, in `pre_exec`), so a child
                        // killed before it opened its hand-off is seen as
                        // gone only once the parent is: there, the kill
                        // waits until the consumer has taken a message.
                        until(
                            trial,
                            "the consumer took nothing",
                            || done.load(Ordering::SeqCst) > 0,
                            std::thread::yield_now,
                        );
                    }
                    consumer.kill();
                    // Sends go on into the ring until it is full, then end
                    // with `Disconnected`.
                    loop {
                        match tx.send_timeout(sent, LONG) {
                            Ok(()) => sent += 1,
                            Err(SendTimeoutError::Disconnected(_)) => break,
                            Err(e) => panic!("trial {trial}: after the kill: {e}"),
                        }
                    }
                    let processed = done.load(Ordering::SeqCst);
                    let lost = sent - processed;
                    assert!(
                        lost <= CAPACITY as u64,
                        "trial {trial}: {sent} sends returned, the consumer processed {processed}: \
                         {lost} lost, more than the capacity {CAPACITY}"
                    );
                    drop(tx);
                    drop(done);
                    assert_removed(trial, &name);
                }
            }
            Role::Child("consumer") => {
                let rx: Receiver<u64> = h.endpoint("rx");
                let done: SharedAtomic<AtomicU64> = h.endpoint("done");
                loop {
                    let m = rx.recv_timeout(LONG).expect("receiving");
                    // Processed, then dropped (released).
                    done.store(m.to_native() + 1, Ordering::SeqCst);
                    drop(m);
                }
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }
}
