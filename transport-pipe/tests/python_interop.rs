//! Interop with Python's `multiprocessing.connection`, against every
//! CPython 3 on the machine (pyenv's and `PATH`'s): Python 3.12 and later
//! deliver the `{sha256}` handshake, 3.11 and earlier the legacy HMAC-MD5
//! one. Every test carries `python` in its name (`cargo test python`), and
//! says on standard error which versions it ran on.
#![cfg(unix)]

mod python;

use std::time::Duration;

use python::{Interp, PyPeer, TempDir, interpreters, ran};
use transport_pipe::{
    Address, AuthError, Client, ConnectError, Listener, Options, PyConnection, PyRecvError,
    python::pickle::{PickleError, Value},
};

const KEY: &[u8] = b"interop secret";

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// The values of `SAMPLES` in peer.py, in the same order.
fn samples() -> Vec<Value> {
    use Value::*;
    let int = |s: &str| {
        Value::int(
            s.parse::<transport_pipe::python::pickle::BigInt>()
                .expect("a number"),
        )
    };
    let mut big_bytes = Vec::new();
    for _ in 0..2 {
        big_bytes.extend(0..=255u8);
    }
    vec![
        None,
        Bool(true),
        Bool(false),
        Int(0),
        Int(1),
        Int(-1),
        Int(255),
        Int(256),
        Int(65535),
        Int(65536),
        Int(-(1 << 31)),
        Int((1 << 31) - 1),
        Int(1 << 31),
        Int(i64::MAX),
        Int(i64::MIN),
        int("18446744073709551616"),
        int("-1267650600228229401496703205376"),
        int("12345678901234567890123456789"),
        Float(0.0),
        Float(-1.5),
        Float(1e300),
        Float(f64::INFINITY),
        Str(String::new()),
        "hello".into(),
        "h\u{e9}llo \u{20ac}".into(),
        Str("x".repeat(300)),
        Bytes(vec![]),
        Bytes(vec![0, 255]),
        Bytes(big_bytes),
        Tuple(vec![]),
        Tuple(vec![Int(1)]),
        Tuple(vec![Int(1), Int(2)]),
        Tuple(vec![Int(1), Int(2), Int(3)]),
        Tuple(vec![Int(1), Int(2), Int(3), Int(4)]),
        List(vec![]),
        List(vec![Int(1), List(vec![Int(2), List(vec![Int(3)])])]),
        Dict(vec![]),
        Dict(vec![
            ("a".into(), Int(1)),
            ("b".into(), List(vec![Int(1), Int(2)])),
        ]),
        Dict(vec![(Int(1), "one".into()), (Tuple(vec![Int(1), Int(2)]), None)]),
        Set(vec![]),
        Set(vec![Int(1), Int(2), Int(3)]),
        FrozenSet(vec![]),
        FrozenSet(vec!["a".into()]),
        Bytes(b"ba".to_vec()),
    ]
}

/// Sends bytes (empty, small, large) and a typed value through Python's
/// echo, and reads them back.
fn drive_echo(conn: PyConnection) {
    for msg in [
        b"hello".to_vec(),
        Vec::new(),
        vec![0xa5; 100_000],
        vec![7; 3 << 20],
    ] {
        conn.send_bytes(&msg).expect("send_bytes");
        assert_eq!(conn.recv_bytes().expect("the echo").as_slice(), &msg[..]);
    }
    // A typed message travels as its rkyv bytes; Python sees bytes.
    let typed = conn.into_typed::<u64, u64>();
    typed.send(0x0102_0304_0506_0708u64).expect("typed send");
    assert_eq!(*typed.recv().expect("typed echo"), 0x0102_0304_0506_0708u64);
}

/// Reads every sample at every protocol Python has, sends them back, and
/// sees a class instance refused by name.
fn drive_values(conn: PyConnection, py: &Interp) {
    let first = conn.recv_bytes().expect("the protocol count");
    let highest: u8 = std::str::from_utf8(&first)
        .ok()
        .and_then(|s| s.strip_prefix("protocols "))
        .and_then(|n| n.parse().ok())
        .expect("`protocols N`");
    let samples = samples();
    for proto in 0..=highest {
        for (i, want) in samples.iter().enumerate() {
            let got = conn
                .recv()
                .unwrap_or_else(|e| panic!("Python {} protocol {proto} sample {i}: {e}", py.version));
            assert_eq!(&got, want, "Python {} protocol {proto} sample {i}", py.version);
        }
    }
    for v in &samples {
        conn.send(v).expect("send a value");
    }
    let verdict = conn.recv_bytes().expect("Python's verdict");
    assert_eq!(
        std::str::from_utf8(&verdict).unwrap(),
        "all equal",
        "Python {}",
        py.version
    );
    match conn.recv() {
        Err(PyRecvError::Pickle(e @ PickleError::Refused { .. })) => {
            assert!(e.to_string().contains("`fractions.Fraction`"), "{e}")
        }
        other => panic!("a Fraction must be refused by name, got {other:?}"),
    }
    conn.send_bytes(b"done").expect("the last word");
}

fn python_options() -> Options {
    Options::python().authkey(KEY)
}

#[test]
fn python_listener_rust_client() {
    for py in interpreters() {
        let dir = TempDir::new("py-listen");
        for (address, scenario) in [
            (dir.join("echo.sock").display().to_string(), "echo"),
            (format!("@tp-py-{}-{}", std::process::id(), py.version), "values"),
        ] {
            let mut peer = PyPeer::spawn(&py, &["listen", &address, &hex(KEY), scenario]);
            peer.expect("ready");
            let conn =
                Client::connect_python(address.as_str(), &python_options()).expect("connecting to Python");
            match scenario {
                "echo" => {
                    drive_echo(conn);
                    assert_eq!(peer.expect("result"), "echoed 5");
                }
                _ => {
                    drive_values(conn, &py);
                    assert_eq!(peer.expect("result"), "values 0");
                }
            }
            assert!(peer.finish().success());
        }
        ran("python_listener_rust_client", &py);
    }
}

#[test]
fn python_client_rust_listener() {
    for py in interpreters() {
        let dir = TempDir::new("py-connect");
        for (address, scenario) in [
            (Address::path(dir.join("echo.sock")), "echo"),
            (Address::tcp("127.0.0.1:0".parse().unwrap()), "values"),
        ] {
            let listener = Listener::bind(address, python_options()).expect("listening");
            let at = listener.address().to_string();
            let mut peer = PyPeer::spawn(&py, &["connect", &at, &hex(KEY), scenario]);
            let conn = listener.accept_python().expect("accepting Python");
            match scenario {
                "echo" => {
                    drive_echo(conn);
                    assert_eq!(peer.expect("result"), "echoed 5");
                }
                _ => {
                    drive_values(conn, &py);
                    assert_eq!(peer.expect("result"), "values 0");
                }
            }
            assert!(peer.finish().success());
        }
        ran("python_client_rust_listener", &py);
    }
}

/// Message `n` of a burst: `n` (8 bytes, big-endian), then `n % 251` up to
/// its length: mostly a few dozen bytes, every 13th 4 KiB, every 97th
/// 70,000 bytes (larger than a sending end writes through its backlog).
fn numbered(n: u64) -> Vec<u8> {
    let len = match n {
        n if n % 97 == 0 => 70_000,
        n if n % 13 == 0 => 4096,
        n => 8 + (n % 57) as usize,
    };
    let mut msg = n.to_be_bytes().to_vec();
    msg.resize(len, (n % 251) as u8);
    msg
}

/// A burst sent faster than Python reads it (so the end's sends outrun the
/// socket, and on Unix gather in its backlog), and the connection dropped
/// right after the last send: Python reads every message whole and in
/// order, those still waiting in this process at the drop included.
#[test]
fn python_reads_a_burst_whole_and_in_order() {
    const BURST: u64 = 30_000;
    for py in interpreters() {
        let dir = TempDir::new("py-burst");
        let listener =
            Listener::bind(Address::path(dir.join("burst.sock")), python_options()).expect("listening");
        let at = listener.address().to_string();
        let mut peer = PyPeer::spawn(&py, &["connect", &at, &hex(KEY), "count"]);
        let conn = listener.accept_python().expect("accepting Python");
        for n in 0..BURST {
            conn.send_bytes(&numbered(n)).expect("send_bytes");
        }
        drop(conn);
        assert_eq!(peer.expect("result"), format!("counted {BURST} bad 0"));
        assert!(peer.finish().success());
        ran("python_reads_a_burst_whole_and_in_order", &py);
    }
}

#[test]
fn python_wrong_key_is_refused_both_ways() {
    for py in interpreters() {
        let dir = TempDir::new("py-key");
        // Python listens; our client has the wrong key.
        let path = dir.join("py.sock").display().to_string();
        let mut peer = PyPeer::spawn(&py, &["listen", &path, &hex(KEY), "echo"]);
        peer.expect("ready");
        match Client::connect_python(path.as_str(), &Options::python().authkey(b"wrong")) {
            Err(ConnectError::Auth(e @ AuthError::Rejected)) => {
                assert_eq!(e.to_string(), "digest sent was rejected")
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(
            peer.expect("error"),
            "AuthenticationError: digest received was wrong"
        );
        peer.finish();
        // We listen; Python's client has the wrong key.
        let listener =
            Listener::bind(Address::path(dir.join("rust.sock")), python_options()).expect("listening");
        let mut peer = PyPeer::spawn(
            &py,
            &["connect", &listener.address().to_string(), &hex(b"wrong"), "echo"],
        );
        match listener.accept_python() {
            Err(ConnectError::Auth(e @ AuthError::WrongDigest)) => {
                assert_eq!(e.to_string(), "digest received was wrong")
            }
            other => panic!("expected a wrong digest, got {other:?}"),
        }
        assert_eq!(
            peer.expect("error"),
            "AuthenticationError: digest sent was rejected"
        );
        peer.finish();
        ran("python_wrong_key_is_refused_both_ways", &py);
    }
}

#[test]
fn python_zero_length_and_maxlength() {
    for py in interpreters() {
        let dir = TempDir::new("py-max");
        let listener =
            Listener::bind(Address::path(dir.join("m.sock")), python_options()).expect("listening");
        let mut peer = PyPeer::spawn(
            &py,
            &["connect", &listener.address().to_string(), &hex(KEY), "maxlength"],
        );
        let conn = listener.accept_python().expect("accepting");
        match conn.recv_bytes_max(100) {
            Err(PyRecvError::TooLarge {
                len: 1000,
                limit: 100,
            }) => {}
            other => panic!("expected TooLarge, got {other:?}"),
        }
        // As in Python, the connection is not readable after that.
        assert!(matches!(conn.recv_bytes(), Err(PyRecvError::Malformed(_))));
        conn.send_bytes(b"").expect("a zero-length message");
        assert_eq!(peer.expect("zero"), "0");
        conn.send_bytes(&[1u8; 1000]).expect("a long message");
        assert_eq!(peer.expect("error"), "OSError: bad message length");
        peer.finish();
        ran("python_zero_length_and_maxlength", &py);
    }
}

#[test]
fn python_peer_killed_mid_message_is_disconnected() {
    for py in interpreters() {
        let dir = TempDir::new("py-kill");
        let listener =
            Listener::bind(Address::path(dir.join("k.sock")), python_options()).expect("listening");
        let mut peer = PyPeer::spawn(
            &py,
            &["connect", &listener.address().to_string(), &hex(KEY), "partial"],
        );
        let conn = listener.accept_python().expect("accepting");
        peer.expect("partial-sent");
        assert!(
            !conn.poll(Duration::ZERO).expect("poll"),
            "half a message is not a message"
        );
        peer.kill();
        match conn.recv_bytes_timeout(python::STEP) {
            Err(PyRecvError::Disconnected) => {}
            other => panic!("expected Disconnected, got {other:?}"),
        }
        peer.finish();
        ran("python_peer_killed_mid_message_is_disconnected", &py);
    }
}

/// Set by peer.py in the Rust child's environment only.
const PIPE_CHILD: &str = "TRANSPORT_PIPE_PY_FD";

#[test]
fn python_pipe_end_inherited_by_rust_child() {
    if std::env::var(PIPE_CHILD).is_ok() {
        return pipe_child();
    }
    for py in interpreters() {
        let exe = std::env::current_exe().expect("the test binary");
        let exe = exe.display().to_string();
        let mut cmd_args = vec![
            "pipe-parent",
            exe.as_str(),
            "python_pipe_end_inherited_by_rust_child",
        ];
        cmd_args.extend(["--exact", "--nocapture", "--test-threads=1"]);
        // Python tells the child its role: it sets the descriptor's number
        // in the child's environment.
        let mut peer = PyPeer::spawn(&py, &cmd_args);
        assert_eq!(peer.expect("answer"), "('done', 7)");
        assert_eq!(peer.expect("raw"), "b'raw back'");
        assert_eq!(peer.expect("result child"), "0");
        assert!(peer.finish().success());
        ran("python_pipe_end_inherited_by_rust_child", &py);
    }
}

/// The Rust child: Python's `Pipe()` end arrived as an inherited descriptor.
fn pipe_child() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let fd: i32 = std::env::var(PIPE_CHILD)
        .expect("Python passes the descriptor's number")
        .parse()
        .expect("a descriptor number");
    // SAFETY: Python passed this descriptor to this process alone
    // (`pass_fds`), and nothing else here opened it.
    let conn = PyConnection::from_fd(unsafe { OwnedFd::from_raw_fd(fd) }).expect("the inherited end");
    let job = conn.recv().expect("the job");
    assert_eq!(job.get(&"job".into()), Some(&Value::Int(7)));
    conn.send(&Value::Tuple(vec!["done".into(), Value::Int(7)]))
        .expect("answer");
    assert_eq!(conn.recv_bytes().expect("raw").as_slice(), b"raw");
    conn.send_bytes(b"raw back").expect("raw answer");
    assert!(conn.recv_bytes().expect_err("Python closed").is_disconnected());
}

/// The length form past 2 GiB (`-1`, then 8 bytes) that our framing
/// writes for such messages, as Python reads it (shown with a short
/// message: the form is what matters, not the size).
#[test]
fn python_reads_the_long_length_form() {
    use std::io::{Read, Write};

    use transport_pipe::python::frame::Framing;
    for py in interpreters() {
        if py.minor() < (3, 8) {
            python::note(format!(
                "python: SKIP python_reads_the_long_length_form on Python {}: the long form came with 3.8",
                py.version
            ));
            continue;
        }
        let dir = TempDir::new("py-long");
        let path = dir.join("long.sock").display().to_string();
        let mut peer = PyPeer::spawn(&py, &["listen", &path, "", "echo"]);
        peer.expect("ready");
        let mut raw = std::os::unix::net::UnixStream::connect(&path).expect("connecting");
        raw.set_read_timeout(Some(python::STEP)).expect("a timeout");
        let mut long = (-1i32).to_be_bytes().to_vec();
        long.extend_from_slice(&5u64.to_be_bytes());
        long.extend_from_slice(b"hello");
        raw.write_all(&long).expect("writing");
        // Python echoes it in its short form, which our framing parses.
        let mut back = [0u8; 9];
        raw.read_exact(&mut back).expect("the echo");
        assert_eq!(Framing::Python.parse(&back), Ok(Some((4, 5))));
        assert_eq!(&back[4..], b"hello");
        drop(raw);
        assert_eq!(peer.expect("result"), "echoed 1");
        peer.finish();
        ran("python_reads_the_long_length_form", &py);
    }
}

/// Python's `multiprocessing.connection.wait` over connections to Python:
/// two Python clients echo; `transport_core::wait` reports the one that
/// has a message, and only it (feature `tokio`).
#[cfg(feature = "tokio")]
#[test]
fn python_wait_over_several_connections() {
    for py in interpreters() {
        let dir = TempDir::new("py-wait");
        let listener =
            Listener::bind(Address::path(dir.join("wait.sock")), python_options()).expect("listening");
        let at = listener.address().to_string();
        let mut peers = [
            PyPeer::spawn(&py, &["connect", &at, &hex(KEY), "echo"]),
            PyPeer::spawn(&py, &["connect", &at, &hex(KEY), "echo"]),
        ];
        let conns = [
            listener.accept_python().expect("accepting Python"),
            listener.accept_python().expect("accepting Python"),
        ];
        for (i, msg) in [(1, b"to b".as_slice()), (0, b"to a".as_slice())] {
            conns[i].send_bytes(msg).expect("send_bytes");
            let ready = transport_core::wait(&[&conns[0], &conns[1]], Some(python::STEP)).expect("waiting");
            assert_eq!(ready, [i], "only the connection that was answered is ready");
            assert_eq!(conns[i].recv_bytes().expect("the echo").as_slice(), msg);
        }
        assert!(
            transport_core::wait(&[&conns[0], &conns[1]], Some(Duration::ZERO))
                .expect("waiting")
                .is_empty(),
            "nothing more to read"
        );
        drop(conns);
        for peer in &mut peers {
            assert_eq!(peer.expect("result"), "echoed 1");
        }
        for peer in peers {
            assert!(peer.finish().success());
        }
        ran("python_wait_over_several_connections", &py);
    }
}
