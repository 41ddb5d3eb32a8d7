//! Every platform but Linux: ipc-channel reads members' bytes and holds
//! the hand-off rendezvous (see the two modules for what that leaves
//! open).

mod handoff;
mod set;

use std::io;

use ipc_channel::ipc::IpcReceiver;

pub(crate) use handoff::{connect_error, rendezvous, serve};
pub(crate) use set::{HubSet, SetHandle};

use crate::{sys::api::UpChannel, wire::Request};

/// A member's `up` channel as a channel to send on to the hub (it already
/// is one here).
pub(crate) fn to_ipc_up(up: UpChannel) -> io::Result<IpcReceiver<Request>> {
    Ok(up)
}
