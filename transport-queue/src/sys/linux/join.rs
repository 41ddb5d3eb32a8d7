//! A child joining a queue (Linux): it makes its two socket pairs, keeps
//! one end of each ([`UpSender`], [`DownReceiver`]) and sends the other two
//! through the hand-off server, with this crate's own code.

use std::{
    io,
    os::fd::{AsRawFd, OwnedFd},
    path::Path,
};

use transport_core::OpenError;

use super::{down::DownReceiver, fd, frames, handoff::connect_error, up::UpSender};
use crate::wire::{Boot, JoinIndices, Role};

/// The hub's ends of a new member's sockets, until the join sends them.
#[derive(Debug)]
pub(crate) struct JoinParts {
    up: OwnedFd,
    down: OwnedFd,
}

impl JoinParts {
    /// The hub's end of the `down` channel (for tests of the hub's side).
    #[cfg(test)]
    pub(crate) fn down_sender(self) -> super::channel::DownSender {
        super::channel::DownSender::new(self.down)
    }
}

/// A new member's two channels: its ends, and the hub's.
pub(crate) fn member_channels() -> io::Result<(UpSender, DownReceiver, JoinParts)> {
    let (up_member, up_hub) = fd::socketpair()?;
    let (down_hub, down_member) = fd::socketpair()?;
    Ok((
        UpSender::new(up_member),
        DownReceiver::new(down_member),
        JoinParts {
            up: up_hub,
            down: down_hub,
        },
    ))
}

/// Sends the hub's ends through the hand-off server at `path`: from here
/// on only the hub holds them.
pub(crate) fn send_join(path: &str, parts: JoinParts, role: Role) -> Result<(), OpenError> {
    let conn = fd::connect(Path::new(path)).map_err(|e| connect_error(path, e))?;
    let boot: Boot<JoinIndices> = Boot::Join(JoinIndices { up: 0, down: 1, role });
    let payload = postcard::to_stdvec(&boot)
        .map_err(|e| OpenError::io(format!("hand-off `{path}`"), io::Error::other(e)))?;
    frames::send(
        conn.as_raw_fd(),
        &payload,
        &[parts.up.as_raw_fd(), parts.down.as_raw_fd()],
    )
    .map_err(|e| OpenError::io(format!("hand-off `{path}`"), e))
}
