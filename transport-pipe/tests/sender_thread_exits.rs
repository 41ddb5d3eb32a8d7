//! A send returns once the system has the message, even when the peer has
//! not read it yet; the thread that sent may then end. The message must
//! still arrive whole (on Windows the write may still be running then, and
//! a thread's own overlapped writes are cancelled when it exits).

use std::{thread, time::Duration};

use transport_core::RecvTimeoutError;

/// Every wait in this test ends well before this, or the test fails.
const LIMIT: Duration = Duration::from_secs(60);

/// Larger than the pipe's buffer on every platform, so the send returns
/// before the peer has read it all.
const LEN: usize = 4 << 20;

fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

#[test]
fn a_message_sent_by_a_thread_that_then_ends_arrives_whole() {
    let (tx, rx) = transport_pipe::simplex::<Vec<u8>>().expect("a pipe");
    // The sending thread returns the end, so the end outlives the thread
    // and nothing here closes it early.
    let tx = thread::spawn(move || {
        let big: Vec<u8> = (0..LEN).map(pattern).collect();
        tx.send(&big).expect("sending while the peer does not read yet");
        tx
    })
    .join()
    .expect("the sending thread");
    let msg = rx
        .recv_timeout(LIMIT)
        .expect("the message, after its sender's thread ended");
    assert_eq!(msg.len(), LEN);
    assert!(
        msg.iter().enumerate().all(|(i, &x)| x == pattern(i)),
        "the message arrived intact"
    );
    drop(tx);
    assert!(matches!(
        rx.recv_timeout(LIMIT),
        Err(RecvTimeoutError::Disconnected)
    ));
}
