//! A named connection in Python's framing (`transport_pipe::Options::python`)
//! through the async adapters, across real processes: against the real
//! CPython's `multiprocessing.connection.Listener` (every CPython on the
//! machine), and Rust to Rust with send futures dropped half way (a message
//! arrives whole or not at all).
#![cfg(all(unix, feature = "pipe"))]

#[path = "support/traffic.rs"]
mod traffic;

#[path = "../../transport-pipe/tests/python/mod.rs"]
mod python;

use std::sync::Arc;

use futures::FutureExt;
use python::{PyPeer, TempDir, interpreters, note, ran};
use traffic::{message, runtime};
use transport_adapters::AsyncConnection;
use transport_core::{
    RecvError,
    backend::Wait,
    conformance::{self, Harness, LONG, PEER_TIMEOUT, Role},
};
use transport_pipe::{Address, Client, Listener, NamedEnd, Options};

const KEY: &[u8] = b"async secret";

/// Raw bytes both ways (Python's `send_bytes` / `recv_bytes`); the type
/// parameters are unused.
type Conn = AsyncConnection<u64, u64, NamedEnd>;

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn options() -> Options {
    Options::python().authkey(KEY)
}

/// Sizes past the socket's buffer (hundreds of KiB) make a send that
/// starts wait for the peer to read the rest.
const ECHO_SIZES: [usize; 6] = [0, 1, 100, 4096, 65_536, 1_048_579];

/// An async Rust client and Python's `Listener` (with an authkey), echoing:
/// one task sends while another receives, both waiting on the reactor.
#[test]
fn python_listener_async_rust_client() {
    const COUNT: u64 = 60;
    for py in interpreters() {
        let dir = TempDir::new("py-async");
        let path = dir.join("echo.sock").display().to_string();
        let mut peer = PyPeer::spawn(&py, &["listen", &path, &hex(KEY), "echo"]);
        peer.expect("ready");
        let end = Client::connect_raw(Address::path(&path), &options()).expect("connecting to Python");
        let conn: Arc<Conn> = Arc::new(AsyncConnection::from_raw(end));
        let sizes = |i: u64| ECHO_SIZES[(i % ECHO_SIZES.len() as u64) as usize];
        runtime().block_on(async {
            let sender = {
                let conn = Arc::clone(&conn);
                tokio::spawn(async move {
                    for i in 0..COUNT {
                        tokio::time::timeout(LONG, conn.send_bytes(&message(i, sizes(i))))
                            .await
                            .expect("sent in time")
                            .expect("sending");
                    }
                })
            };
            for i in 0..COUNT {
                let frame = tokio::time::timeout(LONG, conn.recv_bytes())
                    .await
                    .expect("echoed in time")
                    .expect("receiving");
                assert!(
                    frame.as_slice() == message(i, sizes(i)).as_slice(),
                    "message {i} came back whole and in order"
                );
            }
            tokio::time::timeout(LONG, sender)
                .await
                .expect("the sender finished")
                .expect("the sender");
        });
        drop(conn);
        assert_eq!(peer.expect("result"), format!("echoed {COUNT}"));
        assert!(peer.finish().success());
        ran("python_listener_async_rust_client", &py);
    }
}

/// Python dies in the middle of a message while an async receive waits
/// on a Rust `Listener`'s connection: the receive ends `Disconnected`,
/// never a hang.
#[test]
fn python_killed_mid_message_wakes_an_async_receive() {
    for py in interpreters() {
        let dir = TempDir::new("py-async-kill");
        let listener = Listener::bind(Address::path(dir.join("k.sock")), options()).expect("listening");
        let mut peer = PyPeer::spawn(
            &py,
            &["connect", &listener.address().to_string(), &hex(KEY), "partial"],
        );
        let end = listener
            .accept_raw(Wait::timeout(LONG))
            .expect("accepting Python");
        let conn: Arc<Conn> = Arc::new(AsyncConnection::from_raw(end));
        peer.expect("partial-sent");
        runtime().block_on(async {
            let recv = {
                let conn = Arc::clone(&conn);
                tokio::spawn(async move { conn.recv_bytes().await.map(|f| f.len()) })
            };
            peer.kill();
            let got = tokio::time::timeout(LONG, recv)
                .await
                .expect("woken in time")
                .expect("the receiving task");
            assert!(matches!(got, Err(RecvError::Disconnected)), "{got:?}");
        });
        peer.finish();
        ran("python_killed_mid_message_wakes_an_async_receive", &py);
    }
}

fn run(name: &str, case: conformance::Case) {
    conformance::run(conformance::test_name(module_path!(), name), "pipe", true, case);
}

/// A private directory for the test's socket file.
fn dir(h: &Harness) -> std::path::PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let path = std::env::temp_dir().join(format!("tp-{}", h.unique_name("pa")));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&path)
        .expect("a private directory");
    path
}

const DROP_SIZES: [usize; 4] = [8, 300, 70_000, 600_000];

/// A message short enough that Linux's socket takes all of it or none.
const TINY: usize = 8;

/// Rust to Rust in Python's framing, the child receiving asynchronously.
/// First (on Linux) the child does not read: the parent sends tiny messages, each
/// with one poll of its send future, until one finds no room and its
/// future is dropped; a big one is dropped the same way. Then the child
/// reads, and the parent sends every other message with one poll, the
/// rest waiting for room. The child answers with the ids it got: exactly
/// the sends that finished, each whole, in order.
fn dropped_sends(h: &Harness) {
    const COUNT: u64 = 400;
    const FILL_BOUND: u64 = 10_000_000;
    match h.role() {
        Role::Parent => {
            use std::io::Write;
            let dir = dir(h);
            let path = dir.join("drop.sock");
            let listener = Listener::bind(Address::path(&path), options()).expect("listening");
            let mut cmd = h.child("sink").param("address", path.display()).into_command();
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .spawn()
                .expect("spawning the child");
            drop(cmd);
            let mut go = child.stdin.take().expect("piped");
            let child = transport_core::conformance::Peer::process("sink", child);
            let end = listener.accept_raw(Wait::timeout(LONG)).expect("the child");
            let conn: Conn = AsyncConnection::from_raw(end);
            let (sent, dropped) = runtime().block_on(async {
                let mut sent = Vec::new();
                let mut dropped = 0u32;
                let mut id = 0u64;
                // The child reads nothing yet: fill the socket. Linux's
                // socket takes a message this short whole or not at all
                // (others count bytes, and a send that started would
                // wait for the child).
                while cfg!(target_os = "linux") {
                    assert!(id < FILL_BOUND, "the socket never filled");
                    match conn.send_bytes(&message(id, TINY)).now_or_never() {
                        Some(Ok(())) => sent.push(id),
                        Some(Err(e)) => panic!("sending {id}: {e}"),
                        None => break,
                    }
                    id += 1;
                }
                if cfg!(target_os = "linux") {
                    dropped += 1;
                    id += 1;
                    let big = message(id, 600_000);
                    assert!(
                        conn.send_bytes(&big).now_or_never().is_none(),
                        "a full socket takes no big message either"
                    );
                    dropped += 1;
                    id += 1;
                }
                writeln!(go, "go").expect("telling the child to read");
                for i in id..id + COUNT {
                    let msg = message(i, DROP_SIZES[(i % 4) as usize]);
                    if i % 2 == 0 {
                        match conn.send_bytes(&msg).now_or_never() {
                            Some(Ok(())) => sent.push(i),
                            Some(Err(e)) => panic!("sending {i}: {e}"),
                            None => dropped += 1,
                        }
                    } else {
                        tokio::time::timeout(LONG, conn.send_bytes(&msg))
                            .await
                            .expect("sent in time")
                            .expect("sending");
                        sent.push(i);
                    }
                }
                // The end: an empty message.
                tokio::time::timeout(LONG, conn.send_bytes(&[]))
                    .await
                    .expect("sent in time")
                    .expect("sending the end");
                let got = tokio::time::timeout(LONG, conn.recv_bytes())
                    .await
                    .expect("the child's answer in time")
                    .expect("the child's answer");
                let got: Vec<u64> = got
                    .as_slice()
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect();
                assert_eq!(got, sent, "the child got exactly the finished sends");
                (sent, dropped)
            });
            note(format!(
                "dropped_sends: {} sent, {dropped} send futures dropped unfinished",
                sent.len()
            ));
            drop(conn);
            assert_eq!(child.wait(PEER_TIMEOUT), [format!("received {}", sent.len())]);
            drop(listener);
            std::fs::remove_dir(&dir).expect("nothing left behind");
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let end = Client::connect_raw(Address::path(address), &options()).expect("connecting");
            let conn: Conn = AsyncConnection::from_raw(end);
            // Read nothing until the parent has filled the socket (the
            // parent's end of stdin closes if it fails first).
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).expect("the go-ahead");
            assert_eq!(line.trim(), "go", "the parent's go-ahead");
            let ids = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
                .block_on(async {
                    let mut ids = Vec::new();
                    loop {
                        let frame = tokio::time::timeout(LONG, conn.recv_bytes())
                            .await
                            .expect("a message in time")
                            .expect("receiving");
                        if frame.is_empty() {
                            break;
                        }
                        let id = u64::from_le_bytes(frame[..8].try_into().expect("an id"));
                        assert!(
                            frame.as_slice() == message(id, frame.len()).as_slice(),
                            "message {id} arrived whole"
                        );
                        ids.push(id);
                    }
                    let answer: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
                    tokio::time::timeout(LONG, conn.send_bytes(&answer))
                        .await
                        .expect("answered in time")
                        .expect("answering");
                    ids
                });
            h.report(format!("received {}", ids.len()));
        }
    }
}

#[test]
fn python_framing_dropped_async_sends_arrive_whole_or_not_at_all() {
    run(
        "python_framing_dropped_async_sends_arrive_whole_or_not_at_all",
        dropped_sends,
    );
}
