//! Every platform but Linux: ipc-channel carries every message between the
//! hub and its members ([`channel`], [`up`], [`join`], [`down_set`]),
//! reads members' bytes for the hub ([`set`]) and holds the hand-off
//! rendezvous ([`handoff`]); see those modules for what that leaves open.
//! Large items travel inline ([`segment`]).

pub(crate) mod channel;
mod down_set;
mod handoff;
mod join;
pub(crate) mod segment;
mod set;
mod up;

pub(crate) use channel::{Delivered, DownReceiver};
pub(crate) use down_set::{DownSet, DownSetCtl, SetEvent};
pub(crate) use handoff::{rendezvous, serve};
pub(crate) use join::{member_channels, send_join};
pub(crate) use segment::{Produced, SlabPool, SlabReader};
pub(crate) use set::{HubSet, SetHandle};
pub(crate) use up::UpSender;
