//! A minimal executor for the readiness tests and the async benchmark: each
//! waker marks its index and unparks the thread that made the executor.
//! Nothing polls again unless a waker was woken, so a lost wake-up shows as
//! a wait that runs out.

#![allow(dead_code)]

use std::{
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll, Wake, Waker},
    thread::{self, Thread},
    time::Instant,
};

use transport_core::backend::{PollRecv, PollSend, RawRecvError, RawSendError, Wait};

/// What the wakers share: the thread to unpark and who woke.
#[derive(Debug)]
struct Shared {
    thread: Thread,
    woken: Mutex<Vec<bool>>,
}

/// One waker: an index into `woken`.
#[derive(Debug)]
struct Tag {
    shared: Arc<Shared>,
    index: usize,
}

impl Wake for Tag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken.lock().unwrap_or_else(PoisonError::into_inner)[self.index] = true;
        self.shared.thread.unpark();
    }
}

/// Wakers for `n` tasks, all run by the thread that made it.
#[derive(Debug)]
pub struct Executor {
    shared: Arc<Shared>,
    wakers: Vec<Waker>,
}

impl Executor {
    /// An executor of `n` tasks on the current thread.
    pub fn new(n: usize) -> Executor {
        let shared = Arc::new(Shared {
            thread: thread::current(),
            woken: Mutex::new(vec![false; n]),
        });
        let wakers = (0..n)
            .map(|index| {
                Waker::from(Arc::new(Tag {
                    shared: Arc::clone(&shared),
                    index,
                }))
            })
            .collect();
        Executor { shared, wakers }
    }

    /// Task `i`'s waker.
    pub fn waker(&self, i: usize) -> &Waker {
        &self.wakers[i]
    }

    /// Task `i`'s context.
    pub fn context(&self, i: usize) -> Context<'_> {
        Context::from_waker(&self.wakers[i])
    }

    /// The tasks woken since the last call (and clears them).
    pub fn take_woken(&self) -> Vec<usize> {
        let mut woken = self.shared.woken.lock().unwrap_or_else(PoisonError::into_inner);
        let list = woken
            .iter()
            .enumerate()
            .filter_map(|(i, &w)| w.then_some(i))
            .collect();
        woken.iter_mut().for_each(|w| *w = false);
        list
    }

    /// Parks until a task is woken or `deadline` passes; the woken tasks
    /// (none when the deadline passed first).
    pub fn wait(&self, deadline: Instant) -> Vec<usize> {
        loop {
            let woken = self.take_woken();
            if !woken.is_empty() {
                return woken;
            }
            let now = Instant::now();
            if now >= deadline {
                return woken;
            }
            thread::park_timeout(deadline - now);
        }
    }

    /// Runs one task: polls `f` with task 0's waker, and after `Pending`
    /// only once that waker was woken.
    ///
    /// # Panics
    /// If `deadline` passes while the task waits (a lost wake-up).
    pub fn block_on<T>(&self, deadline: Instant, mut f: impl FnMut(&mut Context<'_>) -> Poll<T>) -> T {
        let mut cx = self.context(0);
        loop {
            if let Poll::Ready(v) = f(&mut cx) {
                return v;
            }
            let woken = self.wait(deadline);
            assert!(!woken.is_empty(), "a wake-up was lost: the task was never woken");
        }
    }

    /// Receives a frame as an async adapter would: the non-blocking call,
    /// then readiness.
    ///
    /// # Panics
    /// If a wake-up is lost (see [`block_on`](Self::block_on)).
    pub fn recv<R: PollRecv>(&self, rx: &R, deadline: Instant) -> Result<R::Frame, RawRecvError> {
        self.block_on(deadline, |cx| {
            loop {
                match rx.recv_frame(Wait::Never) {
                    Err(RawRecvError::NotReady) => match rx.poll_recv_ready(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => panic!("readiness failed: {e}"),
                        Poll::Pending => return Poll::Pending,
                    },
                    other => return Poll::Ready(other),
                }
            }
        })
    }

    /// Sends `bytes` as an async adapter would.
    ///
    /// # Panics
    /// If a wake-up is lost (see [`block_on`](Self::block_on)).
    pub fn send<S: PollSend>(&self, tx: &S, bytes: &[u8], deadline: Instant) -> Result<(), RawSendError> {
        self.block_on(deadline, |cx| {
            loop {
                match tx.send_bytes(bytes, Wait::Never) {
                    Err(RawSendError::NotReady) => match tx.poll_send_ready(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => panic!("readiness failed: {e}"),
                        Poll::Pending => return Poll::Pending,
                    },
                    other => return Poll::Ready(other),
                }
            }
        })
    }
}
