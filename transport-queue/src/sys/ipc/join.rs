//! A child joining a queue where ipc-channel carries everything (every
//! platform but Linux): its two channels, and the hub's ends sent through
//! the parent's one-shot server.

use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use transport_core::OpenError;

use super::{
    channel::{DownReceiver, ipc_to_io},
    handoff::connect_error,
    up::UpSender,
};
use crate::wire::{Boot, Down, JoinRequest, Request, Role};

/// The hub's ends of a new member's channels, until the join sends them.
#[derive(Debug)]
pub(crate) struct JoinParts {
    up: IpcReceiver<Request>,
    down: IpcSender<Down>,
}

impl JoinParts {
    /// The hub's end of the `down` channel (for tests of the hub's side).
    #[cfg(test)]
    pub(crate) fn down_sender(self) -> super::channel::DownSender {
        super::channel::DownSender(self.down)
    }
}

/// A new member's two channels: its ends, and the hub's.
pub(crate) fn member_channels() -> std::io::Result<(UpSender, DownReceiver, JoinParts)> {
    let (up_tx, up_rx) = ipc::channel::<Request>()?;
    let (down_tx, down_rx) = ipc::channel::<Down>()?;
    Ok((
        UpSender(up_tx),
        DownReceiver(down_rx),
        JoinParts {
            up: up_rx,
            down: down_tx,
        },
    ))
}

/// Sends the hub's ends through the one-shot server `name`: from here on
/// only the hub holds them.
pub(crate) fn send_join(name: &str, parts: JoinParts, role: Role) -> Result<(), OpenError> {
    let boot = IpcSender::<Boot>::connect(name.to_owned()).map_err(|e| connect_error(name, e))?;
    boot.send(Boot::Join(JoinRequest {
        up: parts.up,
        down: parts.down,
        role,
    }))
    .map_err(|e| OpenError::io(format!("hand-off `{name}`"), ipc_to_io(e)))
}
