//! `init`: the program's entry points, and running one in a child.

use std::{
    env,
    io::{self, Write},
    process,
};

use super::{
    entry::{EntryPoint, Initialize, Role, Serve, ServeError},
    start::{ENTRY_VAR, INIT_VAR},
};

/// The exit code of a child whose entry (or initializer) is not among
/// those [`init`] was given.
pub const EXIT_UNKNOWN_ENTRY: i32 = 120;
/// The exit code of a child that could not open its channels or answer.
pub const EXIT_CHANNEL_FAILED: i32 = 121;
/// The exit code of a worker whose initializer panicked.
pub const EXIT_INIT_FAILED: i32 = 122;

/// Registers the program's entry points and initializers; call it first
/// thing in `main` (or in each test that starts children of the test
/// binary).
///
/// In a process that was not started for an entry, it returns at once. In
/// a child started by [`spawn`](super::spawn) or a [`Pool`](crate::pool::Pool), it runs
/// the initializer that child was started with (if any), then the entry,
/// answering tasks until its parent closes the task channel, and exits:
/// `0` when the parent closed it, [`EXIT_UNKNOWN_ENTRY`] when no entry
/// (or initializer) has that name, [`EXIT_INIT_FAILED`] when the
/// initializer panicked, [`EXIT_CHANNEL_FAILED`] when the channels could
/// not be used.
pub fn init(entries: &[&dyn EntryPoint]) {
    let Some(name) = env::var_os(ENTRY_VAR) else {
        return;
    };
    let entry = entries.iter().find_map(|e| match e.role() {
        Role::Entry(serve) if name == e.name() => Some(serve),
        _ => None,
    });
    let init_name = env::var_os(INIT_VAR);
    let initializer = init_name.as_ref().map(|wanted| {
        entries.iter().find_map(|e| match e.role() {
            Role::Initializer(init) if *wanted == e.name() => Some(init),
            _ => None,
        })
    });
    let code = match (entry, initializer) {
        (None, _) => {
            eprintln!("this program has no entry point named {name:?}");
            EXIT_UNKNOWN_ENTRY
        }
        (Some(_), Some(None)) => {
            eprintln!("this program has no initializer named {init_name:?}");
            EXIT_UNKNOWN_ENTRY
        }
        (Some(entry), Some(Some(init))) => run(entry, Some(init), &name),
        (Some(entry), None) => run(entry, None, &name),
    };
    let _ = io::stdout().flush();
    process::exit(code)
}

/// Serves `entry` (named `name`), after `init`; the exit code.
fn run(entry: &dyn Serve, init: Option<&dyn Initialize>, name: &std::ffi::OsStr) -> i32 {
    match entry.serve(init) {
        Ok(()) => 0,
        // The panic's message was printed, and sent to the parent.
        Err(ServeError::InitPanicked) => EXIT_INIT_FAILED,
        Err(e) => {
            eprintln!("entry {name:?}: {e}");
            EXIT_CHANNEL_FAILED
        }
    }
}
