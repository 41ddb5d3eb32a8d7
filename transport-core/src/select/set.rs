//! [`Select`]: crossbeam's way of waiting on many receivers.

use std::{
    fmt,
    time::{Duration, Instant},
};

use super::{block::first_ready, selectable::Selectable};
use crate::{
    error::{ReadyError, ReadyTimeoutError, TryReadyError},
    wait::Wait,
};

/// Waits until one of several receivers is ready, as crossbeam's `Select`
/// does: add receivers with [`recv`](Self::recv), then
/// [`ready`](Self::ready) (or [`try_ready`](Self::try_ready),
/// [`ready_timeout`](Self::ready_timeout),
/// [`ready_deadline`](Self::ready_deadline)) gives the index of one that
/// has a message or a disconnect to report. The receivers may be of any
/// message type and any backend.
///
/// Readiness is a hint (see [the module](crate::select)): receive with
/// `try_recv` and wait again on `Empty`. When several receivers are ready,
/// successive calls start looking at successive receivers, so a busy one
/// does not hide the others.
///
/// ```
/// use std::time::Duration;
/// use transport_core::{ReadyTimeoutError, Select, local};
///
/// let (tx_jobs, jobs) = local::bounded::<u64>(4)?;
/// let (tx_stop, stop) = local::bounded::<()>(1)?;
/// let mut sel = Select::new();
/// let job = sel.recv(&jobs);
/// let halt = sel.recv(&stop);
/// assert!(matches!(sel.ready_timeout(Duration::from_millis(10)), Err(ReadyTimeoutError::Timeout)));
///
/// tx_jobs.send(7)?;
/// assert_eq!(sel.ready()?, job);
/// assert_eq!(jobs.try_recv()?.to_native(), 7);
/// drop(tx_stop);
/// assert_eq!(sel.ready()?, halt);
/// # drop(tx_jobs);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct Select<'a> {
    receivers: Vec<&'a dyn Selectable>,
    /// Where the next look starts.
    next: usize,
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("receivers", &self.receivers.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Select<'a> {
    /// A `Select` with no receivers.
    pub fn new() -> Self {
        Select::default()
    }

    /// Adds a receiver; returns its index, counted from 0 in the order
    /// receivers were added.
    pub fn recv(&mut self, receiver: &'a dyn Selectable) -> usize {
        self.receivers.push(receiver);
        self.receivers.len() - 1
    }

    /// How many receivers were added.
    pub fn len(&self) -> usize {
        self.receivers.len()
    }

    /// Whether no receiver was added.
    pub fn is_empty(&self) -> bool {
        self.receivers.is_empty()
    }

    /// Waits until a receiver is ready and returns its index. With no
    /// receivers it waits for ever, as crossbeam's does.
    ///
    /// # Errors
    /// [`ReadyError::Untracked`] when a backend cannot track a receiver's
    /// readiness.
    pub fn ready(&mut self) -> Result<usize, ReadyError> {
        loop {
            if let Some(index) = self.look(Wait::Forever)? {
                return Ok(index);
            }
        }
    }

    /// The index of a receiver that is ready now.
    ///
    /// # Errors
    /// [`TryReadyError::NotReady`] when none is.
    pub fn try_ready(&mut self) -> Result<usize, TryReadyError> {
        self.look(Wait::Never)?.ok_or(TryReadyError::NotReady)
    }

    /// Waits at most `timeout` for a receiver to be ready.
    ///
    /// # Errors
    /// [`ReadyTimeoutError::Timeout`] when none was in time.
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, ReadyTimeoutError> {
        self.look(Wait::timeout(timeout))?
            .ok_or(ReadyTimeoutError::Timeout)
    }

    /// Waits until `deadline` at the latest for a receiver to be ready.
    ///
    /// # Errors
    /// [`ReadyTimeoutError::Timeout`] when none was in time.
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, ReadyTimeoutError> {
        self.look(Wait::Until(deadline))?
            .ok_or(ReadyTimeoutError::Timeout)
    }

    fn look(&mut self, wait: Wait) -> Result<Option<usize>, ReadyError> {
        let found = first_ready(&self.receivers, self.next, wait)?;
        if let Some(index) = found {
            self.next = (index + 1) % self.receivers.len();
        }
        Ok(found)
    }
}
