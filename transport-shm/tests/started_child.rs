//! A hand-off once its child has started, on every system: a child that
//! exits without opening its end releases it (the parent's end sees
//! `Disconnected`), and a process other than that child is refused the
//! token. On Unix the child is recorded before it runs; on Windows the
//! harness's `transport_core::spawned` records it once it has started.

use transport_core::{
    CommandExt, FromEnvError, Handoff, OpenError, RecvTimeoutError,
    backend::RawReceiver,
    conformance::{Harness, LONG, PEER_TIMEOUT, Peer, Role},
    from_env,
};
use transport_shm::{
    ShmConfig,
    channel::{self, Receiver},
};

transport_core::cross_process_tests!("shm", cases;
    a_child_that_never_opens_its_sender_disconnects_it,
    a_child_that_never_opens_its_mpmc_sender_disconnects_it,
    a_token_copied_to_another_process_is_refused,
);

fn small() -> ShmConfig {
    ShmConfig::default().max_message_size(256).buffer_bytes(4096)
}

/// The name of the environment variable that carries endpoint `name`.
const RX_VAR: &str = "TRANSPORT_ENDPOINT_RX";

mod cases {
    use super::*;

    pub fn a_child_that_never_opens_its_sender_disconnects_it(h: &Harness) {
        never_opened(h, || channel::channel::<u32>(&small()).expect("a channel"));
    }

    pub fn a_child_that_never_opens_its_mpmc_sender_disconnects_it(h: &Harness) {
        never_opened(h, || channel::mpmc::unbounded::<u32>().expect("a channel"));
    }

    /// Hands the sender `make` gives to a child that exits without opening
    /// it: the parent's receiver must see `Disconnected`.
    fn never_opened<S, R>(h: &Harness, make: impl FnOnce() -> (S, transport_core::Receiver<u32, R>))
    where
        S: Handoff + Send + 'static,
        R: RawReceiver,
    {
        match h.role() {
            Role::Parent => {
                let (tx, rx) = make();
                let child = h.child("never_opens").endpoint("tx", tx).spawn();
                assert!(child.wait(PEER_TIMEOUT).is_empty());
                match rx.recv_timeout(LONG) {
                    Err(RecvTimeoutError::Disconnected) => {}
                    other => panic!("expected Disconnected, got {other:?}"),
                }
            }
            Role::Child("never_opens") => {}
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    pub fn a_token_copied_to_another_process_is_refused(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let (tx, rx) = channel::channel::<u32>(&small()).expect("a channel");
                let (go, go_rx) = channel::channel::<u32>(&small()).expect("a channel");
                let mut cmd = h
                    .child("holder")
                    .endpoint("rx", rx)
                    .endpoint("go", go_rx)
                    .into_command();
                let token = cmd
                    .get_envs()
                    .find(|(k, _)| *k == RX_VAR)
                    .and_then(|(_, v)| v?.to_str().map(str::to_owned))
                    .expect("the command carries the receiver's token");
                // `start` tells the hand-offs their child (`spawned`).
                let mut holder = Peer::process("holder", cmd.start().expect("starting the holder"));
                drop(cmd);
                assert_eq!(holder.expect_report(LONG), "started");
                // Another process of this user that has the token.
                let mut thief = h.child("thief").into_command();
                thief.env(RX_VAR, &token);
                let thief = Peer::process("thief", thief.spawn().expect("starting the thief"));
                let said = thief.wait(PEER_TIMEOUT);
                assert_eq!(said.len(), 1, "the thief: {said:?}");
                assert!(said[0].starts_with("refused: "), "the thief: {said:?}");
                // The refusal used nothing up: the holder opens it now.
                go.send(1).expect("telling the holder to open");
                tx.send(5).expect("sending to the holder");
                assert_eq!(holder.wait(PEER_TIMEOUT), ["got 5"]);
            }
            Role::Child("holder") => {
                let go: Receiver<u32> = from_env("go").expect("opening the go signal");
                h.report("started");
                go.recv_timeout(LONG).expect("the parent's go");
                let rx: Receiver<u32> = from_env("rx").expect("the holder opens its receiver");
                let got = rx.recv_timeout(LONG).expect("the parent's message");
                h.report(format!("got {}", *got));
            }
            Role::Child("thief") => match from_env::<Receiver<u32>>("rx") {
                Ok(_) => h.report("opened"),
                Err(FromEnvError::Open {
                    source: OpenError::Refused { .. },
                    ..
                }) => h.report("refused: the token names another child"),
                Err(e) => h.report(format!("other: {e}")),
            },
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }
}
