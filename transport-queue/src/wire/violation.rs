//! [`Violation`]: what a member did that breaks the protocol.

use std::fmt;

/// A member broke the protocol: what it did. The hub drops such a member,
/// as if it had died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation(pub(crate) String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Violation {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        Violation(what.into())
    }
}
