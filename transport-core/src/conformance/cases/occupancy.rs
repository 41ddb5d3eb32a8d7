//! How full a channel is: `len`, `capacity`, `is_empty` and `is_full`, in
//! one process and across two.

use crate::{
    ChannelConfig, Occupancy, Receiver, Sender, Transport,
    conformance::harness::{Harness, PEER_TIMEOUT, Role},
};

use super::common::{Item, LONG, channel, unknown_role};

/// The capacity the cases give a bounded channel.
const CAPACITY: usize = 4;

/// Where a backend counts messages, `len`, `capacity`, `is_empty` and
/// `is_full` agree with what was sent and received, on both ends: in one
/// process, then with the sender in a child process (its sender and the
/// parent's receiver see the count rise as it sends, then the parent's
/// fall as it receives). A backend that cannot tell says `None` on every
/// one. Either way its [`Capabilities::counts_messages`] says which it
/// is.
///
/// [`Capabilities::counts_messages`]: crate::Capabilities::counts_messages
pub fn occupancy<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if in_one_process::<T>(h) {
                across_processes::<T>(h);
            }
        }
        Role::Child("sender") => sender_child::<T>(h),
        Role::Child(other) => unknown_role(other),
    }
}

/// The capacity of the cases' channels: `None` where the backend has no
/// bounded channels.
fn capacity<T: Transport>() -> Option<usize> {
    T::capabilities().bounded.then_some(CAPACITY)
}

fn config<T: Transport>() -> ChannelConfig {
    capacity::<T>().map_or_else(ChannelConfig::default, ChannelConfig::bounded)
}

/// The checks in one process; false (and the case skipped) where the
/// backend does not count.
fn in_one_process<T: Transport>(h: &Harness) -> bool {
    let (capacity, bounded) = (capacity::<T>(), T::capabilities().bounded);
    let (tx, rx) = channel::<T, Item>(&config::<T>());
    assert_eq!(
        T::capabilities().counts_messages,
        tx.occupancy().is_some() && rx.occupancy().is_some(),
        "the capabilities say whether the ends count messages"
    );
    let Some(empty) = tx.occupancy() else {
        assert_eq!(
            (tx.len(), tx.capacity(), tx.is_empty(), tx.is_full()),
            (None, None, None, None)
        );
        assert_eq!(
            (rx.len(), rx.capacity(), rx.is_empty(), rx.is_full()),
            (None, None, None, None)
        );
        h.skip("the backend does not count messages");
        return false;
    };
    assert_eq!(empty, Occupancy::new(0, capacity));
    assert_eq!(rx.occupancy(), Some(empty));
    assert_eq!((tx.is_empty(), tx.is_full()), (Some(true), Some(false)));
    for seq in 0..3 {
        tx.send(Item::new(18, seq)).expect("sending");
    }
    assert_eq!(tx.len(), Some(3));
    assert_eq!(rx.len(), Some(3));
    assert_eq!(rx.capacity(), capacity);
    assert_eq!(rx.is_empty(), Some(false));
    if bounded {
        tx.send(Item::new(18, 3)).expect("sending the fourth");
        assert_eq!(tx.is_full(), Some(true));
        assert_eq!(rx.is_full(), Some(true));
    }
    rx.recv_timeout(LONG).expect("receiving").assert_is(18, 0);
    assert_eq!(rx.len(), Some(if bounded { 3 } else { 2 }));
    assert_eq!(tx.is_full(), Some(false));
    true
}

/// A child sends two items and reports, then, once told, two more (the
/// channel's capacity) and reports again: the parent's receiver counts
/// each step, then counts down as it takes them.
fn across_processes<T: Transport>(h: &Harness) {
    let capacity = capacity::<T>();
    let (tx, rx) = channel::<T, Item>(&config::<T>());
    let (go_tx, go_rx) = channel::<T, Item>(&ChannelConfig::default());
    assert_eq!(rx.occupancy(), Some(Occupancy::new(0, capacity)));
    let mut peer = h
        .child("sender")
        .endpoint("tx", tx)
        .endpoint("go", go_rx)
        .param("bounded", capacity.is_some())
        .spawn();
    assert_eq!(peer.expect_report(LONG), "sent 2");
    assert_eq!(rx.occupancy(), Some(Occupancy::new(2, capacity)));
    assert_eq!((rx.is_empty(), rx.is_full()), (Some(false), Some(false)));
    go_tx.send(Item::new(20, 0)).expect("telling the child to go on");
    assert_eq!(peer.expect_report(LONG), "sent 4");
    assert_eq!(rx.occupancy(), Some(Occupancy::new(4, capacity)));
    assert_eq!(rx.is_full(), Some(capacity.is_some()));
    rx.recv_timeout(LONG)
        .expect("the child's first item")
        .assert_is(19, 0);
    assert_eq!(rx.len(), Some(3));
    assert_eq!(rx.is_full(), Some(false));
    for seq in 1..4 {
        rx.recv_timeout(LONG)
            .unwrap_or_else(|e| panic!("the child's item {seq}: {e}"))
            .assert_is(19, seq);
        assert_eq!(rx.len(), Some(3 - seq as usize));
    }
    assert_eq!(rx.is_empty(), Some(true));
    peer.wait(PEER_TIMEOUT);
}

/// The child of [`across_processes`]: its sender counts what it sent,
/// which the parent has not taken yet.
fn sender_child<T: Transport>(h: &Harness) {
    let tx: Sender<Item, T::Sender> = h.endpoint("tx");
    let go: Receiver<Item, T::Receiver> = h.endpoint("go");
    let bounded: bool = h.param("bounded");
    for seq in 0..2 {
        tx.send(Item::new(19, seq)).expect("sending");
    }
    assert_eq!(tx.len(), Some(2), "the child's sender after two sends");
    h.report("sent 2");
    go.recv_timeout(LONG)
        .expect("the parent's go-ahead")
        .assert_is(20, 0);
    for seq in 2..4 {
        tx.send(Item::new(19, seq)).expect("sending");
    }
    assert_eq!(tx.len(), Some(4), "the child's sender after four sends");
    assert_eq!(tx.is_full(), Some(bounded));
    if bounded {
        assert_eq!(tx.capacity(), Some(CAPACITY));
    }
    h.report("sent 4");
}
