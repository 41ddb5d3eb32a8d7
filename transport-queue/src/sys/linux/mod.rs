//! Linux: the hub reads members' bytes, and holds the hand-off rendezvous,
//! with this crate's own code (ipc-channel still carries everything the
//! hub sends, and everything members read).

mod child;
mod convert;
mod fd;
mod handoff;
mod set;

use std::io;

use ipc_channel::ipc::IpcReceiver;

pub(crate) use handoff::{connect_error, rendezvous, serve};
pub(crate) use set::{HubSet, SetHandle};

use crate::{sys::api::UpChannel, wire::Request};

/// A member's `up` channel (a socket the hub read itself) as an
/// ipc-channel receiver, to pass on to the hub.
pub(crate) fn to_ipc_up(up: UpChannel) -> io::Result<IpcReceiver<Request>> {
    convert::up(up)
}
