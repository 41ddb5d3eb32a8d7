//! The one loop of every blocking wait on many receivers.

use std::{
    sync::Arc,
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use super::{selectable::Selectable, signal::Signal};
use crate::{error::ReadyError, wait::Wait};

/// Whether `receiver` is ready within `timeout`.
pub(super) fn poll_one(receiver: &dyn Selectable, timeout: std::time::Duration) -> Result<bool, ReadyError> {
    Ok(first_ready(&[receiver], 0, Wait::timeout(timeout))?.is_some())
}

/// How long a wait spins over the ends that can tell they are ready
/// cheaply ([`Selectable::ready_now`]) before it sleeps: an answer that
/// comes within it costs no wake-up of this thread.
const SPIN: Duration = Duration::from_micros(30);

/// The index of a ready receiver, looking from `start` round; `None` when
/// `wait` ran out first. [`Wait::Never`] looks once.
///
/// The ends that can tell cheaply ([`Selectable::ready_now`]) are looked
/// at first, and spun over for [`SPIN`] before anything registers, so an
/// answer that comes within it costs no registration and no wake-up (as a
/// shared-memory end's own wait does). Then every end is registered with
/// this call's waker, without an end's own spin ([`Selectable::register`]),
/// and the thread sleeps until one wakes it.
pub(super) fn first_ready(
    receivers: &[&dyn Selectable],
    start: usize,
    wait: Wait,
) -> Result<Option<usize>, ReadyError> {
    let (found, can_tell) = ready_now(receivers, start);
    if found.is_some() {
        return Ok(found);
    }
    if wait != Wait::Never && can_tell {
        let until = Instant::now() + SPIN;
        let mut round = 0u32;
        loop {
            std::hint::spin_loop();
            if let (Some(index), _) = ready_now(receivers, start) {
                return Ok(Some(index));
            }
            round = round.wrapping_add(1);
            if round % 16 == 0 && (Instant::now() >= until || wait.expired()) {
                break;
            }
        }
    }
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    let count = receivers.len();
    loop {
        let seen = signal.seen();
        for step in 0..count {
            let index = (start + step) % count;
            match receivers[index].register(&mut cx) {
                Poll::Ready(Ok(())) => return Ok(Some(index)),
                Poll::Ready(Err(source)) => return Err(ReadyError::Untracked { index, source }),
                Poll::Pending => {}
            }
        }
        if wait == Wait::Never || signal.sleep_past(seen, wait).timed_out() {
            return Ok(None);
        }
    }
}

/// The first end from `start` round that says it is ready now, and
/// whether any end can tell (when none is ready: every end was asked).
fn ready_now(receivers: &[&dyn Selectable], start: usize) -> (Option<usize>, bool) {
    let count = receivers.len();
    let mut can_tell = false;
    for index in (0..count).map(|step| (start + step) % count) {
        match receivers[index].ready_now() {
            Some(true) => return (Some(index), true),
            Some(false) => can_tell = true,
            None => {}
        }
    }
    (None, can_tell)
}
