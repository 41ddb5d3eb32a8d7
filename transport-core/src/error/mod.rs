//! Errors, one type per operation and blocking mode, in crossbeam's
//! vocabulary plus what inter-process transports add.
//!
//! Send errors give the message back. Messages are lower-case and name what
//! failed and why; operating-system causes come back from
//! [`source()`](std::error::Error::source).

mod handoff;
mod recv;
mod send;
mod setup;

pub use handoff::{FromEnvError, HandoffError, OpenError};
pub use recv::{InvalidMessage, MalformedFrame, RecvError, RecvTimeoutError, TryRecvError};
pub use send::{SendError, SendTimeoutError, TrySendError};
pub use setup::CreateError;

use std::{error::Error, fmt, io};

use crate::message::SerializeError;

/// What went wrong, seen the same way by every send and receive error so
/// their messages and sources are written once.
enum View<'a> {
    Full,
    Empty,
    Timeout,
    Disconnected,
    Closed,
    TooLarge { len: usize, limit: usize },
    Serialize(&'a SerializeError),
    Invalid(&'a InvalidMessage),
    Malformed(&'a MalformedFrame),
    Io(&'a io::Error),
}

/// Which side of the channel the error comes from.
#[derive(Clone, Copy)]
enum Side {
    Send,
    Recv,
}

impl<'a> View<'a> {
    fn fmt(&self, side: Side, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, side) {
            (View::Full, _) => f.write_str("channel is full"),
            (View::Empty, _) => f.write_str("channel is empty"),
            (View::Timeout, Side::Send) => f.write_str("timed out waiting for room in the channel"),
            (View::Timeout, Side::Recv) => f.write_str("timed out waiting for a message"),
            (View::Disconnected, Side::Send) => {
                f.write_str("sending on a channel whose receiving end is disconnected")
            }
            (View::Disconnected, Side::Recv) => f.write_str(
                "receiving on a channel whose sending end is disconnected and that holds no message",
            ),
            (View::Closed, Side::Send) => f.write_str("sending on a channel that was closed"),
            (View::Closed, Side::Recv) => {
                f.write_str("receiving on a channel that was closed and holds no message")
            }
            (View::TooLarge { len, limit }, _) => write!(
                f,
                "message of {len} bytes exceeds the channel's limit of {limit} bytes"
            ),
            (View::Serialize(e), _) => fmt::Display::fmt(e, f),
            (View::Invalid(e), _) => fmt::Display::fmt(e, f),
            (View::Malformed(e), _) => fmt::Display::fmt(e, f),
            (View::Io(_), Side::Send) => f.write_str("operating system error while sending"),
            (View::Io(_), Side::Recv) => f.write_str("operating system error while receiving"),
        }
    }

    fn source(self) -> Option<&'a (dyn Error + 'static)> {
        match self {
            View::Serialize(e) => e.source(),
            View::Invalid(e) => e.source(),
            View::Io(e) => Some(e),
            _ => None,
        }
    }
}
