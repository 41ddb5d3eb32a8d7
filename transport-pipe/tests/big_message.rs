//! A 1 GiB message (the default limit, exactly) crosses to a child process
//! intact; one byte more is refused before anything is sent.

use transport_core::{
    SendError,
    backend::Frame,
    conformance::{self, Harness, LONG, PEER_TIMEOUT, Role},
};

const GIB: usize = 1 << 30;

/// Positions whose bytes are set to a marker, so corruption or a shift
/// anywhere in the stream shows.
fn marks() -> impl Iterator<Item = (usize, u8)> {
    (0..64).map(|i| ((i * (GIB / 64) + i * 4099) % GIB, (i as u8).wrapping_mul(37) | 1))
}

fn one_gib(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = transport_pipe::simplex::<u8>().expect("a pipe");
            assert_eq!(tx.max_message_size(), GIB);
            let peer = h.child("receiver").endpoint("rx", rx).spawn();
            let mut big = vec![0u8; GIB];
            for (at, mark) in marks() {
                big[at] = mark;
            }
            let last = GIB - 1;
            big[last] = 0xEE;
            tx.send_bytes(&big).expect("sending 1 GiB");
            big.push(0);
            match tx.send_bytes(&big) {
                Err(SendError::TooLarge { len, limit, .. }) => assert_eq!((len, limit), (GIB + 1, GIB)),
                other => panic!("expected TooLarge for 1 GiB + 1, got {:?}", other.err()),
            }
            drop(big);
            drop(tx);
            assert_eq!(peer.wait(PEER_TIMEOUT), ["1073741824 bytes intact"]);
        }
        Role::Child(_) => {
            let rx: transport_pipe::Receiver<u8> = h.endpoint("rx");
            let frame = rx.recv_bytes_timeout(LONG).expect("receiving 1 GiB");
            let bytes = frame.bytes();
            assert_eq!(bytes.len(), GIB);
            assert_eq!(bytes.as_ptr() as usize % transport_core::backend::FRAME_ALIGN, 0);
            let marked: Vec<usize> = marks().map(|(at, _)| at).collect();
            for (at, mark) in marks() {
                assert_eq!(bytes[at], mark, "byte {at}");
            }
            assert_eq!(bytes[GIB - 1], 0xEE);
            // Every other byte is zero (checked in large strides for speed,
            // and fully around the marks).
            for &at in &marked {
                let around = at.saturating_sub(64)..(at + 64).min(GIB - 1);
                assert!(around.filter(|i| !marked.contains(i)).all(|i| bytes[i] == 0));
            }
            assert!(
                bytes
                    .iter()
                    .step_by(4093)
                    .enumerate()
                    .all(|(i, &b)| b == 0 || marked.contains(&(i * 4093)))
            );
            h.report(format!("{} bytes intact", bytes.len()));
            drop(frame);
            conformance::expect_disconnected(&rx);
        }
    }
}

#[test]
fn one_gib_message_crosses_processes() {
    conformance::run(
        conformance::test_name(module_path!(), "one_gib_message_crosses_processes"),
        "pipe",
        true,
        one_gib,
    );
}
