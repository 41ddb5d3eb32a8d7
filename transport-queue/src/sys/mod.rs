//! What differs by platform in this crate.
//!
//! Where the hub's receiver set may live, and whether a member's channel
//! may be read directly and later from a receiver set ([`unix`] /
//! [`windows`]):
//! - [`Lent`], what the hub's state holds while its set is free for a local
//!   get, and three functions: [`lend`] (the hub thread offers the set; it
//!   gets it back when the set may not move), [`back`] (the hub thread
//!   takes a lent set back) and [`set_of`] (a local get waits on a lent
//!   set, which it returns lent), so that a get in the creating process can
//!   wait on the members' channels itself ([`crate::hub`]'s `lead` module);
//! - [`DIRECT_READS`]: whether a member's threads may read its `down`
//!   channel themselves, handing it to the bridge ([`crate::bridge`]) the
//!   first time an async task waits, or the bridge reads it from the start.
//!
//! Who reads what members send, and who holds the hand-off rendezvous
//! (`linux` / `ipc`): every platform provides
//! - [`HubSet`] and [`SetHandle`]: the members' `up` channels
//!   ([`UpChannel`]) waited on at once, giving [`Event`]s; the handle wakes
//!   the set's holder and adds channels from other threads;
//! - [`serve`]: a hand-off server for the child a command spawns, which
//!   gives the child's channels to a [`Deliver`]; [`rendezvous`] (the
//!   server's name, and what the child lets go of once it opened) and
//!   [`connect_error`] for the child's side;
//! - [`to_ipc_up`]: an `up` channel as an ipc-channel receiver, to send on.
//!
//! On Linux this crate reads members' sockets itself and checks every byte;
//! elsewhere ipc-channel does, behind a boundary that catches its panics.

#[cfg(not(windows))]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(not(target_os = "linux"))]
mod ipc;
#[cfg(target_os = "linux")]
mod linux;

use std::fmt;

use ipc_channel::ipc::IpcSender;
use transport_core::HandoffError;

#[cfg(not(target_os = "linux"))]
pub(crate) use ipc::{HubSet, SetHandle, UpChannel, connect_error, rendezvous, serve, to_ipc_up};
#[cfg(target_os = "linux")]
pub(crate) use linux::{HubSet, SetHandle, UpChannel, connect_error, rendezvous, serve, to_ipc_up};
#[cfg(not(windows))]
pub(crate) use unix::{DIRECT_READS, Lent, back, lend, set_of};
#[cfg(windows)]
pub(crate) use windows::{DIRECT_READS, Lent, back, lend, set_of};

use crate::{
    hub::Violation,
    wire::{Down, Request, Role},
};

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
