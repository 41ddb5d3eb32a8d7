//! Rust to Rust in Python's framing (`Options::python`), across real
//! processes: over TCP on every system, and on Windows also over a named
//! pipe, which is then a message-mode pipe as Python's `AF_PIPE` makes
//! one. Authkey right and wrong, empty and multi-part messages, several
//! clients, `maxlength` exceeded, a peer killed in the middle of a message.
//! Every test carries `python` in its name (`cargo test python`); the tests
//! against a real CPython are in `python_interop.rs` (Unix: Wine cannot
//! run CPython here, so on Windows this file is the proof of the framing).

use std::time::Duration;

use transport_core::conformance::{self, Harness, LONG, PEER_TIMEOUT, Role};
use transport_pipe::{
    Address, AuthError, Client, ConnectError, Listener, Options, PyRecvError, python::pickle::Value,
};

const KEY: &[u8] = b"python framing secret";

fn run(name: &str, case: conformance::Case) {
    conformance::run(conformance::test_name(module_path!(), name), "pipe", true, case);
}

/// The kinds of address each test runs over here.
fn kinds() -> &'static [&'static str] {
    if cfg!(windows) { &["tcp", "pipe"] } else { &["tcp"] }
}

/// A fresh address of `kind` for this test.
fn address(h: &Harness, kind: &str, what: &str) -> Address {
    match kind {
        "tcp" => Address::tcp("127.0.0.1:0".parse().expect("an address")),
        _ => Address::path(format!(r"\\.\pipe\tp-{}", h.unique_name(what))),
    }
}

fn options() -> Options {
    Options::python().authkey(KEY)
}

/// The messages each client sends, echoed back: empty ones, one past the
/// first read of a pipe message (4 KiB) and past the pipe's buffer
/// (64 KiB), and the client's id.
fn messages(id: u64) -> Vec<Vec<u8>> {
    vec![
        b"hello".to_vec(),
        Vec::new(),
        vec![0xa5; 4097],
        Vec::new(),
        (0..300_000u32).map(|i| (i % 251) as u8).collect(),
        id.to_string().into_bytes(),
    ]
}

fn round_trips(h: &Harness) {
    const CLIENTS: u64 = 3;
    match h.role() {
        Role::Parent => {
            for kind in kinds() {
                let listener = Listener::bind(address(h, kind, "rt"), options()).expect("listening");
                let children: Vec<_> = (0..CLIENTS)
                    .map(|i| {
                        h.child("client")
                            .param("address", listener.address())
                            .param("id", i)
                            .spawn()
                    })
                    .collect();
                let mut ids = Vec::new();
                for _ in 0..CLIENTS {
                    let conn = listener.accept_python_timeout(LONG).expect("a client");
                    let mut got = Vec::new();
                    loop {
                        let msg = conn.recv_bytes_timeout(LONG).expect("a message");
                        if msg.as_slice() == b"values" {
                            break;
                        }
                        conn.send_bytes(&msg).expect("the echo");
                        got.push(msg.to_vec());
                    }
                    let id: u64 = std::str::from_utf8(got.last().expect("the id"))
                        .expect("text")
                        .parse()
                        .expect("a number");
                    assert_eq!(got, messages(id), "over {kind}");
                    let value = conn.recv_timeout(LONG).expect("a pickled value");
                    conn.send(&value).expect("the value back");
                    ids.push(id);
                }
                for child in children {
                    assert_eq!(child.wait(PEER_TIMEOUT), ["echoed"], "over {kind}");
                }
                ids.sort();
                assert_eq!(ids, (0..CLIENTS).collect::<Vec<_>>(), "over {kind}");
            }
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let id: u64 = h.param("id");
            let conn = Client::connect_python(address.as_str(), &options()).expect("connecting");
            for msg in messages(id) {
                conn.send_bytes(&msg).expect("send_bytes");
                assert_eq!(
                    conn.recv_bytes_timeout(LONG).expect("the echo").as_slice(),
                    &msg[..]
                );
            }
            conn.send_bytes(b"values").expect("send_bytes");
            let value = Value::Tuple(vec![
                Value::Int(id as i64),
                "job".into(),
                Value::Bytes(vec![]),
                Value::List(vec![Value::None, Value::Float(1.5)]),
            ]);
            conn.send(&value).expect("a pickled value");
            assert_eq!(conn.recv_timeout(LONG).expect("the value back"), value);
            h.report("echoed");
        }
    }
}

#[test]
fn python_framing_round_trips_with_many_clients() {
    run("python_framing_round_trips_with_many_clients", round_trips);
}

fn wrong_key(h: &Harness) {
    match h.role() {
        Role::Parent => {
            for kind in kinds() {
                let listener = Listener::bind(address(h, kind, "key"), options()).expect("listening");
                let child = h.child("client").param("address", listener.address()).spawn();
                match listener.accept_python_timeout(LONG) {
                    Err(ConnectError::Auth(AuthError::WrongDigest)) => {}
                    other => panic!("over {kind}: expected a wrong digest, got {other:?}"),
                }
                assert_eq!(
                    child.wait(PEER_TIMEOUT),
                    ["digest sent was rejected"],
                    "over {kind}"
                );
            }
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            match Client::connect_python(address.as_str(), &Options::python().authkey(b"wrong")) {
                Err(ConnectError::Auth(e)) => h.report(e),
                other => panic!("expected a rejection, got {other:?}"),
            }
        }
    }
}

#[test]
fn python_framing_wrong_key_is_refused() {
    run("python_framing_wrong_key_is_refused", wrong_key);
}

fn maxlength(h: &Harness) {
    match h.role() {
        Role::Parent => {
            for kind in kinds() {
                let listener = Listener::bind(address(h, kind, "max"), options()).expect("listening");
                let child = h.child("client").param("address", listener.address()).spawn();
                let conn = listener.accept_python_timeout(LONG).expect("a client");
                assert_eq!(
                    conn.recv_bytes_max(100).expect("a short message").as_slice(),
                    b"short"
                );
                match conn.recv_bytes_max(1000) {
                    Err(PyRecvError::TooLarge {
                        len: 10_000,
                        limit: 1000,
                    }) => {}
                    other => panic!("over {kind}: expected TooLarge, got {other:?}"),
                }
                // As in Python, the connection is not readable after it.
                assert!(
                    matches!(conn.recv_bytes_timeout(LONG), Err(PyRecvError::Malformed(_))),
                    "over {kind}"
                );
                conn.send_bytes(b"refused").expect("sending still works");
                assert_eq!(child.wait(PEER_TIMEOUT), ["told"], "over {kind}");
            }
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let conn = Client::connect_python(address.as_str(), &options()).expect("connecting");
            conn.send_bytes(b"short").expect("send_bytes");
            conn.send_bytes(&[1u8; 10_000]).expect("send_bytes");
            conn.send_bytes(b"after").expect("send_bytes");
            assert_eq!(
                conn.recv_bytes_timeout(LONG).expect("the answer").as_slice(),
                b"refused"
            );
            h.report("told");
        }
    }
}

#[test]
fn python_framing_maxlength_exceeded_is_refused() {
    run("python_framing_maxlength_exceeded_is_refused", maxlength);
}

/// The message a killed peer was sending; over a pipe it may have been
/// all in the pipe when the peer died, and then it is received whole.
const BIG: usize = 8 << 20;

fn killed(h: &Harness) {
    match h.role() {
        Role::Parent => {
            for kind in kinds() {
                // No key: the TCP sender writes on a raw socket.
                let listener =
                    Listener::bind(address(h, kind, "kill"), Options::python()).expect("listening");
                let mut child = h
                    .child("sender")
                    .param("address", listener.address())
                    .param("kind", kind)
                    .spawn();
                let conn = listener.accept_python_timeout(LONG).expect("a client");
                assert_eq!(child.expect_report(LONG), "sending");
                child.kill();
                // Disconnected, never a hang and never a message cut short.
                match conn.recv_bytes_timeout(LONG) {
                    Err(PyRecvError::Disconnected) => {
                        eprintln!("over {kind}: the message cut short was dropped");
                    }
                    Ok(whole) => {
                        eprintln!("over {kind}: the message was all in the pipe, and came whole");
                        assert_eq!(whole.len(), BIG, "over {kind}: a message cut short");
                        assert!(matches!(
                            conn.recv_bytes_timeout(LONG),
                            Err(PyRecvError::Disconnected)
                        ));
                    }
                    other => panic!("over {kind}: expected Disconnected, got {other:?}"),
                }
            }
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let kind: String = h.param("kind");
            if kind == "tcp" {
                // Half a message on a raw socket: the header says 1000
                // bytes, 10 follow.
                let addr: std::net::SocketAddr = address.parse().expect("a TCP address");
                let mut raw = std::net::TcpStream::connect(addr).expect("connecting");
                std::io::Write::write_all(&mut raw, &1000u32.to_be_bytes()).expect("the header");
                std::io::Write::write_all(&mut raw, &[9u8; 10]).expect("part of the message");
                h.report("sending");
            } else {
                let conn = Client::connect_python(address.as_str(), &Options::python()).expect("connecting");
                h.report("sending");
                // The parent does not read: this blocks until the kill.
                let _ = conn.send_bytes(&vec![3u8; BIG]);
            }
            std::thread::sleep(PEER_TIMEOUT);
        }
    }
}

#[test]
fn python_framing_peer_killed_mid_message_is_disconnected() {
    run("python_framing_peer_killed_mid_message_is_disconnected", killed);
}

/// Both sides send a message far larger than the pipe's or the socket's
/// buffer at once: neither waits for the other forever (a blocked send
/// reads what the peer sends meanwhile).
fn both_full(h: &Harness) {
    const LEN: usize = 3 << 20;
    match h.role() {
        Role::Parent => {
            for kind in kinds() {
                let listener = Listener::bind(address(h, kind, "full"), options()).expect("listening");
                let child = h.child("peer").param("address", listener.address()).spawn();
                let conn = listener.accept_python_timeout(LONG).expect("a client");
                conn.send_bytes(&vec![1u8; LEN]).expect("sending");
                let got = conn.recv_bytes_timeout(LONG).expect("the peer's message");
                assert!(got.len() == LEN && got.iter().all(|&b| b == 2), "over {kind}");
                assert_eq!(child.wait(PEER_TIMEOUT), ["both ways"], "over {kind}");
            }
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let conn = Client::connect_python(address.as_str(), &options()).expect("connecting");
            conn.send_bytes(&vec![2u8; LEN]).expect("sending");
            let got = conn.recv_bytes_timeout(LONG).expect("the parent's message");
            assert!(got.len() == LEN && got.iter().all(|&b| b == 1));
            h.report("both ways");
        }
    }
}

#[test]
fn python_framing_both_sides_sending_at_once_do_not_deadlock() {
    run(
        "python_framing_both_sides_sending_at_once_do_not_deadlock",
        both_full,
    );
}

/// A long message sent just before the sender closes and exits still
/// arrives whole (on a pipe, the drop waits for the peer to read it).
fn sent_then_closed(h: &Harness) {
    const LEN: usize = 2 << 20;
    match h.role() {
        Role::Parent => {
            for kind in kinds() {
                let listener = Listener::bind(address(h, kind, "close"), options()).expect("listening");
                let child = h.child("sender").param("address", listener.address()).spawn();
                let conn = listener.accept_python_timeout(LONG).expect("a client");
                let got = conn.recv_bytes_timeout(LONG).expect("the last message");
                assert!(got.len() == LEN && got.iter().all(|&b| b == 5), "over {kind}");
                assert!(
                    matches!(conn.recv_bytes_timeout(LONG), Err(PyRecvError::Disconnected)),
                    "over {kind}"
                );
                assert_eq!(child.wait(PEER_TIMEOUT), ["closed"], "over {kind}");
            }
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let conn = Client::connect_python(address.as_str(), &options()).expect("connecting");
            conn.send_bytes(&vec![5u8; LEN]).expect("sending");
            drop(conn);
            h.report("closed");
        }
    }
}

#[test]
fn python_framing_message_sent_before_close_arrives_whole() {
    run(
        "python_framing_message_sent_before_close_arrives_whole",
        sent_then_closed,
    );
}

/// Windows: on the wire of a named pipe in Python's framing each message
/// is one pipe message with no length before it, as Python writes it: a
/// plain file handle on the pipe (byte reads, one `WriteFile` per write)
/// sees exactly the bytes.
#[test]
fn python_framing_named_pipe_has_no_length_prefix() {
    #[cfg(windows)]
    run("python_framing_named_pipe_has_no_length_prefix", raw_pipe);
    #[cfg(not(windows))]
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIP python_framing_named_pipe_has_no_length_prefix: named pipes are Windows'"
        );
    }
}

#[cfg(windows)]
fn raw_pipe(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let address = address(h, "pipe", "raw");
            let listener = Listener::bind(address, Options::python()).expect("listening");
            let child = h.child("raw").param("address", listener.address()).spawn();
            let conn = listener.accept_python_timeout(LONG).expect("a client");
            conn.send_bytes(b"abc").expect("send_bytes");
            assert_eq!(
                conn.recv_bytes_timeout(LONG).expect("a message").as_slice(),
                b"xyz"
            );
            assert_eq!(
                conn.recv_bytes_timeout(LONG).expect("a message").as_slice(),
                b"12345"
            );
            assert_eq!(child.wait(PEER_TIMEOUT), ["abc"]);
        }
        Role::Child(_) => {
            use std::io::{Read, Write};
            let address: String = h.param("address");
            let mut pipe = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&address)
                .expect("opening the pipe");
            let mut got = [0u8; 3];
            pipe.read_exact(&mut got).expect("the message's bytes");
            pipe.write_all(b"xyz").expect("one write");
            pipe.write_all(b"12345").expect("another");
            h.report(String::from_utf8_lossy(&got));
        }
    }
}

/// A client that says nothing (a raw socket, or a plain file handle on
/// the pipe) cannot hold up `accept` past the handshake's timeout.
#[test]
fn python_framing_silent_client_times_out() {
    let check = |kind: &str| {
        let address = match kind {
            "tcp" => Address::tcp("127.0.0.1:0".parse().expect("an address")),
            _ => Address::path(format!(
                r"\\.\pipe\tp-silent-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            )),
        };
        let listener = Listener::bind(address, options().handshake_timeout(Duration::from_millis(200)))
            .expect("listening");
        let silent: Box<dyn std::any::Any> = match listener.address() {
            Address::Tcp(addr) => Box::new(std::net::TcpStream::connect(addr).expect("connecting")),
            other => Box::new(
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(other.to_string())
                    .expect("opening the pipe"),
            ),
        };
        match listener.accept_python_timeout(LONG) {
            Err(ConnectError::Auth(AuthError::Timeout)) => {}
            other => panic!("over {kind}: expected a handshake timeout, got {other:?}"),
        }
        drop(silent);
    };
    for kind in kinds() {
        check(kind);
    }
}
