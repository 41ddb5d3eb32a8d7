//! The small pieces of synchronisation every backend needs, written once:
//! locking a mutex whatever a panic left it as ([`LockExt`]), waiting on a
//! condition variable as long as a [`Wait`](crate::Wait) allows
//! ([`wait_as`]), and the wakers of async tasks waiting on one thing
//! ([`WakerList`], after crossbeam-channel's `waker.rs`).
//!
//! Nothing here is specific to an operating system: it is built on `std`
//! alone.

mod condvar;
mod lock;
mod wakers;

pub use condvar::{Waited, wait_as};
pub use lock::{LockExt, lock_unpoisoned};
pub use wakers::WakerList;
