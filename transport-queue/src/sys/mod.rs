//! What differs by platform in this crate (ipc-channel holds the rest):
//! whether a receiver set may move from thread to thread, and whether a
//! channel may be read both directly and, later, from a receiver set.
//!
//! Every platform provides:
//! - [`Lent`], what the hub's state holds while its set is free for a local
//!   get, and three functions: [`lend`] (the hub thread offers the set; it
//!   gets it back when the set may not move), [`back`] (the hub thread
//!   takes a lent set back) and [`set_of`] (a local get waits on a lent
//!   set, which it returns lent), so that a get in the creating process can
//!   wait on the members' channels itself ([`crate::hub`]'s `lead` module);
//! - [`DIRECT_READS`]: whether a member's threads may read its `down`
//!   channel themselves, handing it to the bridge ([`crate::bridge`]) the
//!   first time an async task waits, or the bridge reads it from the start.

#[cfg(not(windows))]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(not(windows))]
pub(crate) use unix::{DIRECT_READS, Lent, back, lend, set_of};
#[cfg(windows)]
pub(crate) use windows::{DIRECT_READS, Lent, back, lend, set_of};
