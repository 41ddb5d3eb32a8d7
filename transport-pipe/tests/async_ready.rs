//! Async readiness of pipe ends (feature `tokio`): waits that end when
//! they should, including the wake-ups that come from the end's own
//! threads rather than from the socket.

use std::{
    future::poll_fn,
    sync::{Arc, mpsc},
    task::Poll,
    thread,
    time::Duration,
};

use transport_core::{
    Connection, Message, Received, Receiver, Sender, TryRecvError, TrySendError,
    backend::{PollRecv, PollSend, RawReceiver, RawSender},
};
use transport_pipe::{PipeEnd, PipeFrame};

/// Every wait in these tests ends well before this, or the test fails.
const LIMIT: Duration = Duration::from_secs(60);

/// Receives the way an async adapter does: non-blocking call, then wait
/// for readiness.
async fn recv<T: Message, R: PollRecv>(rx: &Receiver<T, R>) -> Received<T, R::Frame> {
    poll_fn(|cx| {
        loop {
            match rx.try_recv() {
                Ok(msg) => return Poll::Ready(msg),
                Err(TryRecvError::Empty) => match rx.raw().poll_recv_ready(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => panic!("readiness failed: {e}"),
                    Poll::Pending => return Poll::Pending,
                },
                Err(e) => panic!("receiving: {e}"),
            }
        }
    })
    .await
}

/// Sends the way an async adapter does.
async fn send<T: Message, S: PollSend>(tx: &Sender<T, S>, msg: T) {
    let mut msg = Some(msg);
    poll_fn(|cx| {
        loop {
            match tx.try_send(msg.take().expect("sent once")) {
                Ok(()) => return Poll::Ready(()),
                Err(TrySendError::Full(m)) => {
                    msg = Some(m);
                    match tx.raw().poll_send_ready(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => panic!("readiness failed: {e}"),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Err(e) => panic!("sending: {e}"),
            }
        }
    })
    .await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A borrowed end, so a shared two-way end can be used as a one-way one.
struct Lend<'e>(&'e PipeEnd);

impl RawSender for Lend<'_> {
    fn send_frame(
        &self,
        wait: transport_core::backend::Wait,
        fill: &mut transport_core::backend::Fill<'_>,
    ) -> Result<(), transport_core::backend::RawSendError> {
        self.0.send_frame(wait, fill)
    }

    fn max_message_size(&self) -> usize {
        self.0.max_message_size()
    }
}

impl RawReceiver for Lend<'_> {
    type Frame = PipeFrame;

    fn recv_frame(
        &self,
        wait: transport_core::backend::Wait,
    ) -> Result<PipeFrame, transport_core::backend::RawRecvError> {
        self.0.recv_frame(wait)
    }
}

impl PollRecv for Lend<'_> {
    fn poll_recv_ready(&self, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        self.0.poll_recv_ready(cx)
    }
}

impl PollSend for Lend<'_> {
    fn poll_send_ready(&self, cx: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
        self.0.poll_send_ready(cx)
    }
}

#[test]
fn a_waiting_receive_wakes_for_a_message_and_for_the_end() {
    let (tx, rx) = transport_pipe::simplex::<u64>().expect("a pipe");
    runtime().block_on(async move {
        let waiter = tokio::spawn(async move {
            let first = recv(&rx).await.to_native();
            let second = recv(&rx).await.to_native();
            let end = poll_fn(|cx| rx.raw().poll_recv_ready(cx)).await;
            (first, second, end.is_ok(), rx.try_recv().map(|_| ()))
        });
        // The task is (very likely) waiting by now; either way it must see
        // both messages, then the end of the stream.
        tokio::task::yield_now().await;
        tx.send(1).expect("sending");
        tx.send(2).expect("sending");
        drop(tx);
        let (first, second, ready, last) = tokio::time::timeout(LIMIT, waiter)
            .await
            .expect("the receiver finished in time")
            .expect("the receiver did not panic");
        assert_eq!((first, second, ready), (1, 2, true));
        assert!(matches!(last, Err(TryRecvError::Disconnected)));
    });
}

#[test]
fn a_full_backlog_wakes_the_sender_when_the_flusher_makes_room() {
    let (tx, rx) = transport_pipe::simplex::<Vec<u8>>().expect("a pipe");
    let chunk = vec![7u8; 32 << 10];
    // Fill the socket and then the backlog, without a reader, until the
    // end says it is not ready (the flusher may still find room in the
    // socket for a while after the first `Full`).
    let mut sent = 0u64;
    let rt = runtime();
    loop {
        match tx.try_send(&chunk) {
            Ok(()) => sent += 1,
            Err(TrySendError::Full(_)) => {
                let pending = rt.block_on(poll_fn(|cx| {
                    Poll::Ready(tx.raw().poll_send_ready(cx).is_pending())
                }));
                if pending {
                    break;
                }
            }
            Err(e) => panic!("filling: {e}"),
        }
        assert!(sent < 10_000, "a pipe with no reader never filled");
    }
    let (go, wait_go) = mpsc::channel::<()>();
    let reader = thread::spawn(move || {
        wait_go.recv_timeout(LIMIT).expect("the signal to read");
        let mut got = 0u64;
        while let Ok(msg) = rx.recv_timeout(LIMIT) {
            assert_eq!(msg.len(), 32 << 10);
            got += 1;
        }
        got
    });
    rt.block_on(async {
        go.send(()).expect("the reader waits");
        tokio::time::timeout(LIMIT, send(&tx, chunk.clone()))
            .await
            .expect("room came, and the waiting sender was woken");
    });
    drop(tx);
    assert_eq!(reader.join().expect("the reader"), sent + 1);
}

#[test]
fn frames_a_blocked_writer_drains_wake_the_receiver() {
    // End `a` sends far more than the pipe holds while `b` does not read:
    // a's writer waits for room and meanwhile reads what `b` sends into
    // a's receive queue, consuming the socket's readability. A task waiting
    // to receive on `a` must still be woken.
    let (a, b) = transport_pipe::duplex::<Vec<u8>, u64>().expect("a pipe");
    let a = Arc::new(a);
    let writer = {
        let a = Arc::clone(&a);
        thread::spawn(move || {
            let big = vec![1u8; 1 << 20];
            for _ in 0..16 {
                a.send(&big).expect("sending while the peer does not read yet");
            }
        })
    };
    runtime().block_on(async {
        let end = Arc::clone(&a);
        let waiter = tokio::spawn(async move {
            let rx: Receiver<u64, Lend<'_>> = Receiver::from_raw(Lend(end.raw()));
            recv(&rx).await.to_native()
        });
        tokio::task::yield_now().await;
        b.send(42).expect("sending to the busy end");
        let got = tokio::time::timeout(LIMIT, waiter)
            .await
            .expect("the receiver was woken")
            .expect("the receiver did not panic");
        assert_eq!(got, 42);
    });
    for _ in 0..16 {
        let msg = b.recv_timeout(LIMIT).expect("the big messages");
        assert_eq!(msg.len(), 1 << 20);
    }
    writer.join().expect("the writer");
}

#[test]
fn both_ends_sending_big_messages_at_once_finish() {
    const COUNT: usize = 64;
    let (a, b) = transport_pipe::duplex::<Vec<u8>, Vec<u8>>().expect("a pipe");
    let run = |end: Connection<Vec<u8>, Vec<u8>, PipeEnd>, fill: u8| async move {
        let tx: Sender<Vec<u8>, Lend<'_>> = Sender::from_raw(Lend(end.raw()));
        let rx: Receiver<Vec<u8>, Lend<'_>> = Receiver::from_raw(Lend(end.raw()));
        let sending = async {
            for _ in 0..COUNT {
                send(&tx, vec![fill; 256 << 10]).await;
            }
        };
        let receiving = async {
            for _ in 0..COUNT {
                let msg = recv(&rx).await;
                assert_eq!(msg.len(), 256 << 10);
                assert!(msg.iter().all(|&x| x == fill ^ 1));
            }
        };
        tokio::join!(sending, receiving);
    };
    runtime().block_on(async {
        let left = tokio::spawn(run(a, 0));
        let right = tokio::spawn(run(b, 1));
        let (l, r) = tokio::time::timeout(LIMIT, async { tokio::join!(left, right) })
            .await
            .expect("both ends finished");
        l.expect("end a");
        r.expect("end b");
    });
}
