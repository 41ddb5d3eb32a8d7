//! What differs by platform in this crate.
//!
//! This module serves both sides (the hub and members) and imports neither:
//! it knows the messages ([`crate::wire`]) and nothing else of the crate.
//!
//! Where the hub's receiver set may live, and whether a member's channel
//! may be read directly and later from a receiver set (`unix` /
//! `windows`):
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
//! What carries the messages between the hub and its members, and who
//! holds the hand-off rendezvous (`linux` / `ipc`): every platform
//! provides
//! - [`HubSet`] and [`SetHandle`]: the members' `up` channels
//!   ([`UpChannel`](api::UpChannel)) waited on at once, giving [`Event`]s
//!   (requests with their adoptions' channels and shared puts' segments
//!   checked); the handle wakes the set's holder and adds channels from
//!   other threads;
//! - [`DownSender`]: the hub's end of a member's `down`
//!   channel;
//! - [`member_channels`] and [`send_join`]: a child's two channels, its
//!   ends ([`UpSender`], [`DownReceiver`]) and the hub's, sent through the
//!   hand-off; [`DownSet`] (with [`DownSetCtl`] and [`SetEvent`]): the
//!   `down` channels of a process's members waited on at once, for its
//!   bridge thread;
//! - [`serve`]: a hand-off server for the child a command spawns, which
//!   gives the child's channels to a [`Deliver`](api::Deliver);
//!   [`rendezvous`] (the server's name, and what the child lets go of once
//!   it opened) and `connect_error` for the child's side;
//! - [`SlabPool`], [`Produced`], [`Segment`], [`SlabReader`]: shared memory
//!   for large items, where the platform has it (Linux); elsewhere the
//!   pool is never made and the segment types have no values.
//!
//! On Linux this crate's own code reads and writes every socket and checks
//! every byte a member sends; elsewhere ipc-channel does, behind a boundary
//! that catches its panics.

mod api;
#[cfg(not(target_os = "linux"))]
mod ipc;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(not(windows))]
mod unix;
#[cfg(windows)]
mod windows;

pub(crate) use api::{
    DownSender, Event, Joined, MemberRequest, NewMember, Outgoing, Received, Segment, Written, io_error,
};
#[cfg(not(target_os = "linux"))]
pub(crate) use ipc::segment::MAX_SLABS;
#[cfg(not(target_os = "linux"))]
pub(crate) use ipc::{
    Delivered, DownReceiver, DownSet, DownSetCtl, HubSet, Produced, SetEvent, SetHandle, SlabPool,
    SlabReader, UpSender, member_channels, rendezvous, send_join, serve,
};
#[cfg(target_os = "linux")]
pub(crate) use linux::segment::MAX_SLABS;
#[cfg(target_os = "linux")]
pub(crate) use linux::{
    Delivered, DownReceiver, DownSet, DownSetCtl, HubSet, Produced, SetEvent, SetHandle, SlabPool,
    SlabReader, UpSender, member_channels, rendezvous, send_join, serve,
};
#[cfg(not(windows))]
pub(crate) use unix::{DIRECT_READS, MovableSet, movable};
#[cfg(windows)]
pub(crate) use windows::{DIRECT_READS, MovableSet, movable};
