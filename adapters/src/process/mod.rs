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
//! [`Pool`](crate::pool::Pool).

mod child;
mod entry;
mod error;
mod start;

use std::{
    env,
    io::{self, Write},
    process,
};

pub use child::{Child, Spawner, spawn};
pub(crate) use child::{EXIT_CHECK, EXIT_GRACE};
pub use entry::{Entry, EntryPoint};
pub use error::{ChildError, SpawnError};
pub(crate) use start::{ResultMsg, Started, TaskMsg, start};

/// The environment variable naming the entry a child process runs.
pub(crate) const ENTRY_VAR: &str = "TRANSPORT_PROCESS_ENTRY";
/// The endpoint that carries tasks to a child.
pub(crate) const TASKS: &str = "transport_process_tasks";
/// The endpoint that carries results back.
pub(crate) const RESULTS: &str = "transport_process_results";

/// The exit code of a child whose entry is not among those [`init`] was
/// given.
pub const EXIT_UNKNOWN_ENTRY: i32 = 120;
/// The exit code of a child that could not open its channels or answer.
pub const EXIT_CHANNEL_FAILED: i32 = 121;

/// Registers the program's entry points; call it first thing in `main`
/// (or in each test that starts children of the test binary).
///
/// In a process that was not started for an entry, it returns at once. In
/// a child started by [`spawn`] or a [`Pool`](crate::pool::Pool), it runs
/// the entry that child was started for, answering tasks until its parent
/// closes the task channel, and exits: `0` when the parent closed it,
/// [`EXIT_UNKNOWN_ENTRY`] when no entry has that name,
/// [`EXIT_CHANNEL_FAILED`] when the channels could not be used.
pub fn init(entries: &[&dyn EntryPoint]) {
    let Some(name) = env::var_os(ENTRY_VAR) else {
        return;
    };
    let code = match entries.iter().find(|e| name == e.name()) {
        Some(entry) => match entry.serve() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("entry `{}`: {e}", entry.name());
                EXIT_CHANNEL_FAILED
            }
        },
        None => {
            eprintln!("this program has no entry point named {name:?}");
            EXIT_UNKNOWN_ENTRY
        }
    };
    let _ = io::stdout().flush();
    process::exit(code)
}
