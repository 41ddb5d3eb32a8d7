//! Windows: a named connection in Python's framing over a named pipe (a
//! message-mode pipe, as Python's `AF_PIPE`) through `AsyncConnection`,
//! Rust to Rust: the peer is a client on a thread of this process with the
//! blocking API. Messages in order, empty ones among them, ones past the
//! first read of a message (4 KiB) and past the pipe's buffer (64 KiB);
//! tasks woken to receive and to send; the peer's close as `Disconnected`;
//! a wait dropped unfinished, after which blocking receives still get
//! every message, in order.
#![cfg(all(windows, feature = "pipe"))]

#[path = "support/traffic.rs"]
mod traffic;

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    task::{Context, Poll, Wake, Waker},
    thread,
    time::Duration,
};

use traffic::{message, runtime};
use transport_adapters::AsyncConnection;
use transport_core::{
    RecvError,
    backend::{RawReceiver, RawSender, Wait},
    conformance::LONG,
};
use transport_pipe::{Address, Client, Listener, NamedEnd, Options};

const KEY: &[u8] = b"message pipe secret";

/// Raw bytes both ways; the type parameters are unused.
type Conn = AsyncConnection<u64, u64, NamedEnd>;

fn options() -> Options {
    Options::python().authkey(KEY)
}

/// A pipe name no other test (of this run or another) uses.
fn address(test: &str) -> Address {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Address::path(format!(
        r"\\.\pipe\tp-msg-async-{test}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A connection's two ends: the accepted one (async) and the client's,
/// handed to `client` on a thread of its own, which is returned.
fn connect<T: Send + 'static>(
    test: &str,
    client: impl FnOnce(NamedEnd) -> T + Send + 'static,
) -> (Arc<Conn>, thread::JoinHandle<T>) {
    let listener = Listener::bind(address(test), options()).expect("listening");
    let at = listener.address().clone();
    let client = thread::spawn(move || client(Client::connect_raw(at, &options()).expect("connecting")));
    let end = listener.accept_raw(Wait::timeout(LONG)).expect("accepting");
    (Arc::new(AsyncConnection::from_raw(end)), client)
}

/// Sizes around the first read of a message (4 KiB) and past the pipe's
/// buffer (64 KiB), with empty messages among them, some back to back.
const SIZES: [usize; 14] = [5, 0, 0, 1, 4095, 4096, 4097, 0, 65_536, 300_000, 0, 7, 70_000, 0];

fn size(i: u64) -> usize {
    SIZES[(i % SIZES.len() as u64) as usize]
}

fn send(end: &NamedEnd, bytes: &[u8]) {
    end.send_bytes(bytes, Wait::timeout(LONG)).expect("sending");
}

fn recv(end: &NamedEnd) -> Vec<u8> {
    end.recv_frame(Wait::timeout(LONG))
        .expect("a message")
        .as_slice()
        .to_vec()
}

async fn recv_async(conn: &Conn) -> Vec<u8> {
    tokio::time::timeout(LONG, conn.recv_bytes())
        .await
        .expect("received in time")
        .expect("a message")
        .as_slice()
        .to_vec()
}

async fn send_async(conn: &Conn, bytes: &[u8]) {
    tokio::time::timeout(LONG, conn.send_bytes(bytes))
        .await
        .expect("sent in time")
        .expect("sending");
}

/// One message at a time: the client sends, the task receives it (having
/// waited for it: the client sends only once it has the echo before) and
/// sends it back, the client checks the echo.
#[test]
fn python_pipe_async_echo_one_at_a_time() {
    const COUNT: u64 = 2 * SIZES.len() as u64;
    let (conn, client) = connect("echo", |end| {
        for i in 0..COUNT {
            let m = message(i, size(i));
            send(&end, &m);
            assert_eq!(recv(&end), m, "echo {i}");
        }
    });
    runtime().block_on(async {
        for i in 0..COUNT {
            let got = recv_async(&conn).await;
            assert_eq!(got, message(i, size(i)), "message {i}");
            send_async(&conn, &got).await;
        }
    });
    client.join().expect("the client");
}

/// A burst each way: the client sends every message before it reads, the
/// task receives them all in order, then sends them all back at once, so
/// its sends wait for the client to read the long ones (past the pipe's
/// buffer, each still being written when the next one is asked for).
#[test]
fn python_pipe_async_bursts_keep_order() {
    const COUNT: u64 = 10 * SIZES.len() as u64;
    let (conn, client) = connect("burst", |end| {
        for i in 0..COUNT {
            send(&end, &message(i, size(i)));
        }
        for i in 0..COUNT {
            assert_eq!(recv(&end), message(i, size(i)), "echo {i}");
        }
    });
    runtime().block_on(async {
        for i in 0..COUNT {
            assert_eq!(recv_async(&conn).await, message(i, size(i)), "message {i}");
        }
        for i in 0..COUNT {
            send_async(&conn, &message(i, size(i))).await;
        }
    });
    client.join().expect("the client");
}

/// A waker that reports each wake on a channel.
struct Signal(mpsc::Sender<()>);

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        let _ = self.0.send(());
    }
}

fn signal() -> (Waker, mpsc::Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    (Waker::from(Arc::new(Signal(tx))), rx)
}

/// Polls `fut` with `waker` until it is ready, waiting at most [`LONG`]
/// for each wake.
fn poll_until_ready<T>(
    mut fut: Pin<&mut impl Future<Output = T>>,
    waker: &Waker,
    woken: &mpsc::Receiver<()>,
) -> T {
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        woken.recv_timeout(LONG).expect("woken in time");
    }
}

/// A task waiting to receive is woken by the messages, then by the peer's
/// close, which it receives as `Disconnected`.
#[test]
fn python_pipe_async_peer_close_is_disconnected() {
    let (go_tx, go_rx) = mpsc::channel::<&str>();
    let (conn, client) = connect("close", move |end| {
        assert_eq!(go_rx.recv_timeout(LONG).expect("the go-ahead"), "send");
        send(&end, b"");
        send(&end, &message(1, 5000));
        assert_eq!(go_rx.recv_timeout(LONG).expect("the go-ahead"), "close");
        drop(end);
    });
    let (waker, woken) = signal();
    let mut cx = Context::from_waker(&waker);
    let mut first = Box::pin(conn.recv_bytes());
    assert!(first.as_mut().poll(&mut cx).is_pending(), "nothing was sent yet");
    go_tx.send("send").expect("telling the client");
    let got = poll_until_ready(first.as_mut(), &waker, &woken).expect("the empty message");
    assert!(got.as_slice().is_empty());
    let got = poll_until_ready(Box::pin(conn.recv_bytes()).as_mut(), &waker, &woken).expect("a message");
    assert_eq!(got.as_slice(), message(1, 5000));
    let mut last = Box::pin(conn.recv_bytes());
    assert!(
        last.as_mut().poll(&mut cx).is_pending(),
        "the peer is still there"
    );
    go_tx.send("close").expect("telling the client");
    let got = poll_until_ready(last.as_mut(), &waker, &woken);
    assert!(matches!(got, Err(RecvError::Disconnected)), "{got:?}");
    client.join().expect("the client");
}

/// Waits dropped unfinished leave nothing behind and take nothing: one
/// that timed out with nothing sent, and one that was woken by the first
/// message (which the pipe's read ahead then holds: an empty one) and
/// dropped before it took it; then blocking receives, one of which times
/// out first, get every message in order, and an async receive the next.
#[test]
fn python_pipe_async_dropped_wait_then_blocking_receives_in_order() {
    const COUNT: u64 = SIZES.len() as u64;
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (conn, client) = connect("dropped", move |end| {
        go_rx.recv_timeout(LONG).expect("the go-ahead");
        // An empty message first: the one a zero-byte read would lose.
        send(&end, b"");
        for i in 0..COUNT {
            send(&end, &message(i, size(i)));
        }
        go_rx.recv_timeout(LONG).expect("the go-ahead");
        send(&end, b"last");
        go_rx.recv_timeout(LONG).expect("the end");
    });
    let rt = runtime();
    rt.block_on(async {
        let timed_out = tokio::time::timeout(Duration::from_millis(50), conn.recv_bytes()).await;
        assert!(timed_out.is_err(), "nothing was sent yet: {timed_out:?}");
    });
    let (waker, woken) = signal();
    let mut cx = Context::from_waker(&waker);
    let mut waiting = Box::pin(conn.recv_bytes());
    assert!(
        waiting.as_mut().poll(&mut cx).is_pending(),
        "nothing was sent yet"
    );
    go_tx.send(()).expect("telling the client");
    woken.recv_timeout(LONG).expect("woken by the first message");
    drop(waiting);
    let end = conn.get_ref().raw();
    assert!(
        end.recv_frame(Wait::Never)
            .expect("the empty message")
            .as_slice()
            .is_empty()
    );
    for i in 0..COUNT {
        assert_eq!(recv(end), message(i, size(i)), "message {i}");
    }
    assert!(
        matches!(
            end.recv_frame(Wait::timeout(Duration::from_millis(20))),
            Err(transport_core::backend::RawRecvError::NotReady)
        ),
        "nothing more was sent yet"
    );
    go_tx.send(()).expect("telling the client");
    rt.block_on(async { assert_eq!(recv_async(&conn).await, b"last") });
    go_tx.send(()).expect("telling the client");
    client.join().expect("the client");
}
