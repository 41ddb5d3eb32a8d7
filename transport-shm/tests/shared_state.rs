//! Shared state across real processes: locked increments, robust-lock
//! recovery after `SIGKILL`, the synchronisation primitives, permissions.
//!
//! Each test re-executes this binary for its children through the
//! conformance harness of transport-core.

use std::time::Duration;

use transport_core::conformance::{Harness, LONG, PEER_TIMEOUT, Role};
use transport_shm::{
    FixedBytes, SharedArray, SharedBarrier, SharedCondvar, SharedEvent, SharedMutex, SharedSemaphore,
    SharedValue, plain_struct,
};

transport_core::cross_process_tests!("shm", cases;
    two_processes_million_locked_increments,
    robust_lock_recovers_after_holder_killed,
    mutex_holder_killed_next_locker_told,
    event_and_semaphore_across_processes,
    barrier_breaks_when_party_killed,
    condvar_wakes_other_process,
    array_and_bytes_across_processes,
);

plain_struct! {
    /// Two fields a holder updates one after the other.
    pub struct Pair {
        pub first: u64,
        pub second: u64,
    }
}

fn unknown(role: &str) -> ! {
    panic!("no child role `{role}`")
}

/// Blocks this child until the parent kills it (no sleeping loop: parking
/// without an unpark never returns).
fn wait_to_be_killed() -> ! {
    loop {
        std::thread::park();
    }
}

mod cases {
    use super::*;

    const INCREMENTS: u64 = 1_000_000;

    pub fn two_processes_million_locked_increments(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let counter = SharedValue::new(0u64).expect("creating the counter");
                let peers: Vec<_> = (0..2)
                    .map(|_| h.child("adder").endpoint("counter", counter.clone()).spawn())
                    .collect();
                for peer in peers {
                    assert_eq!(peer.wait(PEER_TIMEOUT), [format!("added {INCREMENTS}")]);
                }
                assert_eq!(counter.get().expect("reading the counter"), 2 * INCREMENTS);
            }
            Role::Child("adder") => {
                let counter: SharedValue<u64> = h.endpoint("counter");
                for _ in 0..INCREMENTS {
                    *counter.lock().expect("nobody dies here") += 1;
                }
                h.report(format!("added {INCREMENTS}"));
            }
            Role::Child(other) => unknown(other),
        }
    }

    pub fn robust_lock_recovers_after_holder_killed(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let pair = SharedValue::new(Pair { first: 0, second: 0 }).expect("creating the pair");
                let mut peer = h.child("holder").endpoint("pair", pair.clone()).spawn();
                assert_eq!(peer.expect_report(LONG), "holding");
                peer.kill();
                // The holder died mid-update: the next locker is told, and
                // sees the half-written value.
                let err = pair
                    .lock_timeout(LONG)
                    .expect_err("the holder died holding the lock");
                let transport_shm::LockTimeoutError::OwnerDied(died) = err else {
                    panic!("expected `OwnerDied`, got a time-out")
                };
                let mut guard = died.into_guard();
                assert_eq!(*guard, Pair { first: 1, second: 0 });
                guard.second = 1; // repair
                drop(guard);
                // Recovered: later lockers are not told again.
                assert_eq!(
                    pair.get().expect("a clean lock after recovery"),
                    Pair { first: 1, second: 1 }
                );
            }
            Role::Child("holder") => {
                let pair: SharedValue<Pair> = h.endpoint("pair");
                let mut guard = pair.lock().expect("locking");
                guard.first = 1;
                h.report("holding");
                wait_to_be_killed();
            }
            Role::Child(other) => unknown(other),
        }
    }

    pub fn mutex_holder_killed_next_locker_told(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let lock = SharedMutex::new().expect("creating the lock");
                let mut holder = h.child("holder").endpoint("lock", lock.clone()).spawn();
                assert_eq!(holder.expect_report(LONG), "holding");
                // A second process waits for the lock; it must be told.
                let waiter = h.child("waiter").endpoint("lock", lock.clone()).spawn();
                assert!(lock.try_lock().is_none(), "the holder still holds it");
                holder.kill();
                assert_eq!(waiter.wait(PEER_TIMEOUT), ["told the owner died"]);
                // The waiter exited holding it: the lock is taken over again.
                let err = lock
                    .lock_timeout(LONG)
                    .expect_err("the waiter exited holding the lock");
                assert!(!err.is_timeout());
            }
            Role::Child("holder") => {
                let lock: SharedMutex = h.endpoint("lock");
                let guard = lock.lock().expect("locking");
                h.report("holding");
                std::mem::forget(guard);
                wait_to_be_killed();
            }
            Role::Child("waiter") => {
                let lock: SharedMutex = h.endpoint("lock");
                match lock.lock_timeout(LONG) {
                    Err(transport_shm::LockTimeoutError::OwnerDied(died)) => {
                        h.report("told the owner died");
                        // Exit without unlocking: the parent must recover too.
                        std::mem::forget(died.into_guard());
                    }
                    Ok(_) => panic!("the lock was handed over cleanly after its holder was killed"),
                    Err(e) => panic!("waiting for the lock: {e}"),
                }
            }
            Role::Child(other) => unknown(other),
        }
    }

    pub fn event_and_semaphore_across_processes(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let go = SharedEvent::new().expect("event");
                let done = SharedSemaphore::new(0).expect("semaphore");
                let peer = h
                    .child("worker")
                    .endpoint("go", go.clone())
                    .endpoint("done", done.clone())
                    .spawn();
                go.set();
                assert!(done.acquire_timeout(LONG), "the worker released the semaphore");
                assert!(done.acquire_timeout(LONG), "twice");
                assert!(!done.try_acquire());
                peer.wait(PEER_TIMEOUT);
            }
            Role::Child("worker") => {
                let go: SharedEvent = h.endpoint("go");
                let done: SharedSemaphore = h.endpoint("done");
                assert!(go.wait_timeout(LONG), "the parent set the event");
                done.release();
                done.release();
            }
            Role::Child(other) => unknown(other),
        }
    }

    pub fn barrier_breaks_when_party_killed(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let barrier = SharedBarrier::new(3).expect("barrier");
                let round = SharedBarrier::new(2).expect("barrier");
                let peer = h.child("party").endpoint("round", round.clone()).spawn();
                // A full round across processes passes.
                round.wait_timeout(LONG).expect("both parties arrive");
                peer.wait(PEER_TIMEOUT);
                // A party that dies breaks the barrier instead of hanging it.
                let mut dying = h.child("dying").endpoint("barrier", barrier.clone()).spawn();
                assert_eq!(dying.expect_report(LONG), "attached");
                dying.kill();
                assert_eq!(
                    barrier.wait_timeout(LONG),
                    Err(transport_shm::BarrierError::Broken)
                );
                assert!(barrier.is_broken());
            }
            Role::Child("party") => {
                let round: SharedBarrier = h.endpoint("round");
                round.wait_timeout(LONG).expect("both parties arrive");
            }
            Role::Child("dying") => {
                let _barrier: SharedBarrier = h.endpoint("barrier");
                h.report("attached");
                wait_to_be_killed();
            }
            Role::Child(other) => unknown(other),
        }
    }

    pub fn condvar_wakes_other_process(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let state = SharedValue::new(0u32).expect("value");
                let cv = SharedCondvar::new().expect("condvar");
                let peer = h
                    .child("setter")
                    .endpoint("state", state.clone())
                    .endpoint("cv", cv.clone())
                    .spawn();
                let mut guard = state.lock().expect("locking");
                let deadline = std::time::Instant::now() + LONG;
                while *guard != 7 {
                    assert!(std::time::Instant::now() < deadline, "never notified");
                    guard = cv
                        .wait_timeout(guard, Duration::from_secs(1))
                        .expect("relocking")
                        .0;
                }
                drop(guard);
                peer.wait(PEER_TIMEOUT);
            }
            Role::Child("setter") => {
                let state: SharedValue<u32> = h.endpoint("state");
                let cv: SharedCondvar = h.endpoint("cv");
                state.set(7).expect("setting");
                cv.notify_all();
            }
            Role::Child(other) => unknown(other),
        }
    }

    pub fn array_and_bytes_across_processes(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let squares = SharedArray::from_slice(&[1.0f64, 2.0, 3.0, 4.0]).expect("array");
                let name = SharedValue::new(FixedBytes::<16>::new(b"x\0\0").expect("fits")).expect("value");
                // Aligned to 16: its data starts past the header's line,
                // where an 8-byte value's would not.
                let wide = SharedValue::new(u128::MAX - 1).expect("value");
                let peer = h
                    .child("squarer")
                    .endpoint("squares", squares.clone())
                    .endpoint("name", name.clone())
                    .endpoint("wide", wide.clone())
                    .spawn();
                peer.wait(PEER_TIMEOUT);
                assert_eq!(squares.to_vec().expect("reading"), [1.0, 4.0, 9.0, 16.0]);
                assert_eq!(name.get().expect("reading").as_bytes(), b"done\0");
                assert_eq!(wide.get().expect("reading"), 1 << 100);
            }
            Role::Child("squarer") => {
                let squares: SharedArray<f64> = h.endpoint("squares");
                let name: SharedValue<FixedBytes<16>> = h.endpoint("name");
                let wide: SharedValue<u128> = h.endpoint("wide");
                assert_eq!(wide.get().expect("reading"), u128::MAX - 1);
                wide.set(1 << 100).expect("setting");
                assert_eq!(
                    name.get().expect("reading").as_bytes(),
                    b"x\0\0",
                    "trailing NULs kept"
                );
                for x in squares.lock().expect("locking").iter_mut() {
                    *x *= *x;
                }
                let mut n = name.lock().expect("locking");
                assert!(n.set(&[b'z'; 17]).is_err(), "17 bytes do not fit 16");
                n.set(b"done\0").expect("fits");
            }
            Role::Child(other) => unknown(other),
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn segments_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let v = SharedValue::new(1u8).expect("value");
    let path = format!("/dev/shm{}", v.segment_name());
    let mode = std::fs::metadata(&path)
        .expect("the segment exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{path} has mode {:o}", mode & 0o777);
    assert!(v.segment_name().len() <= 30, "name fits macOS's limit");
    drop(v);
    assert!(
        std::fs::metadata(&path).is_err(),
        "the creator's drop removed {path}"
    );
}

#[test]
fn wrong_type_is_refused_across_hand_off() {
    // A token for a u64 value cannot be opened as a u32 value.
    let v = SharedValue::new(5u64).expect("value");
    let mut cmd = std::process::Command::new("unused");
    let payload = transport_core::Handoff::prepare(v.clone(), &mut cmd).expect("prepare");
    let err = <SharedValue<u32> as transport_core::Handoff>::open(&payload).expect_err("another type");
    assert!(err.to_string().contains("another element type"), "{err}");
}
