//! Turning the non-blocking calls' errors into the errors of the waiting
//! calls (the only case the waiting calls do not have, `Full` / `Empty`,
//! never reaches these functions).

use std::io;

use transport_core::{RecvError, SendError, TryRecvError, TrySendError, backend::RawSendError};

/// The error of a send that waited, from the error of a `try_send`.
pub(crate) fn send_error<M>(e: TrySendError<M>) -> SendError<M> {
    match e {
        TrySendError::Disconnected(msg) => SendError::Disconnected(msg),
        TrySendError::Closed(msg) => SendError::Closed(msg),
        TrySendError::TooLarge { msg, len, limit } => SendError::TooLarge { msg, len, limit },
        TrySendError::Serialize { msg, source } => SendError::Serialize { msg, source },
        TrySendError::Io { msg, source } => SendError::Io { msg, source },
        other => {
            let text = other.to_string();
            SendError::Io {
                msg: other.into_inner(),
                source: io::Error::other(text),
            }
        }
    }
}

/// The error of a raw send of `msg`, as a typed send error.
pub(crate) fn raw_send_error<M>(msg: M, e: RawSendError) -> SendError<M> {
    match e {
        RawSendError::Disconnected => SendError::Disconnected(msg),
        RawSendError::Closed => SendError::Closed(msg),
        RawSendError::TooLarge { len, limit } => SendError::TooLarge { msg, len, limit },
        RawSendError::Serialize(source) => SendError::Serialize { msg, source },
        RawSendError::Io(source) => SendError::Io { msg, source },
        other => SendError::Io {
            msg,
            source: io::Error::other(format!("{other:?}")),
        },
    }
}

/// The error of a receive that waited, from the error of a `try_recv`.
pub(crate) fn recv_error(e: TryRecvError) -> RecvError {
    match e {
        TryRecvError::Disconnected => RecvError::Disconnected,
        TryRecvError::Closed => RecvError::Closed,
        TryRecvError::TooLarge { len, limit } => RecvError::TooLarge { len, limit },
        TryRecvError::Invalid(e) => RecvError::Invalid(e),
        TryRecvError::Malformed(e) => RecvError::Malformed(e),
        TryRecvError::Io(e) => RecvError::Io(e),
        other => RecvError::Io(io::Error::other(other.to_string())),
    }
}
