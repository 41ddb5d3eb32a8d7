//! crossbeam's vocabulary on the typed ends: deadlines, iterators, owned
//! values (how full a channel is: `occupancy.rs`).

use std::time::{Duration, Instant};

use crate::{
    ChannelConfig, Receiver, RecvTimeoutError, SendTimeoutError, Sender, Transport,
    conformance::harness::{Harness, PEER_TIMEOUT, Role},
};

use super::common::{Item, LONG, channel, unknown_role};

/// How long a case waits where nothing may arrive.
const QUIET: Duration = Duration::from_millis(100);

/// A child sends five items and exits. `recv_owned` gives the first as an
/// owned `Item`; `iter_timeout` gives the other four and ends at the
/// disconnect; `recv_deadline` then says `Disconnected`. On a channel whose
/// sender the parent keeps, `recv_deadline` and `iter_timeout` end at their
/// time, not before; `for msg in &rx` and `for msg in rx` end once the
/// sender is gone and every message was received.
pub fn deadlines_and_iterators<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            assert_eq!(rx.recv_owned().expect("the first item, owned"), Item::new(15, 0));
            let mut seq = 1;
            for item in rx.iter_timeout(LONG) {
                item.expect("an item").assert_is(15, seq);
                seq += 1;
            }
            assert_eq!(seq, 5, "iter_timeout ends at the disconnect, after every item");
            peer.wait(PEER_TIMEOUT);
            assert!(matches!(
                rx.recv_deadline(Instant::now() + LONG),
                Err(RecvTimeoutError::Disconnected)
            ));

            let (tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            let deadline = Instant::now() + QUIET;
            assert!(matches!(
                rx.recv_deadline(deadline),
                Err(RecvTimeoutError::Timeout)
            ));
            assert!(
                Instant::now() >= deadline,
                "recv_deadline returned before its deadline"
            );
            let start = Instant::now();
            assert_eq!(rx.iter_timeout(QUIET).count(), 0);
            assert!(start.elapsed() >= QUIET, "iter_timeout ended before its timeout");
            for seq in 0..3 {
                tx.send_deadline(Item::new(16, seq), Instant::now() + LONG)
                    .expect("sending with a deadline");
            }
            let mut seq = 0;
            for item in &rx {
                item.expect("an item").assert_is(16, seq);
                seq += 1;
                if seq == 2 {
                    break;
                }
            }
            drop(tx);
            let rest: Vec<_> = rx
                .into_iter()
                .map(|item| item.expect("an item").seq.to_native())
                .collect();
            assert_eq!(
                rest,
                [2],
                "`for msg in rx` gives the rest, then ends at the disconnect"
            );
        }
        Role::Child("sender") => {
            let tx: Sender<Item, T::Sender> = h.endpoint("tx");
            for seq in 0..5 {
                tx.send(Item::new(15, seq)).expect("sending");
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// How many items each of the child's batches in
/// [`ready_and_owned_iterators`] holds.
const BATCH: u64 = 8;

/// A child sends a batch of items and reports; `try_iter` then takes, in
/// order and without waiting, the items ready in the parent's receiver:
/// all of them where the backend counts messages (`len` says the batch is
/// there), a first part of them elsewhere (a network hop may still hold
/// some). Told to go on, the child sends another batch and exits;
/// `iter_owned` gives the rest as owned values, in order, and ends at the
/// disconnect, after which `try_iter` ends at once.
pub fn ready_and_owned_iterators<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            let (go_tx, go_rx) = channel::<T, Item>(&ChannelConfig::default());
            let mut peer = h.child("sender").endpoint("tx", tx).endpoint("go", go_rx).spawn();
            assert_eq!(peer.expect_report(LONG), "sent");
            let counted = rx.len();
            let mut next = 0;
            for item in rx.try_iter() {
                item.expect("a ready item").assert_is(21, next);
                next += 1;
            }
            if let Some(len) = counted {
                assert_eq!(len, BATCH as usize, "`len` before `try_iter`");
                assert_eq!(next, BATCH, "`try_iter` took what `len` counted");
                assert_eq!(rx.len(), Some(0));
            }
            assert!(next <= BATCH, "`try_iter` took items not sent yet");
            go_tx.send(Item::new(22, 0)).expect("telling the child to go on");
            for item in rx.iter_owned() {
                assert_eq!(item.expect("an owned item"), Item::new(21, next));
                next += 1;
            }
            assert_eq!(next, 2 * BATCH, "`iter_owned` ends after every item");
            assert!(rx.try_iter().next().is_none(), "`try_iter` after the disconnect");
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child("sender") => {
            let tx: Sender<Item, T::Sender> = h.endpoint("tx");
            let go: Receiver<Item, T::Receiver> = h.endpoint("go");
            for seq in 0..BATCH {
                tx.send(Item::new(21, seq)).expect("sending");
            }
            h.report("sent");
            go.recv_timeout(LONG)
                .expect("the parent's go-ahead")
                .assert_is(22, 0);
            for seq in BATCH..2 * BATCH {
                tx.send(Item::new(21, seq)).expect("sending");
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// `send_deadline` on a full bounded channel times out no earlier than
/// its deadline and gives the message back.
pub fn send_deadline_full<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if !T::capabilities().bounded {
                h.skip("the backend has no bounded channels");
                return;
            }
            let (tx, _rx) = channel::<T, Item>(&ChannelConfig::bounded(4));
            for seq in 0.. {
                let deadline = Instant::now() + QUIET;
                match tx.send_deadline(Item::new(17, seq), deadline) {
                    Ok(()) => assert!(seq < 1_000_000, "a bounded channel never filled"),
                    Err(SendTimeoutError::Timeout(item)) => {
                        assert_eq!(item, Item::new(17, seq), "`Timeout` gives the message back");
                        assert!(
                            Instant::now() >= deadline,
                            "send_deadline returned before its deadline"
                        );
                        break;
                    }
                    Err(e) => panic!("send_deadline on a filling channel: {e}"),
                }
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// A capacity of zero is refused with a typed error, never a panic and
/// never a channel that cannot take a message (no backend offers a
/// rendezvous).
pub fn zero_capacity<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => match T::channel(&ChannelConfig::bounded(0)) {
            Err(crate::CreateError::InvalidConfig { .. }) => {}
            Err(e) => panic!("a capacity of zero: expected `InvalidConfig`, got: {e}"),
            Ok(_) => panic!("a capacity of zero made a channel"),
        },
        Role::Child(other) => unknown_role(other),
    }
}
