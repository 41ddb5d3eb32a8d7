//! The one loop every async operation runs: try the backend's non-blocking
//! call; when it reports "not ready", ask the end's readiness
//! ([`PollSend`](transport_core::backend::PollSend) /
//! [`PollRecv`](transport_core::backend::PollRecv)) to wake the task, and try again
//! when it does.
//!
//! # Why a dropped future loses nothing
//! A message moves between the task and the channel only inside the
//! backend's non-blocking call, which is atomic: a frame is sent whole or
//! not at all, and a frame taken from the channel is returned from that
//! same call. That call and the return of `Ready` happen in one `poll`;
//! between polls the future only waits. So a future dropped while it waits
//! has taken nothing from the channel and put nothing in it: a dropped
//! receive leaves the next message for the next receive, and a dropped send
//! never sent its message (which the dropped future owned, and drops).

use std::{
    future::{Future, poll_fn},
    io,
    pin::pin,
    task::{Context, Poll, ready},
};

use tokio::{task::coop, time::Sleep};
use transport_core::{RecvError, RecvTimeoutError, SendError, SendTimeoutError};

/// How many times one poll tries again after readiness said "ready" and
/// the call still found nothing (readiness may be spurious). Past that the
/// task yields and is polled again soon, so a backend whose readiness keeps
/// saying "ready" costs CPU, never a hang.
const RETRIES: u32 = 32;

/// What one non-blocking attempt gave.
pub(crate) enum Step<V> {
    /// Finished: the result to return.
    Done(V),
    /// The channel was not ready (full, or empty).
    NotReady,
}

/// Runs `attempt` until it finishes, waiting with `ready` in between.
///
/// Honours tokio's cooperative budget, so a task that always finds data
/// still lets the other tasks of its thread run. `Err` is a readiness
/// failure (the reactor refused the end).
pub(crate) fn drive<V>(
    cx: &mut Context<'_>,
    mut attempt: impl FnMut() -> Step<V>,
    mut ready: impl FnMut(&mut Context<'_>) -> Poll<io::Result<()>>,
) -> Poll<Result<V, io::Error>> {
    let coop = ready!(coop::poll_proceed(cx));
    for _ in 0..RETRIES {
        if let Step::Done(value) = attempt() {
            coop.made_progress();
            return Poll::Ready(Ok(value));
        }
        // Register first, then the backend checks again: no lost wake-up.
        match ready(cx) {
            Poll::Ready(Ok(())) => continue,
            Poll::Ready(Err(e)) => {
                coop.made_progress();
                return Poll::Ready(Err(e));
            }
            Poll::Pending => return Poll::Pending,
        }
    }
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// A send (`poll_send`, which takes the message out of its `Option` only
/// when it sends it or fails) that gives up when `sleep` ends (tokio's
/// clock: a timeout or a deadline; the runtime needs its time driver), the
/// message back in the `Timeout`.
pub(crate) async fn send_within<M>(
    sleep: Sleep,
    msg: M,
    mut poll_send: impl FnMut(&mut Context<'_>, &mut Option<M>) -> Poll<Result<(), SendError<M>>>,
) -> Result<(), SendTimeoutError<M>> {
    let mut msg = Some(msg);
    let mut sleep = pin!(sleep);
    poll_fn(|cx| match poll_send(cx, &mut msg) {
        Poll::Ready(result) => Poll::Ready(result.map_err(SendTimeoutError::from)),
        Poll::Pending => match (sleep.as_mut().poll(cx), msg.take()) {
            (Poll::Ready(()), Some(m)) => Poll::Ready(Err(SendTimeoutError::Timeout(m))),
            (_, m) => {
                msg = m;
                Poll::Pending
            }
        },
    })
    .await
}

/// A receive (`poll_recv`) that gives up when `sleep` ends (tokio's clock).
pub(crate) async fn recv_within<V>(
    sleep: Sleep,
    mut poll_recv: impl FnMut(&mut Context<'_>) -> Poll<Result<V, RecvError>>,
) -> Result<V, RecvTimeoutError> {
    let mut sleep = pin!(sleep);
    poll_fn(|cx| match poll_recv(cx) {
        Poll::Ready(result) => Poll::Ready(result.map_err(RecvTimeoutError::from)),
        Poll::Pending if sleep.as_mut().poll(cx).is_ready() => Poll::Ready(Err(RecvTimeoutError::Timeout)),
        Poll::Pending => Poll::Pending,
    })
    .await
}
