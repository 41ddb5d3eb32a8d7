//! Running a function in a child process: the current executable started
//! again in one of its *entry points*, with the argument and the result
//! carried as messages over the selected backend.
//!
//! The program names its entry points once, at the top of `main`, with
//! [`init`]. In the parent `init` returns at once; in a child started for
//! an entry it runs that entry and exits, so nothing after it runs there:
//!
//! ```no_run
//! use transport_adapters::process::{self, Entry};
//!
//! fn square(n: u64) -> u64 {
//!     n * n
//! }
//! static SQUARE: Entry<u64, u64> = Entry::new("square", square);
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     process::init(&[&SQUARE]);
//!     let child = process::spawn(&SQUARE, 12)?;
//!     assert_eq!(child.wait()?, 144);
//!     Ok(())
//! }
//! ```
//!
//! A child that panics gives [`ChildError::Panicked`] with the panic's
//! message; one that exits before it answers, or is killed, gives
//! [`ChildError::Died`] with its exit status, in bounded time: the parent
//! notices a death by the result channel's `Disconnected` (which every
//! backend reports in bounded time) or by the process's exit, whichever
//! comes first. [`Child::wait_timeout`] bounds the wait itself.
//!
//! The same child, kept to take many tasks, is a worker of a
//! [`Pool`](crate::pool::Pool). An [`Initializer`], registered with
//! [`init`] beside the entries, is what such a worker runs once before
//! its first task, with an argument from the parent.

mod child;
mod entry;
mod error;
mod init;
mod initializer;
mod start;

pub use child::{Child, Spawner, spawn};
pub(crate) use child::{EXIT_CHECK, EXIT_GRACE};
pub use entry::{Entry, EntryPoint};
pub use error::{ChildError, SpawnError};
pub use init::{EXIT_CHANNEL_FAILED, EXIT_INIT_FAILED, EXIT_UNKNOWN_ENTRY, init};
pub(crate) use initializer::InitCall;
pub use initializer::Initializer;
pub(crate) use start::{INIT_ID, ResultMsg, STOP_ID, Setup, Started, TaskMsg, start};
