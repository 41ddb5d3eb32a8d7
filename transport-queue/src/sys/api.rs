//! The types every platform's code takes and gives: a member's channels
//! as the hub holds them, what the hub's receiver set reports, what a
//! hand-off server hands over, and a shared item's segment.

use std::fmt;

use transport_core::HandoffError;

#[cfg(not(target_os = "linux"))]
pub(crate) use super::ipc::{
    channel::{DownSender, UpChannel},
    segment::{Outgoing, Received, Segment, Written},
};
#[cfg(target_os = "linux")]
pub(crate) use super::linux::{
    channel::{DownSender, UpChannel},
    segment::{Outgoing, Received, Segment, Written},
};
use crate::wire::{Request, Role, Violation};

/// A member to add: its channels and its role.
pub(crate) struct NewMember {
    pub(crate) up: UpChannel,
    pub(crate) down: DownSender,
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
    pub(crate) down: DownSender,
}

/// What a hand-off server does with the child's channels (the handle it
/// keeps for the child goes with it).
pub(crate) type Deliver = Box<dyn FnOnce(Joined) -> std::io::Result<()> + Send>;

/// A member's request as the hub applies it: an adoption with the child's
/// channels, a shared put with its checked segment.
pub(crate) type HubRequest = Request<NewMember, Received>;

/// A member's request as it sends it.
pub(crate) type MemberRequest = Request<NewMember, Written>;

/// What the hub's receiver set gives.
#[derive(Debug)]
pub(crate) enum Event {
    /// A member's request.
    Request { key: u64, req: HubRequest },
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
