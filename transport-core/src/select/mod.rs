//! Waiting on many receivers at once: [`Select`] (crossbeam's) and
//! [`wait`] (Python's `multiprocessing.connection.wait`).
//!
//! Both take receivers of any message type and any backend in one call, and
//! cost no thread: the waiting thread gives every receiver's backend one
//! waker (the readiness every backend implements for async code,
//! [`PollRecv`](crate::backend::PollRecv)), then sleeps on a condition
//! variable until one of them wakes it or the deadline passes. Each
//! receiver is polled again after its waker is registered, so a message
//! that arrives in between is not missed.
//!
//! How soon a sleeping wait sees a receiver become ready is its backend's
//! readiness: at once for the queue, the pipe and NATS (their own wake-ups),
//! and for shared memory through its bridge thread, which on macOS sleeps
//! on one waiting end's word and looks at the others every millisecond (no
//! system call there waits on several addresses; see `transport_shm`'s
//! "Portability"): a wait over several idle shared-memory receivers on
//! macOS may see a message up to a millisecond late.
//!
//! # Readiness, then a receive
//! A receiver is *ready* when a receive on it would not block: a message
//! is there, or every sender is gone (the receive says `Disconnected`), or
//! an error waits to be reported. Readiness is a hint, as in crossbeam: a
//! receiver may be reported ready and then have nothing to give, when
//! another consumer of a multi-consumer channel (another process sharing a
//! queue, another thread with a clone) took the message first, or when a
//! backend's readiness was spurious. So receive with
//! [`try_recv`](crate::Receiver::try_recv) (or a short `recv_timeout`)
//! after `ready`, and on `Empty` wait again.
//!
//! # One waiter per end
//! A backend remembers the waker of the latest wait on an end (see
//! [`PollRecv`](crate::backend::PollRecv)). Waiting on the same end from two
//! places at once (two `Select`s on two threads, or a `Select` and an async
//! task) may leave the earlier waiter unwoken until its deadline; give each
//! waiting thread its own ends (a clone of a multi-consumer receiver is an
//! end of its own).

mod block;
mod poll;
mod selectable;
mod set;
mod signal;

use std::{
    sync::Arc,
    task::{Context, Poll, Waker},
    time::Duration,
};

pub use selectable::Selectable;
pub use set::Select;

use self::{block::first_ready, signal::Signal};
use crate::{error::ReadyError, wait::Wait};

/// Waits until at least one of `receivers` is ready, or `timeout` passes
/// (`None`: no limit), and returns the indices of every one ready then, in
/// order: Python's `multiprocessing.connection.wait`, with indices for the
/// objects. An empty list means the time ran out.
///
/// ```
/// use std::time::Duration;
/// use transport_core::{local, wait};
///
/// let (tx_a, rx_a) = local::bounded::<u32>(4)?;
/// let (tx_b, rx_b) = local::bounded::<String>(4)?;
/// assert!(wait(&[&rx_a, &rx_b], Some(Duration::from_millis(10)))?.is_empty());
/// tx_b.send("hello".to_owned())?;
/// drop(tx_a);
/// assert_eq!(wait(&[&rx_a, &rx_b], None)?, [0, 1]);
/// assert_eq!(rx_b.try_recv()?.as_str(), "hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`ReadyError::Untracked`] when a backend cannot track a receiver's
/// readiness.
pub fn wait(receivers: &[&dyn Selectable], timeout: Option<Duration>) -> Result<Vec<usize>, ReadyError> {
    let wait = timeout.map_or(Wait::Forever, Wait::timeout);
    let Some(first) = first_ready(receivers, 0, wait)? else {
        return Ok(Vec::new());
    };
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(signal);
    let mut cx = Context::from_waker(&waker);
    let mut ready = Vec::new();
    for (index, receiver) in receivers.iter().enumerate() {
        if index == first {
            ready.push(index);
            continue;
        }
        if let Some(now) = receiver.ready_now() {
            if now {
                ready.push(index);
            }
            continue;
        }
        match receiver.register(&mut cx) {
            Poll::Ready(Ok(())) => ready.push(index),
            Poll::Ready(Err(source)) => return Err(ReadyError::Untracked { index, source }),
            Poll::Pending => {}
        }
    }
    Ok(ready)
}
