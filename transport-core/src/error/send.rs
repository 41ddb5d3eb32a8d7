//! Errors of the three send operations.

use std::{error::Error, fmt, io};

use super::view::{Side, View};
use crate::message::SerializeError;

/// The error of a blocking [`send`](crate::Sender::send).
#[non_exhaustive]
pub enum SendError<M> {
    /// Every receiver is gone; the message could never be received.
    Disconnected(M),
    /// The channel was closed (a queue's `close`): no message is taken any
    /// more. [`is_disconnected`](Self::is_disconnected) is true for it too.
    Closed(M),
    /// The serialized message is longer than the channel allows.
    TooLarge {
        /// The message, given back.
        msg: M,
        /// Its serialized length in bytes.
        len: usize,
        /// The channel's limit in bytes.
        limit: usize,
    },
    /// rkyv could not serialize the message.
    Serialize {
        /// The message, given back.
        msg: M,
        /// Why serialization failed.
        source: SerializeError,
    },
    /// The operating system refused the send.
    Io {
        /// The message, given back.
        msg: M,
        /// The operating system's error.
        source: io::Error,
    },
}

/// The error of [`try_send`](crate::Sender::try_send).
#[non_exhaustive]
pub enum TrySendError<M> {
    /// The channel is bounded and full right now.
    Full(M),
    /// Every receiver is gone.
    Disconnected(M),
    /// The channel was closed (a queue's `close`): no message is taken any
    /// more. [`is_disconnected`](Self::is_disconnected) is true for it too.
    Closed(M),
    /// The serialized message is longer than the channel allows.
    TooLarge {
        /// The message, given back.
        msg: M,
        /// Its serialized length in bytes.
        len: usize,
        /// The channel's limit in bytes.
        limit: usize,
    },
    /// rkyv could not serialize the message.
    Serialize {
        /// The message, given back.
        msg: M,
        /// Why serialization failed.
        source: SerializeError,
    },
    /// The operating system refused the send.
    Io {
        /// The message, given back.
        msg: M,
        /// The operating system's error.
        source: io::Error,
    },
}

/// The error of [`send_timeout`](crate::Sender::send_timeout).
#[non_exhaustive]
pub enum SendTimeoutError<M> {
    /// The channel stayed full until the deadline.
    Timeout(M),
    /// Every receiver is gone.
    Disconnected(M),
    /// The channel was closed (a queue's `close`): no message is taken any
    /// more. [`is_disconnected`](Self::is_disconnected) is true for it too.
    Closed(M),
    /// The serialized message is longer than the channel allows.
    TooLarge {
        /// The message, given back.
        msg: M,
        /// Its serialized length in bytes.
        len: usize,
        /// The channel's limit in bytes.
        limit: usize,
    },
    /// rkyv could not serialize the message.
    Serialize {
        /// The message, given back.
        msg: M,
        /// Why serialization failed.
        source: SerializeError,
    },
    /// The operating system refused the send.
    Io {
        /// The message, given back.
        msg: M,
        /// The operating system's error.
        source: io::Error,
    },
}

/// Implements the accessors, `Debug`, `Display` and `Error` of a send error;
/// `$wait` is the variant that only that blocking mode has.
macro_rules! send_error_impls {
    ($name:ident $(, $wait:ident => $view:ident, $is_wait:ident)?) => {
        impl<M> $name<M> {
            /// Takes the message back.
            pub fn into_inner(self) -> M {
                match self {
                    $($name::$wait(msg) => msg,)?
                    $name::Disconnected(msg) => msg,
                    $name::Closed(msg) => msg,
                    $name::TooLarge { msg, .. } => msg,
                    $name::Serialize { msg, .. } => msg,
                    $name::Io { msg, .. } => msg,
                }
            }

            /// The same error with its message changed by `f`: for
            /// instance a borrowed message made owned (`e.map(<[u8]>::to_vec)`)
            /// so the error can outlive it and go up with `?`.
            pub fn map<N>(self, f: impl FnOnce(M) -> N) -> $name<N> {
                match self {
                    $($name::$wait(msg) => $name::$wait(f(msg)),)?
                    $name::Disconnected(msg) => $name::Disconnected(f(msg)),
                    $name::Closed(msg) => $name::Closed(f(msg)),
                    $name::TooLarge { msg, len, limit } => $name::TooLarge { msg: f(msg), len, limit },
                    $name::Serialize { msg, source } => $name::Serialize { msg: f(msg), source },
                    $name::Io { msg, source } => $name::Io { msg: f(msg), source },
                }
            }

            /// Whether no message can be sent any more: every receiver is
            /// gone, or the channel was closed.
            pub fn is_disconnected(&self) -> bool {
                matches!(self, $name::Disconnected(_) | $name::Closed(_))
            }

            /// Whether the channel was closed (a queue's `close`), rather
            /// than left by its receivers.
            pub fn is_closed(&self) -> bool {
                matches!(self, $name::Closed(_))
            }

            /// Whether the message exceeded the channel's size limit.
            pub fn is_too_large(&self) -> bool {
                matches!(self, $name::TooLarge { .. })
            }

            $(
                #[doc = concat!("Whether this is the [`", stringify!($wait), "`](Self::", stringify!($wait), ") case.")]
                pub fn $is_wait(&self) -> bool {
                    matches!(self, $name::$wait(_))
                }
            )?

            fn view(&self) -> View<'_> {
                match self {
                    $($name::$wait(_) => View::$view,)?
                    $name::Disconnected(_) => View::Disconnected,
                    $name::Closed(_) => View::Closed,
                    $name::TooLarge { len, limit, .. } => View::TooLarge { len: *len, limit: *limit },
                    $name::Serialize { source, .. } => View::Serialize(source),
                    $name::Io { source, .. } => View::Io(source),
                }
            }
        }

        impl<M> fmt::Debug for $name<M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($name::$wait(_) => f.write_str(concat!(stringify!($name), "::", stringify!($wait), "(..)")),)?
                    $name::Disconnected(_) => f.write_str(concat!(stringify!($name), "::Disconnected(..)")),
                    $name::Closed(_) => f.write_str(concat!(stringify!($name), "::Closed(..)")),
                    $name::TooLarge { len, limit, .. } => f
                        .debug_struct(concat!(stringify!($name), "::TooLarge"))
                        .field("len", len)
                        .field("limit", limit)
                        .finish_non_exhaustive(),
                    $name::Serialize { source, .. } => f
                        .debug_struct(concat!(stringify!($name), "::Serialize"))
                        .field("source", source)
                        .finish_non_exhaustive(),
                    $name::Io { source, .. } => f
                        .debug_struct(concat!(stringify!($name), "::Io"))
                        .field("source", source)
                        .finish_non_exhaustive(),
                }
            }
        }

        impl<M> fmt::Display for $name<M> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.view().fmt(Side::Send, f)
            }
        }

        impl<M> Error for $name<M> {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                self.view().source()
            }
        }
    };
}

send_error_impls!(SendError);
send_error_impls!(TrySendError, Full => Full, is_full);
send_error_impls!(SendTimeoutError, Timeout => Timeout, is_timeout);

/// A blocking send can only fail in ways a timed send can fail too.
impl<M> From<SendError<M>> for SendTimeoutError<M> {
    fn from(e: SendError<M>) -> Self {
        match e {
            SendError::Disconnected(msg) => SendTimeoutError::Disconnected(msg),
            SendError::Closed(msg) => SendTimeoutError::Closed(msg),
            SendError::TooLarge { msg, len, limit } => SendTimeoutError::TooLarge { msg, len, limit },
            SendError::Serialize { msg, source } => SendTimeoutError::Serialize { msg, source },
            SendError::Io { msg, source } => SendTimeoutError::Io { msg, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_given_back() {
        assert_eq!(TrySendError::Full(7).into_inner(), 7);
        let e = SendError::TooLarge {
            msg: "m",
            len: 10,
            limit: 4,
        };
        assert_eq!(
            e.to_string(),
            "message of 10 bytes exceeds the channel's limit of 4 bytes"
        );
        assert_eq!(e.into_inner(), "m");
    }

    #[test]
    fn closed_is_told_apart_and_counts_as_disconnected() {
        let e = TrySendError::Closed(3);
        assert!(e.is_closed());
        assert!(e.is_disconnected());
        assert!(!TrySendError::Disconnected(3).is_closed());
        assert_eq!(e.to_string(), "sending on a channel that was closed");
        assert_eq!(format!("{e:?}"), "TrySendError::Closed(..)");
        assert!(SendTimeoutError::from(SendError::Closed(())).is_closed());
        assert_eq!(e.into_inner(), 3);
    }

    #[test]
    fn io_errors_expose_their_source() {
        let e = SendTimeoutError::Io {
            msg: (),
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        };
        assert!(e.source().is_some());
        assert_eq!(e.to_string(), "operating system error while sending");
        assert!(format!("{e:?}").starts_with("SendTimeoutError::Io"));
    }
}
