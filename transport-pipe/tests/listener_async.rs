//! A named connection in this crate's framing wakes an async task when a
//! message comes (`PollRecv`, feature `tokio`), as a pipe end does: what
//! the async adapters and a `Select` build on. Over a socket file (Unix),
//! over TCP (every system, in both framings), and in Python's framing over
//! a Windows named pipe (a message-mode pipe; more of it through the
//! adapters in `adapters/tests/python_pipe_async.rs`).

use std::{
    future::poll_fn,
    io,
    task::{Context, Poll},
    time::Duration,
};

use transport_core::backend::{PollRecv, PollSend, RawReceiver, RawRecvError, RawSender, Wait};
use transport_pipe::{Address, Client, Listener, Options};

const LONG: Duration = Duration::from_secs(60);

/// Polls `ready` once, which must be pending (`why` says why), then calls
/// `release` (the waker is registered: the peer may act now), and waits at
/// most [`LONG`] for `ready` to wake the task and say ready.
async fn woken_after(
    mut ready: impl FnMut(&mut Context<'_>) -> Poll<io::Result<()>>,
    why: &str,
    release: impl FnOnce(),
) {
    let mut release = Some(release);
    let woken = poll_fn(|cx| {
        let r = ready(cx);
        if let Some(release) = release.take() {
            assert!(r.is_pending(), "{why}");
            release();
            return Poll::Pending;
        }
        r
    });
    tokio::time::timeout(LONG, woken)
        .await
        .expect("woken in time")
        .expect("readiness");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_end_wakes_an_async_task() {
    let dir = std::env::temp_dir().join(format!("tp-async-{}", std::process::id()));
    std::fs::create_dir(&dir).expect("a directory");
    let path = dir.join("async.sock");
    let listener = Listener::bind(Address::path(&path), Options::new().authkey(b"k")).expect("listening");
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let client_path = path.clone();
    let client = std::thread::spawn(move || {
        let conn = Client::connect::<u64, u64>(Address::path(client_path), &Options::new().authkey(b"k"))
            .expect("connecting");
        go_rx.recv_timeout(LONG).expect("the go-ahead");
        conn.send(5u64).expect("sending");
        *conn.recv_timeout(LONG).expect("the answer")
    });
    let conn = listener.accept::<u64, u64>().expect("accepting");
    woken_after(
        |cx| conn.raw().poll_recv_ready(cx),
        "nothing was sent yet",
        || {
            go_tx.send(()).expect("telling the client");
        },
    )
    .await;
    assert_eq!(*conn.try_recv().expect("the message is there"), 5);
    conn.send(6u64).expect("answering");
    assert_eq!(client.join().expect("the client"), 6);
    drop(listener);
    std::fs::remove_dir(&dir).expect("nothing left behind");
}

/// In Python's framing (a stream end, not a pipe end) too, over a socket
/// file: see [`end_wakes_async_tasks`].
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_framing_end_wakes_an_async_task() {
    let dir = std::env::temp_dir().join(format!("tp-async-py-{}", std::process::id()));
    std::fs::create_dir(&dir).expect("a directory");
    end_wakes_async_tasks(
        Address::path(dir.join("async.sock")),
        Options::python().authkey(b"k"),
    )
    .await;
    std::fs::remove_dir(&dir).expect("nothing left behind");
}

/// In Python's framing a task waiting for room is woken when the peer
/// reads. (Linux: its socket takes a message this short whole or not at
/// all, so filling it never leaves a send waiting half way.)
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_framing_end_wakes_a_task_waiting_for_room() {
    use transport_core::backend::RawSendError;
    let dir = std::env::temp_dir().join(format!("tp-async-room-{}", std::process::id()));
    std::fs::create_dir(&dir).expect("a directory");
    let path = dir.join("room.sock");
    let options = Options::python().authkey(b"k");
    let listener = Listener::bind(Address::path(&path), options.clone()).expect("listening");
    let client_path = path.clone();
    let (count_tx, count_rx) = std::sync::mpsc::channel::<u64>();
    let reader = std::thread::spawn(move || {
        let end = Client::connect_raw(Address::path(client_path), &options).expect("connecting");
        let count = count_rx.recv_timeout(LONG).expect("how many to read");
        for i in 0..count {
            let frame = end.recv_frame(Wait::timeout(LONG)).expect("a message");
            assert_eq!(frame.as_slice(), i.to_le_bytes(), "message {i}");
        }
    });
    let end = listener.accept_raw(Wait::timeout(LONG)).expect("accepting");
    let mut sent = 0u64;
    loop {
        assert!(sent < 10_000_000, "the socket never filled");
        match end.send_bytes(&sent.to_le_bytes(), Wait::Never) {
            Ok(()) => sent += 1,
            Err(RawSendError::NotReady) => break,
            Err(e) => panic!("sending: {e:?}"),
        }
    }
    woken_after(
        |cx| end.poll_send_ready(cx),
        "the socket is full",
        || {
            count_tx.send(sent + 1).expect("telling the reader");
        },
    )
    .await;
    end.send_bytes(&sent.to_le_bytes(), Wait::Never)
        .expect("room for one more");
    reader.join().expect("the reader");
    drop(listener);
    std::fs::remove_dir(&dir).expect("nothing left behind");
}

/// At `address`, in `options`' framing: a task waiting to receive is woken
/// by the message, then (the message taken) by the peer's close, which the
/// receive reports as `Disconnected`; a task asking for room to send is
/// told at once while the socket has room. The listener is gone (its
/// socket file too) when this returns.
async fn end_wakes_async_tasks(address: Address, options: Options) {
    let listener = Listener::bind(address, options.clone()).expect("listening");
    let address = listener.address().clone();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<&str>();
    let client = std::thread::spawn(move || {
        let end = Client::connect_raw(address, &options).expect("connecting");
        assert_eq!(go_rx.recv_timeout(LONG).expect("the go-ahead"), "send");
        end.send_bytes(b"five", Wait::timeout(LONG)).expect("sending");
        assert_eq!(go_rx.recv_timeout(LONG).expect("the go-ahead"), "close");
    });
    let end = listener.accept_raw(Wait::timeout(LONG)).expect("accepting");
    woken_after(
        |cx| end.poll_recv_ready(cx),
        "nothing was sent yet",
        || go_tx.send("send").expect("telling the client"),
    )
    .await;
    assert_eq!(
        end.recv_frame(Wait::Never)
            .expect("the message is there")
            .as_slice(),
        b"five"
    );
    tokio::time::timeout(LONG, poll_fn(|cx| end.poll_send_ready(cx)))
        .await
        .expect("room at once")
        .expect("readiness to send");
    woken_after(
        |cx| end.poll_recv_ready(cx),
        "the peer is still there",
        || go_tx.send("close").expect("telling the client"),
    )
    .await;
    assert!(matches!(
        end.recv_frame(Wait::Never),
        Err(RawRecvError::Disconnected)
    ));
    client.join().expect("the client");
    drop(listener);
}

/// A free loopback port.
fn tcp() -> Address {
    Address::tcp("127.0.0.1:0".parse().expect("an address"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_end_wakes_async_tasks_in_this_crates_framing() {
    end_wakes_async_tasks(tcp(), Options::new().authkey(b"k")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_end_wakes_async_tasks_in_pythons_framing() {
    end_wakes_async_tasks(tcp(), Options::python().authkey(b"k")).await;
}

/// A Windows named pipe no other test uses.
#[cfg(windows)]
fn named_pipe(test: &str) -> Address {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Address::path(format!(
        r"\\.\pipe\tp-async-{test}-{}-{nanos}",
        std::process::id()
    ))
}

#[cfg(windows)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_pipe_end_wakes_async_tasks_in_pythons_framing() {
    end_wakes_async_tasks(named_pipe("wake"), Options::python().authkey(b"k")).await;
}

/// On a Windows named pipe in Python's framing, a message longer than the
/// pipe's buffer is still being written until the peer reads it: a task
/// asking to send the next one waits, and is woken when the peer has read.
#[cfg(windows)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_pipe_python_framing_wakes_a_task_waiting_for_room() {
    let options = Options::python().authkey(b"k");
    let listener = Listener::bind(named_pipe("room"), options.clone()).expect("listening");
    let address = listener.address().clone();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let expected = big.clone();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let end = Client::connect_raw(address, &options).expect("connecting");
        go_rx.recv_timeout(LONG).expect("the go-ahead");
        let frame = end.recv_frame(Wait::timeout(LONG)).expect("the long message");
        assert_eq!(frame.as_slice(), expected);
        let frame = end.recv_frame(Wait::timeout(LONG)).expect("the next message");
        assert_eq!(frame.as_slice(), b"next");
    });
    let end = listener.accept_raw(Wait::timeout(LONG)).expect("accepting");
    end.send_bytes(&big, Wait::Never)
        .expect("the kernel takes the message");
    woken_after(
        |cx| end.poll_send_ready(cx),
        "the long message is still being written",
        || go_tx.send(()).expect("telling the reader"),
    )
    .await;
    end.send_bytes(b"next", Wait::Never)
        .expect("the write before has ended");
    reader.join().expect("the reader");
    drop(listener);
}
