//! The one loop of every blocking wait on many receivers.

use std::{
    sync::Arc,
    task::{Context, Poll, Waker},
};

use super::{selectable::Selectable, signal::Signal};
use crate::{error::ReadyError, wait::Wait};

/// Whether `receiver` is ready within `timeout`.
pub(super) fn poll_one(receiver: &dyn Selectable, timeout: std::time::Duration) -> Result<bool, ReadyError> {
    Ok(first_ready(&[receiver], 0, Wait::timeout(timeout))?.is_some())
}

/// The index of a ready receiver, looking from `start` round; `None` when
/// `wait` ran out first. [`Wait::Never`] looks once.
pub(super) fn first_ready(
    receivers: &[&dyn Selectable],
    start: usize,
    wait: Wait,
) -> Result<Option<usize>, ReadyError> {
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    let count = receivers.len();
    loop {
        let seen = signal.seen();
        for step in 0..count {
            let index = (start + step) % count;
            match receivers[index].poll_ready(&mut cx) {
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
