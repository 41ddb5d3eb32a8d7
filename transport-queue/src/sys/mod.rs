//! What differs by platform in this crate (ipc-channel holds the rest):
//! whether the hub's receiver set may move from thread to thread, so that
//! a get in the creating process can wait on the members' channels itself
//! ([`crate::hub`]'s `lead` module).
//!
//! Every platform provides [`Lent`], what the hub's state holds while the
//! set is free for a local get, and three functions: [`lend`] (the hub
//! thread offers the set; it gets it back when the set may not move),
//! [`back`] (the hub thread takes a lent set back) and [`set_of`] (a local
//! get waits on a lent set, which it returns lent).

#[cfg(not(windows))]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(not(windows))]
pub(crate) use unix::{Lent, back, lend, set_of};
#[cfg(windows)]
pub(crate) use windows::{Lent, back, lend, set_of};
