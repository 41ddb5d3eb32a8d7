//! Not blocking where none was asked, and timeouts.

use std::time::{Duration, Instant};

use crate::{
    ChannelConfig, RecvTimeoutError, SendTimeoutError, Transport, TryRecvError, TrySendError,
    conformance::harness::{Harness, Role},
};

use super::common::{Item, channel, unknown_role};

/// The most messages a case sends to fill a bounded channel before it
/// decides the channel never fills.
const FILL_LIMIT: u64 = 1_000_000;

/// `try_recv` on an empty channel says `Empty` at once, then gives the
/// message once one is sent, then `Disconnected` once the sender is gone.
pub fn try_recv_empty<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
            tx.send(Item::new(3, 0)).expect("sending one item");
            // The item is in flight; wait for it without busy-looping forever.
            let item = rx.recv_timeout(super::common::LONG).expect("receiving the item");
            item.assert_is(3, 0);
            drop(item);
            assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
            drop(tx);
            // Disconnection may take a moment to propagate; it must come.
            super::common::expect_disconnected(&rx);
            assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// Fills a bounded channel with `try_send`; returns how many went in.
fn fill<S: crate::backend::RawSender>(tx: &crate::Sender<Item, S>) -> u64 {
    for seq in 0..FILL_LIMIT {
        match tx.try_send(Item::new(4, seq)) {
            Ok(()) => {}
            Err(TrySendError::Full(item)) => {
                assert_eq!(item, Item::new(4, seq), "`Full` gives the message back");
                return seq;
            }
            Err(e) => panic!("filling the channel: {e}"),
        }
    }
    panic!("a bounded channel took {FILL_LIMIT} messages without filling up")
}

/// On a full bounded channel `try_send` says `Full` at once and gives the
/// message back; once the receiver has drained what was sent, there is room
/// again. (Not after every single receive: a backend bounded in bytes, with
/// read-ahead, frees room in larger steps.)
pub fn try_send_full<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if !T::capabilities().bounded {
                h.skip("the backend has no bounded channels");
                return;
            }
            let (tx, rx) = channel::<T, Item>(&ChannelConfig::bounded(4));
            let sent = fill(&tx);
            assert!(sent >= 1, "a channel of capacity 4 took no message");
            for seq in 0..sent {
                rx.recv_timeout(super::common::LONG)
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(4, seq);
            }
            let more = Item::new(5, 0);
            if let Err(e) = tx.send_timeout(more, super::common::LONG) {
                panic!("sending into a drained channel: {e}");
            }
            rx.recv_timeout(super::common::LONG)
                .expect("receiving the item sent after draining")
                .assert_is(5, 0);
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// `recv_timeout` on an empty channel and `send_timeout` on a full one
/// return `Timeout`, never before the time asked, and give the message back.
pub fn timeouts<T: Transport>(h: &Harness) {
    const WAIT: Duration = Duration::from_millis(100);
    match h.role() {
        Role::Parent => {
            let bounded = T::capabilities().bounded;
            let config = if bounded {
                ChannelConfig::bounded(4)
            } else {
                ChannelConfig::default()
            };
            let (tx, rx) = channel::<T, Item>(&config);
            let start = Instant::now();
            assert!(matches!(rx.recv_timeout(WAIT), Err(RecvTimeoutError::Timeout)));
            assert!(
                start.elapsed() >= WAIT,
                "recv_timeout returned before its timeout"
            );
            if !bounded {
                h.skip("send_timeout on a full channel: the backend has no bounded channels");
                return;
            }
            let mut seq = fill(&tx);
            // A backend with a writer thread or read-ahead may still find
            // room for a while after the first `Full`: keep sending with a
            // timeout until one send times out, which it must not do early.
            let start = loop {
                let start = Instant::now();
                match tx.send_timeout(Item::new(6, seq), WAIT) {
                    Err(SendTimeoutError::Timeout(item)) => {
                        assert_eq!(item, Item::new(6, seq), "`Timeout` gives the message back");
                        break start;
                    }
                    Ok(()) if seq < FILL_LIMIT => seq += 1,
                    Ok(()) => panic!("a bounded channel took {FILL_LIMIT} messages without filling up"),
                    Err(e) => panic!("send_timeout on a full channel: {e}"),
                }
            };
            assert!(
                start.elapsed() >= WAIT,
                "send_timeout returned before its timeout"
            );
        }
        Role::Child(other) => unknown_role(other),
    }
}
