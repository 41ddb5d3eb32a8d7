//! Waiting on many receivers: [`Select`] and [`wait`] over ends of the
//! backend under test, with the senders in a child process.

use std::time::{Duration, Instant};

use crate::{
    ChannelConfig, ReadyTimeoutError, Receiver, Select, Sender, Transport, TryReadyError,
    backend::PollRecv,
    conformance::harness::{Harness, PEER_TIMEOUT, Role},
    wait,
};

use super::common::{Item, LONG, channel, expect_disconnected, unknown_role};

/// How long a case waits where nothing may become ready.
const QUIET: Duration = Duration::from_millis(100);

/// The senders (each taken out when handed to a child) and the receivers
/// of several channels.
type Channels<T> = (
    Vec<Option<Sender<Item, <T as Transport>::Sender>>>,
    Vec<Receiver<Item, <T as Transport>::Receiver>>,
);

fn channels<T: Transport>(count: usize) -> Channels<T> {
    (0..count)
        .map(|_| {
            let (tx, rx) = channel::<T, Item>(&ChannelConfig::default());
            (Some(tx), rx)
        })
        .unzip()
}

/// Four receivers; a child holds the sender of the third and sends one
/// item on it. `ready` gives index 2 and the item is there; with the other
/// three (whose senders the parent keeps) nothing is ready and
/// `ready_timeout` times out; once the child has exited, `wait` over all
/// four gives exactly `[2]`, its disconnect.
pub fn select_message_index<T: Transport>(h: &Harness)
where
    T::Receiver: PollRecv,
{
    match h.role() {
        Role::Parent => {
            let (mut senders, receivers) = channels::<T>(4);
            let tx = senders[2].take().expect("the third sender");
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            let mut sel = Select::new();
            for rx in &receivers {
                sel.recv(rx);
            }
            assert_eq!(sel.ready_timeout(LONG).expect("a receiver becomes ready"), 2);
            receivers[2]
                .recv_timeout(LONG)
                .expect("the item on the ready receiver")
                .assert_is(12, 0);
            peer.wait(PEER_TIMEOUT);

            let mut quiet = Select::new();
            for index in [0, 1, 3] {
                quiet.recv(&receivers[index]);
            }
            assert!(matches!(quiet.try_ready(), Err(TryReadyError::NotReady)));
            assert!(matches!(
                quiet.ready_timeout(QUIET),
                Err(ReadyTimeoutError::Timeout)
            ));

            let all: Vec<&dyn crate::Selectable> = receivers.iter().map(|rx| rx as _).collect();
            assert_eq!(wait(&all, Some(LONG)).expect("waiting on all four"), [2]);
            expect_disconnected(&receivers[2]);
            drop(senders);
        }
        Role::Child("sender") => {
            let tx: Sender<Item, T::Sender> = h.endpoint("tx");
            tx.send(Item::new(12, 0)).expect("sending the item");
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// The receivers in the child, the senders in the parent: a backend's
/// readiness in a process that opened its ends from a hand-off (a queue
/// member, say) wakes a `Select` there too. The parent sends on the third
/// of three channels; the child's `ready` gives 2 and it receives the item.
pub fn select_in_child<T: Transport>(h: &Harness)
where
    T::Receiver: PollRecv,
{
    match h.role() {
        Role::Parent => {
            let (senders, receivers) = channels::<T>(3);
            let mut child = h.child("selector");
            for (index, rx) in receivers.into_iter().enumerate() {
                child = child.endpoint(&format!("rx{index}"), rx);
            }
            let mut peer = child.spawn();
            assert_eq!(peer.expect_report(LONG), "waiting");
            senders[2]
                .as_ref()
                .expect("the third sender")
                .send(Item::new(19, 0))
                .expect("sending the item");
            assert_eq!(peer.wait(PEER_TIMEOUT), ["ready 2"]);
            drop(senders);
        }
        Role::Child("selector") => {
            let receivers: Vec<Receiver<Item, T::Receiver>> =
                (0..3).map(|index| h.endpoint(&format!("rx{index}"))).collect();
            let mut sel = Select::new();
            for rx in &receivers {
                sel.recv(rx);
            }
            assert!(matches!(sel.try_ready(), Err(TryReadyError::NotReady)));
            h.report("waiting");
            let index = sel.ready_timeout(LONG).expect("a receiver becomes ready");
            receivers[index]
                .recv_timeout(LONG)
                .expect("the item on the ready receiver")
                .assert_is(19, 0);
            h.report(format!("ready {index}"));
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// Three receivers; a child holds the sender of the second and exits
/// without sending. Its disconnect makes index 1 ready, and it stays ready
/// (a receive there says `Disconnected` every time).
pub fn select_disconnect<T: Transport>(h: &Harness)
where
    T::Receiver: PollRecv,
{
    match h.role() {
        Role::Parent => {
            let (mut senders, receivers) = channels::<T>(3);
            let tx = senders[1].take().expect("the second sender");
            let peer = h.child("quitter").endpoint("tx", tx).spawn();
            let mut sel = Select::new();
            for rx in &receivers {
                sel.recv(rx);
            }
            assert_eq!(sel.ready_timeout(LONG).expect("the disconnect is ready"), 1);
            peer.wait(PEER_TIMEOUT);
            expect_disconnected(&receivers[1]);
            assert_eq!(sel.ready_timeout(LONG).expect("the disconnect stays ready"), 1);
            assert_eq!(sel.ready().expect("the disconnect stays ready"), 1);
            drop(senders);
        }
        Role::Child("quitter") => {
            let _tx: Sender<Item, T::Sender> = h.endpoint("tx");
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// With nothing ready, `try_ready` says so at once, `ready_timeout` and
/// `ready_deadline` time out no earlier than asked, and `wait` gives an
/// empty list; a message then makes its receiver ready.
pub fn select_timeout<T: Transport>(h: &Harness)
where
    T::Receiver: PollRecv,
{
    match h.role() {
        Role::Parent => {
            let (senders, receivers) = channels::<T>(3);
            let mut sel = Select::new();
            for rx in &receivers {
                sel.recv(rx);
            }
            assert!(matches!(sel.try_ready(), Err(TryReadyError::NotReady)));
            let start = Instant::now();
            assert!(matches!(
                sel.ready_timeout(QUIET),
                Err(ReadyTimeoutError::Timeout)
            ));
            assert!(
                start.elapsed() >= QUIET,
                "ready_timeout returned before its timeout"
            );
            let deadline = Instant::now() + QUIET;
            assert!(matches!(
                sel.ready_deadline(deadline),
                Err(ReadyTimeoutError::Timeout)
            ));
            assert!(
                Instant::now() >= deadline,
                "ready_deadline returned before its deadline"
            );
            let all: Vec<&dyn crate::Selectable> = receivers.iter().map(|rx| rx as _).collect();
            assert!(wait(&all, Some(QUIET)).expect("waiting on three").is_empty());

            let tx = senders[0].as_ref().expect("the first sender");
            tx.send(Item::new(13, 0)).expect("sending one item");
            assert_eq!(sel.ready_deadline(Instant::now() + LONG).expect("the item"), 0);
            receivers[0]
                .recv_timeout(LONG)
                .expect("receiving the item")
                .assert_is(13, 0);
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// `Connection::poll` on a two-way end: false with nothing there, true once
/// the child has sent, and true again once the child is gone.
pub fn duplex_poll<T: crate::Duplex>(h: &Harness)
where
    T::End: PollRecv,
{
    type End<T> = crate::Connection<Item, Item, <T as crate::Duplex>::End>;
    match h.role() {
        Role::Parent => {
            let (a, b) = T::duplex(&ChannelConfig::default())
                .unwrap_or_else(|e| panic!("creating a `{}` duplex pair: {e}", T::NAME));
            let (mine, theirs): (End<T>, End<T>) =
                (crate::Connection::from_raw(a), crate::Connection::from_raw(b));
            assert!(!mine.poll(Duration::ZERO).expect("polling an idle end"));
            assert!(!mine.poll(QUIET).expect("polling an idle end"));
            let peer = h.child("sender").endpoint("end", theirs).spawn();
            assert!(mine.poll(LONG).expect("polling for the child's item"));
            mine.recv_timeout(LONG)
                .expect("the child's item")
                .assert_is(14, 0);
            peer.wait(PEER_TIMEOUT);
            assert!(mine.poll(LONG).expect("polling for the child's departure"));
            super::common::assert_disconnected(mine.recv_timeout(LONG));
        }
        Role::Child("sender") => {
            let end: End<T> = h.endpoint("end");
            end.send(Item::new(14, 0)).expect("sending the item");
        }
        Role::Child(other) => unknown_role(other),
    }
}
