//! What differs by platform in this crate.
//!
//! This module serves both sides (the hub and members) and imports neither:
//! it knows the messages ([`crate::wire`]) and nothing else of the crate.
//!
//! Where the hub's receiver set may live, and whether a member's channel
//! may be read directly and later from a receiver set ([`unix`] /
//! [`windows`]):
//! - [`MovableSet`], a receiver set that may wait on another thread than
//!   the one that made it, and [`movable`] (the hub thread offers its set
//!   to local gets; it gets it back where sets may not move), so that a get
//!   in the creating process can wait on the members' channels itself
//!   (`crate::hub::reading`);
//! - [`DIRECT_READS`]: whether a member's threads may read its `down`
//!   channel themselves, handing it to the bridge (`crate::member::bridge`)
//!   the first time an async task waits, or the bridge reads it from the
//!   start.
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

mod api;
#[cfg(not(target_os = "linux"))]
mod ipc;
#[cfg(target_os = "linux")]
mod linux;

pub(crate) use api::{Event, Joined, NewMember, io_error};
#[cfg(not(target_os = "linux"))]
pub(crate) use ipc::{HubSet, SetHandle, connect_error, rendezvous, serve, to_ipc_up};
#[cfg(target_os = "linux")]
pub(crate) use linux::{HubSet, SetHandle, connect_error, rendezvous, serve, to_ipc_up};
#[cfg(not(windows))]
pub(crate) use unix::{DIRECT_READS, MovableSet, movable};
#[cfg(windows)]
pub(crate) use windows::{DIRECT_READS, MovableSet, movable};
