//! How long a blocking operation may wait.

use std::time::{Duration, Instant};

/// How long a raw send or receive may wait for the channel to become ready.
///
/// The typed [`Sender`](crate::Sender) and [`Receiver`](crate::Receiver)
/// choose the variant from the method that was called: `try_*` uses
/// [`Wait::Never`], `*_timeout` uses [`Wait::Until`], and the plain blocking
/// call uses [`Wait::Forever`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Do not wait at all.
    Never,
    /// Wait until this instant at the latest.
    Until(Instant),
    /// Wait as long as it takes.
    Forever,
}

impl Wait {
    /// Waits for at most `timeout` from now; a timeout too large to represent
    /// becomes [`Wait::Forever`].
    pub fn timeout(timeout: Duration) -> Self {
        Instant::now()
            .checked_add(timeout)
            .map_or(Wait::Forever, Wait::Until)
    }

    /// The time left before the deadline: `Some(ZERO)` for [`Wait::Never`]
    /// and for a deadline already past, `None` for [`Wait::Forever`].
    pub fn remaining(&self) -> Option<Duration> {
        match self {
            Wait::Never => Some(Duration::ZERO),
            Wait::Until(deadline) => Some(deadline.saturating_duration_since(Instant::now())),
            Wait::Forever => None,
        }
    }

    /// The deadline, if there is one; [`Wait::Never`] gives "now".
    pub fn deadline(&self) -> Option<Instant> {
        match self {
            Wait::Never => Some(Instant::now()),
            Wait::Until(deadline) => Some(*deadline),
            Wait::Forever => None,
        }
    }

    /// Whether the deadline has passed (always true for [`Wait::Never`]).
    pub fn expired(&self) -> bool {
        self.remaining() == Some(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_timeout_is_forever() {
        assert_eq!(Wait::timeout(Duration::MAX), Wait::Forever);
        assert_eq!(Wait::Forever.remaining(), None);
    }

    #[test]
    fn never_is_expired() {
        assert!(Wait::Never.expired());
        assert!(!Wait::timeout(Duration::from_secs(3600)).expired());
    }
}
