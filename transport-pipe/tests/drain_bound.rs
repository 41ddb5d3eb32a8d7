//! A peer that sends and never reads cannot make a Python-framed end (a
//! `Listener`'s connection) hold more than `DRAIN_LIMIT` bytes beyond what
//! the end wrote, however many of the end's sends wait for room: each send
//! that waits reads the peer's frames, so that two ends writing at once
//! both progress, but within one allowance shared by every send.
//!
//! The peer is a raw Unix socket in a thread: it writes Python frames as
//! fast as the end takes them and reads nothing, while the end tries many
//! small sends with a short deadline. What the peer managed to write is at
//! most the allowance plus the sockets' buffers.
#![cfg(unix)]

use std::{
    io::Write,
    os::unix::{fs::DirBuilderExt, net::UnixStream},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread,
    time::Duration,
};

use transport_core::{RawSendError, RawSender, Wait};
use transport_pipe::{Address, DRAIN_LIMIT, Listener, Options};

/// How long any one step may take before the test fails.
const LONG: Duration = Duration::from_secs(60);

/// What the sockets' own buffers can hold between the two ends, with
/// room to spare (Linux gives a Unix stream socket about 200 KiB each way).
const SOCKET_BUFFERS: usize = 4 << 20;

#[test]
fn a_peer_that_never_reads_costs_at_most_the_drain_limit() {
    let dir = std::env::temp_dir().join(format!("tp-drain-{}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .expect("a private directory");
    let path = dir.join("drain.sock");
    let listener = Listener::bind(Address::path(&path), Options::python()).expect("listening");

    // The peer: Python frames of 64 KiB, written until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let (connected_tx, connected) = mpsc::channel();
    let flooder = {
        let (path, stop) = (path.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            let mut sock = UnixStream::connect(path).expect("connecting");
            sock.set_write_timeout(Some(Duration::from_millis(20)))
                .expect("a write timeout");
            connected_tx.send(()).expect("the test waits");
            let payload = 64usize << 10;
            let mut frame = (payload as u32).to_be_bytes().to_vec();
            frame.resize(4 + payload, 0x5a);
            let mut written = 0usize;
            let mut at = 0usize;
            while !stop.load(Ordering::Relaxed) {
                match sock.write(&frame[at..]) {
                    Ok(n) => {
                        written += n;
                        at = (at + n) % frame.len();
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => panic!("the peer's write: {e}"),
                }
            }
            // Dropping the socket ends a send of the end's that is stuck
            // half-way (a started send finishes whatever its deadline).
            written
        })
    };
    connected.recv_timeout(LONG).expect("the peer connected");
    let conn = listener.accept_python().expect("accepting the peer");

    // The end: many small sends with a short deadline. The first ones fill
    // the socket and then the end's backlog (the peer reads nothing); every
    // later one waits for room, and the end drains the peer's frames while
    // it waits (the flusher, where the end keeps a backlog).
    let (done_tx, done) = mpsc::channel();
    let sender = thread::spawn(move || {
        let message = [7u8; 1000];
        let (mut sent, mut timed_out) = (0u32, 0u32);
        // More than the socket's buffer and the backlog hold together.
        for _ in 0..1000 {
            match conn
                .raw()
                .send_bytes(&message, Wait::timeout(Duration::from_millis(5)))
            {
                Ok(()) => sent += 1,
                Err(RawSendError::NotReady) => timed_out += 1,
                Err(RawSendError::Disconnected) => break,
                Err(e) => panic!("a send: {e:?}"),
            }
        }
        let _ = done_tx.send(());
        (sent, timed_out, conn)
    });
    // A send that started in the last bit of room finishes only when the
    // peer goes: stop the peer after the sends, or after `LONG` at worst.
    let _ = done.recv_timeout(LONG);
    stop.store(true, Ordering::Relaxed);
    let flooded = flooder.join().expect("the peer");
    let (sent, timed_out, conn) = sender.join().expect("the sending thread");
    drop(conn);
    drop(listener);
    std::fs::remove_dir(&dir).expect("removing the directory");

    let written_by_end = sent as usize * 1004;
    let bound = written_by_end + DRAIN_LIMIT + SOCKET_BUFFERS;
    eprintln!("the peer wrote {flooded} bytes; {sent} sends went out, {timed_out} waited; bound {bound}");
    assert!(
        flooded <= bound,
        "the peer wrote {flooded} bytes that the end took in, more than the {bound} allowed \
         ({sent} sends went out, {timed_out} waited and gave up)"
    );
    assert!(
        timed_out > 0,
        "no send ever waited for room: the test did not test the drain"
    );
}
