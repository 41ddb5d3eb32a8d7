//! A member's end of its `up` channel where ipc-channel carries everything
//! (every platform but Linux).

use super::channel::ipc_to_io;
use crate::{
    sys::api::{MemberRequest, NewMember},
    wire::{JoinRequest, Request},
};
use ipc_channel::ipc::IpcSender;

/// A member's end of its `up` channel.
#[derive(Debug)]
pub(crate) struct UpSender(pub(crate) IpcSender<Request>);

impl UpSender {
    /// Sends `req`, waiting for room.
    pub(crate) fn send(&self, req: MemberRequest) -> std::io::Result<()> {
        let Request { read, took, up } = req;
        let up = up.try_map(
            |NewMember { up, down, role }| {
                Ok::<_, std::io::Error>(JoinRequest {
                    up,
                    down: down.0,
                    role,
                })
            },
            |written| match written {},
        )?;
        self.0.send(Request { read, took, up }).map_err(ipc_to_io)
    }
}
