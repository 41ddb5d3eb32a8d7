//! Hand-off where ipc-channel holds the rendezvous (every platform but
//! Linux): an ipc-channel one-shot server.
//!
//! The server takes the first connection, whoever makes it, and reads it
//! with ipc-channel (a panic there is caught and ends the hand-off); its
//! name is a socket file in a fresh temporary directory (the BSDs), a
//! bootstrap name (macOS) or a named pipe (Windows), made with
//! ipc-channel's own permissions. A child that dies before opening is
//! noticed after the hand-off's timeout.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    process::Command,
    sync::{Arc, Condvar, Mutex},
    thread,
    time::Duration,
};

use ipc_channel::ipc::{IpcOneShotServer, IpcSender};
use transport_core::{
    HandoffError, OpenError, Wait,
    sync::{LockExt, wait_as},
};

use crate::{
    sys::api::{Deliver, DownSender, Joined, io_error},
    wire::Boot,
};

/// Opens a one-shot server for the child `cmd` will spawn; `deliver` gets
/// the child's channels. Returns the token payload: the server's name.
pub(crate) fn serve(cmd: &mut Command, timeout: Duration, deliver: Deliver) -> Result<String, HandoffError> {
    let _ = cmd;
    let (server, name) =
        IpcOneShotServer::<Boot>::new().map_err(io_error("a hand-off server for a queue"))?;
    let done = Arc::new((Mutex::new(false), Condvar::new()));
    let accepted = Arc::clone(&done);
    thread::Builder::new()
        .name("transport-queue-handoff".into())
        .spawn(move || {
            let got = catch_unwind(AssertUnwindSafe(|| server.accept()));
            if let Ok(Ok((_, Boot::Join(req)))) = got {
                let _ = deliver(Joined {
                    up: req.up,
                    down: DownSender(req.down),
                });
            }
            *accepted.0.lock_unpoisoned() = true;
            accepted.1.notify_all();
        })
        .map_err(io_error("a hand-off thread"))?;
    let server_name = name.clone();
    thread::Builder::new()
        .name("transport-queue-handoff-timer".into())
        .spawn(move || {
            let (flag, cv) = &*done;
            let mut guard = flag.lock_unpoisoned();
            let wait = Wait::timeout(timeout);
            while !*guard && !wait.expired() {
                guard = wait_as(cv, guard, wait).0;
            }
            if !*guard {
                drop(guard);
                // Unblock the accepting thread; the child, if it ever
                // comes, finds the server gone.
                if let Ok(tx) = IpcSender::<Boot>::connect(server_name) {
                    let _ = tx.send(Boot::Cancel);
                }
            }
        })
        .map_err(io_error("a hand-off timer thread"))?;
    Ok(name)
}

/// What a child needs from a token payload: the server's name, and what
/// it does once it opened (nothing here).
pub(crate) fn rendezvous(payload: &str) -> Result<(String, Release), OpenError> {
    Ok((payload.to_owned(), Release))
}

/// What a child lets go of once it opened a hand-off: nothing here.
#[derive(Debug)]
pub(crate) struct Release;

impl Release {
    pub(crate) fn release(self) {}
}

/// Why connecting to the server `name` failed, as an open error.
pub(crate) fn connect_error(name: &str, e: std::io::Error) -> OpenError {
    OpenError::Gone {
        what: format!(
            "hand-off `{name}` (it was used by another process, withdrawn, or its parent exited: {e})"
        ),
    }
}
