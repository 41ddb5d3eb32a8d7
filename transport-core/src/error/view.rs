//! One view of every send and receive error, so their messages and
//! sources are written once.

use std::{error::Error, fmt, io};

use super::invalid::{InvalidMessage, MalformedFrame};
use crate::message::SerializeError;

/// What went wrong, seen the same way by every send and receive error so
/// their messages and sources are written once.
pub(super) enum View<'a> {
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
pub(super) enum Side {
    Send,
    Recv,
}

impl<'a> View<'a> {
    pub(super) fn fmt(&self, side: Side, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

    pub(super) fn source(self) -> Option<&'a (dyn Error + 'static)> {
        match self {
            View::Serialize(e) => e.source(),
            View::Invalid(e) => e.source(),
            View::Io(e) => Some(e),
            _ => None,
        }
    }
}
