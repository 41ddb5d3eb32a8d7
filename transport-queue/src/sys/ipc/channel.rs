//! A member's two channels where ipc-channel carries everything (every
//! platform but Linux): the hub's ends ([`UpChannel`], [`DownSender`]) and
//! the member's end of its `down` channel ([`DownReceiver`]).

use std::time::Duration;

use ipc_channel::{
    IpcError, TryRecvError,
    ipc::{IpcReceiver, IpcSender},
};

use super::segment::Outgoing;
use crate::wire::{Down, Request};

/// An ipc-channel error as an I/O error.
pub(crate) fn ipc_to_io(e: IpcError) -> std::io::Error {
    match e {
        IpcError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

/// A member's `up` channel, as the hub holds it.
pub(crate) type UpChannel = IpcReceiver<Request>;

/// The hub's end of a member's `down` channel.
#[derive(Debug)]
pub(crate) struct DownSender(pub(crate) IpcSender<Down>);

impl DownSender {
    /// Sends `msg` (no segment is ever in it here), waiting for room.
    pub(crate) fn send(&self, msg: Down<Outgoing>) -> std::io::Result<()> {
        let msg: Down = match msg.try_map(|out: Outgoing| Err::<crate::wire::NoSegment, _>(out)) {
            Ok(msg) => msg,
            Err(out) => match out {},
        };
        self.0.send(msg).map_err(ipc_to_io)
    }
}

/// A message of the hub's as a member files it (no shared item here).
#[derive(Debug)]
pub(crate) struct Delivered {
    pub(crate) msg: Down,
    pub(crate) tickets: Vec<u64>,
}

/// A member's end of its `down` channel.
#[derive(Debug)]
pub(crate) struct DownReceiver(pub(crate) IpcReceiver<Down>);

/// Rounds up to whole milliseconds, the resolution ipc-channel waits with.
fn ceil_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX))
}

impl DownReceiver {
    /// Receives one message, waiting at most `left` (`None`: no limit):
    /// `Ok(None)` when none came in time, `Err` when the hub is gone (or
    /// sent something this protocol does not know).
    pub(crate) fn recv(&mut self, left: Option<Duration>) -> Result<Option<Delivered>, ()> {
        let result = match left {
            None => self.0.recv().map_err(TryRecvError::IpcError),
            Some(left) if left.is_zero() => self.0.try_recv(),
            Some(left) => self.0.try_recv_timeout(ceil_ms(left)),
        };
        match result {
            Ok(msg) => Ok(Some(Delivered {
                msg,
                tickets: Vec::new(),
            })),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::IpcError(_)) => Err(()),
        }
    }
}
