//! The hub: code that runs in the process that created the queue. It
//! holds the queue's state and serves every handle: the handles of this
//! process ([`local`]) work on the state directly; handles in other
//! processes (members) send requests, which the hub thread or a local get
//! applies ([`serve`]), and receive items and answers through one
//! [`outbox`] each.
//!
//! - [`shared`]: the [`Hub`](shared::Hub) itself: the state behind its
//!   lock, the condition variables, the settings.
//! - [`state`]: the items and the bookkeeping of who gets what;
//!   [`requests`]: applying one member's request; [`membership`]: what the
//!   hub knows of one member, and the limits on what it can make the hub
//!   hold.
//! - [`locked`]: the state's lock, and the work that waits until it is
//!   released.
//! - [`reading`]: who reads the members' channels, as a state machine;
//!   [`serve`]: the threads that do.

pub(crate) mod local;
pub(crate) mod locked;
pub(crate) mod membership;
pub(crate) mod outbox;
pub(crate) mod reading;
pub(crate) mod requests;
pub(crate) mod serve;
pub(crate) mod shared;
pub(crate) mod state;
