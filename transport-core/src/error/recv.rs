//! Errors of the three receive operations.

use std::{error::Error, fmt, io};

use super::{
    invalid::{InvalidMessage, MalformedFrame},
    view::{Side, View},
};

/// The error of a blocking [`recv`](crate::Receiver::recv).
#[derive(Debug)]
#[non_exhaustive]
pub enum RecvError {
    /// Every sender is gone and every message sent was received.
    Disconnected,
    /// The channel was closed (a queue's `close`) and every message in it
    /// was received. [`is_disconnected`](Self::is_disconnected) is true for
    /// it too.
    Closed,
    /// The incoming message is longer than this receiver accepts.
    TooLarge {
        /// The announced length in bytes.
        len: usize,
        /// The receiver's limit in bytes.
        limit: usize,
    },
    /// The message failed validation.
    Invalid(InvalidMessage),
    /// The transport's framing was broken.
    Malformed(MalformedFrame),
    /// The operating system refused the receive.
    Io(io::Error),
}

/// The error of [`try_recv`](crate::Receiver::try_recv).
#[derive(Debug)]
#[non_exhaustive]
pub enum TryRecvError {
    /// No message is ready right now.
    Empty,
    /// Every sender is gone and every message sent was received.
    Disconnected,
    /// The channel was closed (a queue's `close`) and every message in it
    /// was received. [`is_disconnected`](Self::is_disconnected) is true for
    /// it too.
    Closed,
    /// The incoming message is longer than this receiver accepts.
    TooLarge {
        /// The announced length in bytes.
        len: usize,
        /// The receiver's limit in bytes.
        limit: usize,
    },
    /// The message failed validation.
    Invalid(InvalidMessage),
    /// The transport's framing was broken.
    Malformed(MalformedFrame),
    /// The operating system refused the receive.
    Io(io::Error),
}

/// The error of [`recv_timeout`](crate::Receiver::recv_timeout).
#[derive(Debug)]
#[non_exhaustive]
pub enum RecvTimeoutError {
    /// No message arrived before the deadline.
    Timeout,
    /// Every sender is gone and every message sent was received.
    Disconnected,
    /// The channel was closed (a queue's `close`) and every message in it
    /// was received. [`is_disconnected`](Self::is_disconnected) is true for
    /// it too.
    Closed,
    /// The incoming message is longer than this receiver accepts.
    TooLarge {
        /// The announced length in bytes.
        len: usize,
        /// The receiver's limit in bytes.
        limit: usize,
    },
    /// The message failed validation.
    Invalid(InvalidMessage),
    /// The transport's framing was broken.
    Malformed(MalformedFrame),
    /// The operating system refused the receive.
    Io(io::Error),
}

/// Implements the predicates, `Display` and `Error` of a receive error;
/// `$wait` is the variant that only that blocking mode has.
macro_rules! recv_error_impls {
    ($name:ident $(, $wait:ident => $view:ident, $is_wait:ident)?) => {
        impl $name {
            /// Whether no message will ever come: every sender is gone or
            /// the channel was closed, and it is drained.
            pub fn is_disconnected(&self) -> bool {
                matches!(self, $name::Disconnected | $name::Closed)
            }

            /// Whether the channel was closed (a queue's `close`) and is
            /// drained, rather than left by its senders.
            pub fn is_closed(&self) -> bool {
                matches!(self, $name::Closed)
            }

            /// Whether the message failed validation.
            pub fn is_invalid(&self) -> bool {
                matches!(self, $name::Invalid(_))
            }

            $(
                #[doc = concat!("Whether this is the [`", stringify!($wait), "`](Self::", stringify!($wait), ") case.")]
                pub fn $is_wait(&self) -> bool {
                    matches!(self, $name::$wait)
                }
            )?

            fn view(&self) -> View<'_> {
                match self {
                    $($name::$wait => View::$view,)?
                    $name::Disconnected => View::Disconnected,
                    $name::Closed => View::Closed,
                    $name::TooLarge { len, limit } => View::TooLarge { len: *len, limit: *limit },
                    $name::Invalid(e) => View::Invalid(e),
                    $name::Malformed(e) => View::Malformed(e),
                    $name::Io(e) => View::Io(e),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.view().fmt(Side::Recv, f)
            }
        }

        impl Error for $name {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                self.view().source()
            }
        }
    };
}

recv_error_impls!(RecvError);
recv_error_impls!(TryRecvError, Empty => Empty, is_empty);
recv_error_impls!(RecvTimeoutError, Timeout => Timeout, is_timeout);

impl From<RecvError> for RecvTimeoutError {
    fn from(e: RecvError) -> Self {
        match e {
            RecvError::Disconnected => RecvTimeoutError::Disconnected,
            RecvError::Closed => RecvTimeoutError::Closed,
            RecvError::TooLarge { len, limit } => RecvTimeoutError::TooLarge { len, limit },
            RecvError::Invalid(e) => RecvTimeoutError::Invalid(e),
            RecvError::Malformed(e) => RecvTimeoutError::Malformed(e),
            RecvError::Io(e) => RecvTimeoutError::Io(e),
        }
    }
}

impl From<RecvError> for TryRecvError {
    fn from(e: RecvError) -> Self {
        match e {
            RecvError::Disconnected => TryRecvError::Disconnected,
            RecvError::Closed => TryRecvError::Closed,
            RecvError::TooLarge { len, limit } => TryRecvError::TooLarge { len, limit },
            RecvError::Invalid(e) => TryRecvError::Invalid(e),
            RecvError::Malformed(e) => TryRecvError::Malformed(e),
            RecvError::Io(e) => TryRecvError::Io(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_failure() {
        assert_eq!(TryRecvError::Empty.to_string(), "channel is empty");
        assert_eq!(
            RecvTimeoutError::Timeout.to_string(),
            "timed out waiting for a message"
        );
        let e = RecvError::Malformed(MalformedFrame::new("length 9 exceeds 4"));
        assert_eq!(e.to_string(), "received frame is malformed: length 9 exceeds 4");
        assert!(RecvTimeoutError::from(RecvError::Disconnected).is_disconnected());
        let closed = TryRecvError::from(RecvError::Closed);
        assert!(closed.is_closed() && closed.is_disconnected());
        assert!(!RecvError::Disconnected.is_closed());
        assert_eq!(
            closed.to_string(),
            "receiving on a channel that was closed and holds no message"
        );
    }
}
