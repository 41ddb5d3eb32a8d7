//! `init`: the program's entry points, and running one in a child.

use std::{
    env,
    io::{self, Write},
    process,
};

use super::{entry::EntryPoint, start::ENTRY_VAR};

/// The exit code of a child whose entry is not among those [`init`] was
/// given.
pub const EXIT_UNKNOWN_ENTRY: i32 = 120;
/// The exit code of a child that could not open its channels or answer.
pub const EXIT_CHANNEL_FAILED: i32 = 121;

/// Registers the program's entry points; call it first thing in `main`
/// (or in each test that starts children of the test binary).
///
/// In a process that was not started for an entry, it returns at once. In
/// a child started by [`spawn`](super::spawn) or a [`Pool`](crate::pool::Pool), it runs
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
