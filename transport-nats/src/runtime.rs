//! The one tokio runtime of the process that every NATS connection of this
//! crate runs on: one worker thread, started by the first connection.
//!
//! The synchronous API never enters the runtime to wait (`block_on` would
//! panic on a runtime thread, and a tokio task of the caller's own runtime
//! may call it): it hands a future to [`spawn`], or polls the client's own
//! channels directly, and waits on a [`Signal`](crate::signal::Signal).

use std::{
    future::Future,
    pin::pin,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    task::{Context, Poll, Waker},
    time::Instant,
};

use tokio::runtime::{Builder, Handle, Runtime};

use crate::signal::Signal;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The shared runtime's handle, starting the runtime on first use.
///
/// # Panics
/// If the operating system refuses to start the runtime's thread.
pub(crate) fn handle() -> &'static Handle {
    RUNTIME
        .get_or_init(|| {
            let runtime = Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("transport-nats")
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("starting the transport-nats runtime thread: {e}"));
            transport_core::event!(DEBUG, "transport-nats runtime thread started");
            runtime
        })
        .handle()
}

/// Runs `fut` on the shared runtime, detached.
pub(crate) fn spawn<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    drop(handle().spawn(fut));
}

/// Runs `fut` on the shared runtime and waits for its output until
/// `deadline` (`None`: as long as it takes). The future keeps running if the
/// wait gives up; its output is then dropped.
pub(crate) fn wait_for<F>(fut: F, deadline: Option<Instant>) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let slot = Arc::new(Outcome {
        value: Mutex::new(None),
        signal: Signal::new(),
    });
    let filled = Arc::clone(&slot);
    spawn(async move {
        let value = fut.await;
        *filled.value.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
        filled.signal.notify();
    });
    loop {
        let seen = slot.signal.generation();
        if let Some(value) = slot.value.lock().unwrap_or_else(PoisonError::into_inner).take() {
            return Some(value);
        }
        if !slot.signal.wait(seen, deadline) {
            return slot.value.lock().unwrap_or_else(PoisonError::into_inner).take();
        }
    }
}

/// Runs `fut` on this thread until it completes or `deadline` passes: polled
/// here, inside the shared runtime's context (so its timers and the
/// client's channels work), and woken through `signal` by whatever the
/// future waits for. This saves the hand-over to the runtime thread and
/// back that [`wait_for`] costs; the future is dropped if the deadline
/// passes first.
pub(crate) fn drive<F: Future>(
    fut: F,
    signal: &Signal,
    waker: &Waker,
    deadline: Option<Instant>,
) -> Option<F::Output> {
    let _context = handle().enter();
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(waker);
    loop {
        let seen = signal.generation();
        if let Poll::Ready(value) = fut.as_mut().poll(&mut cx) {
            return Some(value);
        }
        if !signal.wait(seen, deadline) {
            return None;
        }
    }
}

/// Where a spawned future leaves its output for a waiting thread.
struct Outcome<T> {
    value: Mutex<Option<T>>,
    signal: Signal,
}
