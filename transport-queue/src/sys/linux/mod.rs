//! Linux: every byte between the hub and its members goes through this
//! crate's own code, in ipc-channel's framing ([`frames`]): the hub reads
//! members' sockets and checks everything ([`set`]), holds the hand-off
//! rendezvous ([`handoff`], [`child`]), and writes to members
//! ([`channel`]); members join ([`join`]), write ([`up`]) and read
//! ([`down`]) their sockets. Large items travel in shared memory
//! ([`segment`]). [`fd`] has the system calls.

pub(crate) mod channel;
mod child;
pub(crate) mod down;
mod fd;
mod frames;
mod handoff;
mod join;
pub(crate) mod segment;
mod set;
mod up;

pub(crate) use down::{Delivered, DownReceiver, DownSet, DownSetCtl, SetEvent};
pub(crate) use handoff::{rendezvous, serve};
pub(crate) use join::{member_channels, send_join};
pub(crate) use segment::{Produced, SlabPool, SlabReader};
pub(crate) use set::{HubSet, SetHandle};
pub(crate) use up::UpSender;
