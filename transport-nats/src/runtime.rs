//! The one tokio runtime of the process that every NATS connection of this
//! crate runs on: one worker thread, started by the first connection.
//!
//! That thread batches: on Linux it runs with `SCHED_BATCH`, so the wake-up
//! a caller's publish gives it does not preempt the caller (on a shared CPU
//! it would, after every message): it writes, in one go, what its callers
//! published by the time they wait or their slice ends. A caller that
//! waits (for a reply, for credit) lets it run at once, so a round trip is
//! not delayed. Measured with `cargo xtask bench` (at most once against
//! raw `async-nats` in the same run, before and after): 64 B msgs/s 0.68×
//! → 0.73–0.76×, 4 KiB 0.90× → 0.96×, 64 B round trip 1.06× → 1.00–1.01×.
//!
//! The synchronous API never enters the runtime to wait (`block_on` would
//! panic on a runtime thread, and a tokio task of the caller's own runtime
//! may call it): it hands a future to [`spawn`], or polls the client's own
//! channels directly, and waits on a [`Signal`](crate::signal::Signal).

use std::{
    future::{Future, poll_fn},
    pin::pin,
    sync::{Arc, Mutex, OnceLock},
    task::{Context, Poll, Waker},
    time::Instant,
};

use transport_core::sync::LockExt;

use tokio::{
    runtime::{Builder, Handle, Runtime},
    task::coop,
};

use crate::{signal::Signal, sys};

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
                .on_thread_start(|| {
                    if let Err(_e) = sys::batch_current_thread() {
                        transport_core::event!(DEBUG, error = %_e, "transport-nats runtime thread keeps its scheduling policy");
                    }
                })
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
        *filled.value.lock_unpoisoned() = Some(value);
        filled.signal.notify();
    });
    loop {
        let seen = slot.signal.generation();
        if let Some(value) = slot.value.lock_unpoisoned().take() {
            return Some(value);
        }
        if !slot.signal.wait(seen, deadline) {
            return slot.value.lock_unpoisoned().take();
        }
    }
}

/// Runs `fut` on this thread until it completes or `deadline` passes: polled
/// here, inside the shared runtime's context (so its timers and the
/// client's channels work), and woken through `signal` by whatever the
/// future waits for. This saves the hand-over to the runtime thread and
/// back that [`wait_for`] costs; the future is dropped if the deadline
/// passes first.
///
/// The future runs outside tokio's cooperative budget (see
/// [`poll_unbudgeted`]): this thread waits for it, so nothing else would
/// run if it yielded.
pub(crate) fn drive<F: Future>(
    fut: F,
    signal: &Signal,
    waker: &Waker,
    deadline: Option<Instant>,
) -> Option<F::Output> {
    let _context = handle().enter();
    let mut fut = pin!(coop::unconstrained(fut));
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

/// Polls `f` once outside tokio's cooperative budget.
///
/// An end polls the client's channels itself, from whatever thread calls
/// it, and that thread may be running a task of the caller's own tokio
/// runtime. Once that task has used up its budget, tokio's channels answer
/// `Pending` and put off waking the waker until the task yields to its
/// runtime. The waker is the end's [`Signal`], not the task's: a blocking
/// wait on it (a send inside an async one) then hears nothing until its
/// deadline, and a ready check reports nothing to do although messages
/// wait. The end's own reads are not the task's cooperative work, so they
/// do not count against its budget.
pub(crate) fn poll_unbudgeted<T>(
    cx: &mut Context<'_>,
    f: impl FnMut(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    pin!(coop::unconstrained(poll_fn(f))).poll(cx)
}

/// Where a spawned future leaves its output for a waiting thread.
struct Outcome<T> {
    value: Mutex<Option<T>>,
    signal: Signal,
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use tokio::sync::{mpsc, oneshot};

    use super::*;
    use crate::signal;

    /// Runs `f` in a task of a runtime of the test's own (as an async
    /// caller of the blocking API does) once that task's cooperative
    /// budget is used up.
    fn with_budget_spent<T>(f: impl FnOnce() -> T) -> T {
        Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(async {
                let (tx, mut rx) = mpsc::unbounded_channel();
                while coop::has_budget_remaining() {
                    tx.send(()).expect("the receiver is here");
                    rx.recv().await;
                }
                f()
            })
    }

    #[test]
    fn the_runtime_thread_runs_with_the_batch_policy_where_there_is_one() {
        let on_runtime = wait_for(async { sys::current_thread_is_batch() }, None);
        assert_eq!(
            on_runtime,
            Some(sys::HAS_BATCH_POLICY),
            "the runtime thread's policy"
        );
        assert!(!sys::current_thread_is_batch(), "the caller's policy is its own");
    }

    #[test]
    fn drive_finishes_a_future_for_a_task_out_of_budget() {
        let (tx, rx) = oneshot::channel();
        let got = with_budget_spent(|| {
            let signal = Arc::new(Signal::new());
            spawn(async move {
                tokio::task::yield_now().await;
                let _ = tx.send(7);
            });
            drive(
                rx,
                &signal,
                &signal::waker(&signal),
                Some(Instant::now() + Duration::from_secs(10)),
            )
        });
        assert_eq!(got.map(Result::ok), Some(Some(7)));
    }

    #[test]
    fn a_read_for_a_task_out_of_budget_sees_what_is_there() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(7).expect("the receiver is here");
        let got = with_budget_spent(|| {
            let signal = Arc::new(Signal::new());
            let waker = signal::waker(&signal);
            poll_unbudgeted(&mut Context::from_waker(&waker), |cx| rx.poll_recv(cx))
        });
        assert_eq!(got, Poll::Ready(Some(7)));
    }
}
