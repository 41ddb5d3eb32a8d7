//! The types every platform's code takes and gives: a member's channels
//! as the hub holds them, what the hub's receiver set reports, and what a
//! hand-off server hands over.

use std::fmt;

use ipc_channel::ipc::IpcSender;
use transport_core::HandoffError;

use crate::wire::{Down, Request, Role, Violation};

/// A member's `up` channel, as the hub holds it: the socket, where the hub
/// reads members' bytes itself (Linux).
#[cfg(target_os = "linux")]
pub(crate) type UpChannel = std::os::fd::OwnedFd;

/// A member's `up` channel, as the hub holds it: an ipc-channel receiver.
#[cfg(not(target_os = "linux"))]
pub(crate) type UpChannel = ipc_channel::ipc::IpcReceiver<Request>;

/// A member to add: its channels and its role.
pub(crate) struct NewMember {
    pub(crate) up: UpChannel,
    pub(crate) down: IpcSender<Down>,
    pub(crate) role: Role,
}

impl fmt::Debug for NewMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewMember")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// What a child that opened a hand-off brings: its two channels.
pub(crate) struct Joined {
    pub(crate) up: UpChannel,
    pub(crate) down: IpcSender<Down>,
}

/// What a hand-off server does with the child's channels (the handle it
/// keeps for the child goes with it).
pub(crate) type Deliver = Box<dyn FnOnce(Joined) -> std::io::Result<()> + Send>;

/// What the hub's receiver set gives.
#[derive(Debug)]
pub(crate) enum Event {
    /// A member's request.
    Request { key: u64, req: Request<NewMember> },
    /// A member broke the protocol; its channel is no longer read.
    Broken { key: u64, why: Violation },
    /// A member's channel closed (it left or died).
    Closed { key: u64 },
    /// The set was woken.
    Woken,
}

/// Maps an OS error to a hand-off error about `what`.
pub(crate) fn io_error(what: &str) -> impl FnOnce(std::io::Error) -> HandoffError + '_ {
    move |source| HandoffError::Io {
        what: what.to_owned(),
        source,
    }
}
