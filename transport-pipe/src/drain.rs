//! The drain's allowance: how much of the peer's frames a writer that
//! waits for room may read into its end's receive queue, shared by the
//! pipe's own ends (`shared.rs`) and the stream ends of Python's framing
//! (`named/stream_end.rs`).

/// How many bytes of the peer's frames a writer that waits for room may
/// read into the receive queue beyond what this end itself wrote since the
/// queue was last empty (see [the coalescing notes](crate#coalescing)).
pub const DRAIN_LIMIT: usize = 1 << 20;

/// The base of an end's allowance: what it had written when its receive
/// queue was last found empty.
///
/// The queue may hold at most [`DRAIN_LIMIT`] bytes more than the end wrote
/// since then, however many sends wait: a peer that sends and never reads
/// costs at most that much, and two ends that both send before they
/// receive never stop each other, since what each holds of the other's
/// bytes is covered by what it wrote itself.
#[derive(Debug, Default)]
pub(crate) struct DrainAllowance {
    written_when_empty: u64,
}

impl DrainAllowance {
    /// Restarts the allowance if the queue holds nothing; `written` is
    /// every byte the end has written.
    pub(crate) fn note(&mut self, written: u64, held: usize) {
        if held == 0 {
            self.written_when_empty = written;
        }
    }

    /// How many more bytes the queue may take now, given every byte the
    /// end has written and what the queue holds.
    pub(crate) fn room(&mut self, written: u64, held: usize) -> usize {
        self.note(written, held);
        let earned = usize::try_from(written.saturating_sub(self.written_when_empty)).unwrap_or(usize::MAX);
        earned.saturating_add(DRAIN_LIMIT).saturating_sub(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_grows_with_what_was_written_since_the_queue_was_empty() {
        let mut a = DrainAllowance::default();
        assert_eq!(a.room(100, 0), DRAIN_LIMIT);
        assert_eq!(a.room(100, 10), DRAIN_LIMIT - 10);
        assert_eq!(a.room(600, 10), DRAIN_LIMIT + 490);
        assert_eq!(a.room(600, DRAIN_LIMIT + 500), 0);
        // Empty again: the base moves up to what was written.
        assert_eq!(a.room(700, 0), DRAIN_LIMIT);
    }
}
