//! Two-way ends ([`Duplex`](crate::Duplex) backends).

use crate::{
    Duplex, RecvTimeoutError,
    conformance::{
        drive::DriveDuplex,
        harness::{Harness, Mode, PEER_TIMEOUT, Role},
    },
};

use super::common::{Item, assert_disconnected, send_until_disconnected, unknown_role};

const ROUND_TRIPS: u64 = 1000;

/// The child answers each request with the next number; 1,000 round trips
/// arrive in order, then the child sees `Disconnected` when the parent drops
/// its end.
pub fn duplex_ping_pong<T: Duplex, D: DriveDuplex<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = D::pair::<Item>();
            let peer = h.child("echo").endpoint("end", theirs).spawn();
            for seq in 0..ROUND_TRIPS {
                D::send(&mine, Item::new(12, seq)).expect("sending a request");
                D::recv(&mine)
                    .unwrap_or_else(|e| panic!("receiving reply {seq}: {e}"))
                    .assert_is(13, seq + 1);
            }
            drop(mine);
            assert_eq!(peer.wait(PEER_TIMEOUT), [format!("answered {ROUND_TRIPS}")]);
        }
        Role::Child("echo") => {
            let end: D::End<Item> = h.endpoint("end");
            let mut answered = 0;
            loop {
                match D::recv(&end) {
                    Ok(request) => {
                        let seq = request.seq.to_native();
                        request.assert_is(12, seq);
                        // The guard does not borrow the end: reply while reading.
                        D::send(&end, Item::new(13, seq + 1)).expect("sending a reply");
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
pub fn duplex_peer_drop<T: Duplex, D: DriveDuplex<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = D::pair::<Item>();
            let peer = h.child("leaver").endpoint("end", theirs).spawn();
            for seq in 0..3 {
                D::recv(&mine)
                    .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
                    .assert_is(14, seq);
            }
            assert_disconnected(D::recv(&mine));
            peer.wait(PEER_TIMEOUT);
            send_until_disconnected(16, |item, t| D::send_timeout(&mine, item, t));
        }
        Role::Child("leaver") => {
            let end: D::End<Item> = h.endpoint("end");
            for seq in 0..3 {
                D::send(&end, Item::new(14, seq)).expect("sending");
            }
        }
        Role::Child(other) => unknown_role(other),
    }
}

/// The child is killed while it waits to receive; the parent's end reports
/// `Disconnected` on receive, in bounded time.
pub fn duplex_peer_killed<T: Duplex, D: DriveDuplex<T>>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            if h.mode() == Mode::Thread {
                h.skip("peers are threads, which cannot be killed");
                return;
            }
            let (mine, theirs) = D::pair::<Item>();
            let mut peer = h.child("victim").endpoint("end", theirs).spawn();
            D::recv(&mine).expect("the child's greeting").assert_is(15, 0);
            peer.kill();
            assert_disconnected(D::recv(&mine));
            send_until_disconnected(16, |item, t| D::send_timeout(&mine, item, t));
        }
        Role::Child("victim") => {
            let end: D::End<Item> = h.endpoint("end");
            D::send(&end, Item::new(15, 0)).expect("greeting");
            // Wait to be killed (or, bounded, until nothing comes); the
            // parent never sends.
            let _ = D::recv(&end);
        }
        Role::Child(other) => unknown_role(other),
    }
}
