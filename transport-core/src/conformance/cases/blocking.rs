//! Not blocking where none was asked, and timeouts.

use std::time::{Duration, Instant};

use crate::{
    ChannelConfig, RecvTimeoutError, SendTimeoutError, Transport, TryRecvError,
    conformance::{
        blocking::Blocking,
        drive::Drive,
        harness::{Harness, Role},
    },
};

use super::common::{FILL_LIMIT, Item, LONG, assert_disconnected, channel, fill, unknown_role};

/// `try_recv` on an empty channel says `Empty` at once, then gives the
/// message once one is sent, then `Disconnected` once the sender is gone.
pub fn try_recv_empty<T: Transport, D: Drive<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mut tx, mut rx) = D::channel::<Item>(&ChannelConfig::default());
            assert!(matches!(D::try_recv(&mut rx), Err(TryRecvError::Empty)));
            D::send(&mut tx, Item::new(3, 0)).expect("sending one item");
            // The item is in flight; wait for it without busy-looping forever.
            let item = D::recv(&mut rx).expect("receiving the item");
            item.assert_is(3, 0);
            drop(item);
            assert!(matches!(D::try_recv(&mut rx), Err(TryRecvError::Empty)));
            drop(tx);
            // Disconnection may take a moment to propagate; it must come.
            assert_disconnected(D::recv(&mut rx));
            assert!(matches!(D::try_recv(&mut rx), Err(TryRecvError::Disconnected)));
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// On a full bounded channel `try_send` says `Full` at once and gives the
/// message back; once the receiver has drained what was sent, there is room
/// again. (Not after every single receive: a backend bounded in bytes, with
/// read-ahead, frees room in larger steps.) A backend bounded in messages
/// takes no more than its capacity before `Full`.
pub fn try_send_full<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if !T::capabilities().bounded {
                h.skip("the backend has no bounded channels");
                return;
            }
            let (mut tx, rx) = channel::<T, Item>(&ChannelConfig::bounded(4));
            let sent = fill::<T, Blocking>(&mut tx, 4);
            assert!(sent >= 1, "a channel of capacity 4 took no message");
            // A bound in messages is never passed; one in bytes (the
            // capabilities say which) takes as many as fit.
            assert!(
                T::capabilities().bounded_in_bytes || sent <= 4,
                "a channel of capacity 4 took {sent} messages"
            );
            for seq in 0..sent {
                rx.recv_timeout(LONG)
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(4, seq);
            }
            let more = Item::new(5, 0);
            if let Err(e) = tx.send_timeout(more, LONG) {
                panic!("sending into a drained channel: {e}");
            }
            rx.recv_timeout(LONG)
                .expect("receiving the item sent after draining")
                .assert_is(5, 0);
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// `recv_timeout` on an empty channel and `send_timeout` on a full one
/// return `Timeout`, never before the time asked, and give the message
/// back; so do a receive and a send given up at a deadline (the async
/// driver: a timer around `recv().await` and `send().await`, whose future
/// is dropped). What the channel then holds is exactly what was sent
/// before, in order: nothing that timed out, nothing half there.
pub fn timeouts<T: Transport, D: Drive<T>>(h: &Harness) {
    const WAIT: Duration = Duration::from_millis(100);
    match h.role() {
        Role::Parent => {
            let bounded = T::capabilities().bounded;
            let config = if bounded {
                ChannelConfig::bounded(4)
            } else {
                ChannelConfig::default()
            };
            let (mut tx, mut rx) = D::channel::<Item>(&config);
            let start = Instant::now();
            assert!(matches!(
                D::recv_timeout(&mut rx, WAIT),
                Err(RecvTimeoutError::Timeout)
            ));
            assert!(
                start.elapsed() >= WAIT,
                "recv_timeout returned before its timeout"
            );
            let start = Instant::now();
            assert!(matches!(
                D::recv_deadline(&mut rx, start + WAIT),
                Err(RecvTimeoutError::Timeout)
            ));
            assert!(
                start.elapsed() >= WAIT,
                "a receive with a deadline ended before it"
            );
            if !bounded {
                h.skip("timeouts of sends into a full channel: the backend has no bounded channels");
                return;
            }
            let mut seq = fill::<T, D>(&mut tx, 6);
            // A backend with a writer thread or read-ahead may still find
            // room for a while after the first `Full`: keep sending with a
            // timeout until one send times out, which it must not do early.
            let start = loop {
                let start = Instant::now();
                match D::send_timeout(&mut tx, Item::new(6, seq), WAIT) {
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
            let start = Instant::now();
            let last = Item::new(66, 0);
            let late = match D::send_deadline(&mut tx, &last, start + WAIT) {
                // The channel found room after all: that item went in.
                Ok(()) => true,
                Err(SendTimeoutError::Timeout(item)) => {
                    assert!(std::ptr::eq(item, &last), "`Timeout` gives the message back");
                    assert!(start.elapsed() >= WAIT, "a send with a deadline ended before it");
                    false
                }
                Err(e) => panic!("a send with a deadline on a full channel: {e}"),
            };
            // Exactly the items sent, in order; the timed-out ones are not
            // there, and nothing is half there.
            for n in 0..seq {
                D::recv(&mut rx)
                    .unwrap_or_else(|e| panic!("receiving item {n}: {e}"))
                    .assert_is(6, n);
            }
            if late {
                D::recv(&mut rx)
                    .expect("receiving the late item")
                    .assert_is(66, 0);
            }
            drop(tx);
            assert_disconnected(D::recv(&mut rx));
        }
        Role::Child(other) => unknown_role(other),
    }
}
