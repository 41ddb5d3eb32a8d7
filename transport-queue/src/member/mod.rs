//! The member: code that runs in a process other than the one that
//! created the queue. Such a process holds a membership of the queue: two
//! private channels to the hub, shared by all its handles.
//!
//! - [`handle`]: one handle ([`MemberHandle`](handle::MemberHandle)).
//! - [`link`]: the membership's connection to the hub, and its requests;
//!   [`join`]: opening a hand-off; [`put`] and [`get`].
//! - [`inbox`]: the state its threads share and who reads the `down`
//!   channel; [`state`]: that state, filled from the hub's messages;
//!   [`bridge`]: the thread that reads for async tasks.

pub(crate) mod bridge;
pub(crate) mod get;
pub(crate) mod handle;
pub(crate) mod inbox;
pub(crate) mod join;
pub(crate) mod link;
pub(crate) mod put;
pub(crate) mod state;
