//! A named connection in this crate's framing wakes an async task when a
//! message comes (`PollRecv`, feature `tokio`), as a pipe end does: what
//! the async adapters and a `Select` build on.
#![cfg(unix)]

use std::{future::poll_fn, task::Poll, time::Duration};

use transport_core::backend::PollRecv;
use transport_pipe::{Address, Client, Listener, Options};

const LONG: Duration = Duration::from_secs(60);

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
    let mut first = true;
    let ready = poll_fn(|cx| {
        let r = conn.raw().poll_recv_ready(cx);
        if first {
            first = false;
            assert!(r.is_pending(), "nothing was sent yet");
            // The waker is registered: now let the client send.
            go_tx.send(()).expect("telling the client");
            return Poll::Pending;
        }
        r
    });
    tokio::time::timeout(LONG, ready)
        .await
        .expect("woken in time")
        .expect("readiness");
    assert_eq!(*conn.try_recv().expect("the message is there"), 5);
    conn.send(6u64).expect("answering");
    assert_eq!(client.join().expect("the client"), 6);
    drop(listener);
    std::fs::remove_dir(&dir).expect("nothing left behind");
}
