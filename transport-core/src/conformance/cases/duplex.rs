//! Two-way ends ([`Duplex`](crate::Duplex) backends).

use crate::{
    ChannelConfig, Connection, Duplex, RecvTimeoutError,
    conformance::harness::{Harness, Mode, PEER_TIMEOUT, Role},
};

use super::common::{Item, LONG, expect_disconnected_by, send_until_disconnected, unknown_role};

const ROUND_TRIPS: u64 = 1000;

type End<T> = Connection<Item, Item, <T as Duplex>::End>;

fn pair<T: Duplex>() -> (End<T>, End<T>) {
    let (a, b) = T::duplex(&ChannelConfig::default())
        .unwrap_or_else(|e| panic!("creating a `{}` duplex pair: {e}", T::NAME));
    (Connection::from_raw(a), Connection::from_raw(b))
}

/// The child answers each request with the next number; 1,000 round trips
/// arrive in order, then the child sees `Disconnected` when the parent drops
/// its end.
pub fn duplex_ping_pong<T: Duplex>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = pair::<T>();
            let peer = h.child("echo").endpoint("end", theirs).spawn();
            for seq in 0..ROUND_TRIPS {
                mine.send(Item::new(12, seq)).expect("sending a request");
                mine.recv_timeout(LONG)
                    .unwrap_or_else(|e| panic!("receiving reply {seq}: {e}"))
                    .assert_is(13, seq + 1);
            }
            drop(mine);
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("answered {ROUND_TRIPS}")]);
        }
        Role::Child("echo") => {
            let end: End<T> = h.endpoint("end");
            let mut answered = 0;
            loop {
                match end.recv_timeout(LONG) {
                    Ok(request) => {
                        let seq = request.seq.to_native();
                        request.assert_is(12, seq);
                        // The guard does not borrow the end: reply while reading.
                        end.send(Item::new(13, seq + 1)).expect("sending a reply");
                        answered += 1;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(e) => panic!("echo receiving: {e}"),
                }
            }
            h.report(format!("answered {answered}"));
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// The child sends three items and drops its end; the parent receives the
/// three, then `Disconnected`, and its sends report `Disconnected`.
pub fn duplex_peer_drop<T: Duplex>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = pair::<T>();
            let peer = h.child("leaver").endpoint("end", theirs).spawn();
            for seq in 0..3 {
                mine.recv_timeout(LONG)
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(14, seq);
            }
            expect_disconnected_by(|t| mine.recv_timeout(t));
            peer.wait(PEER_TIMEOUT);
            send_until_disconnected(16, |item, t| mine.send_timeout(item, t));
        }
        Role::Child("leaver") => {
            let end: End<T> = h.endpoint("end");
            for seq in 0..3 {
                end.send(Item::new(14, seq)).expect("sending");
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// The child is killed while it waits to receive; the parent's end reports
/// `Disconnected` on receive, in bounded time.
pub fn duplex_peer_killed<T: Duplex>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if h.mode() == Mode::Thread {
                h.skip("peers are threads, which cannot be killed");
                return;
            }
            let (mine, theirs) = pair::<T>();
            let mut peer = h.child("victim").endpoint("end", theirs).spawn();
            mine.recv_timeout(LONG)
                .expect("the child's greeting")
                .assert_is(15, 0);
            peer.kill();
            expect_disconnected_by(|t| mine.recv_timeout(t));
            send_until_disconnected(16, |item, t| mine.send_timeout(item, t));
        }
        Role::Child("victim") => {
            let end: End<T> = h.endpoint("end");
            end.send(Item::new(15, 0)).expect("greeting");
            // Wait to be killed; the parent never sends.
            let _ = end.recv();
        }
        Role::Child(other) => unknown_role(other),
    }
}
