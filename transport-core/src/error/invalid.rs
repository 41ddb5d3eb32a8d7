//! What a received message or frame was wrong with: the causes that
//! receive errors carry.

use std::{error::Error, fmt};

use rkyv::rancor;

/// A received message failed bytecheck validation: the bytes are not a
/// valid archive of the expected type.
#[derive(Debug)]
pub struct InvalidMessage {
    len: usize,
    reason: rancor::BoxedError,
}

impl InvalidMessage {
    pub(crate) fn new(len: usize, reason: rancor::BoxedError) -> Self {
        InvalidMessage { len, reason }
    }

    /// The length of the rejected message in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the rejected message was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for InvalidMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "received message of {} bytes is not a valid archive: {}",
            self.len, self.reason
        )
    }
}

impl Error for InvalidMessage {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.reason)
    }
}

/// The bytes on the wire did not form a frame (a bad header, a length that
/// contradicts itself, a frame cut short).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedFrame {
    reason: String,
}

impl MalformedFrame {
    /// A malformed frame, and why it is malformed.
    pub fn new(reason: impl Into<String>) -> Self {
        MalformedFrame {
            reason: reason.into(),
        }
    }

    /// Why the frame is malformed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for MalformedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "received frame is malformed: {}", self.reason)
    }
}

impl Error for MalformedFrame {}
