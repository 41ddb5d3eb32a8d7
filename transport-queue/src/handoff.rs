//! Handing a queue handle to a child process.
//!
//! The parent opens an ipc-channel one-shot server and puts its name in the
//! token. The child creates its two channels and sends their far ends
//! through the server; a thread in the parent accepts them and adds the
//! child as a member (through the hub directly, or, from a member, through
//! the member's own `up` channel). Until then the handle being handed over
//! is kept alive by that thread, so the queue does not look disconnected
//! while the child starts.

use std::{
    sync::{Arc, Condvar, Mutex, PoisonError},
    thread,
    time::Duration,
};

use ipc_channel::ipc::{IpcOneShotServer, IpcSender};
use transport_core::HandoffError;

use crate::{
    handle::Handle,
    wire::{Boot, JoinRequest, Role},
};

/// How long a hand-off waits for its child to open it. Past that the
/// parent withdraws it (the child gets
/// [`OpenError::Gone`](transport_core::OpenError::Gone)), and the handle it
/// kept for the child no longer counts.
pub const HANDOFF_TIMEOUT: Duration = Duration::from_secs(60);

fn io(what: &str) -> impl FnOnce(std::io::Error) -> HandoffError + '_ {
    move |source| HandoffError::Io {
        what: what.to_owned(),
        source,
    }
}

/// Prepares `handle` (as a `role` end) for a child; returns the token
/// payload: the one-shot server's name.
pub(crate) fn prepare(handle: Handle, role: Role) -> Result<String, HandoffError> {
    handle.ensure_hub().map_err(io("the queue's hub thread"))?;
    let (server, name) = IpcOneShotServer::<Boot>::new().map_err(io("a hand-off server for a queue"))?;
    let done = Arc::new((Mutex::new(false), Condvar::new()));
    let accepted = Arc::clone(&done);
    thread::Builder::new()
        .name("transport-queue-handoff".into())
        .spawn(move || {
            if let Ok((_, Boot::Join(req))) = server.accept() {
                // The role is the kind of endpoint this process handed over.
                let _ = handle.adopt(JoinRequest { role, ..req });
            }
            *accepted.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
            accepted.1.notify_all();
            // Only now may the handle go: the child is a member by now.
            drop(handle);
        })
        .map_err(io("a hand-off thread"))?;
    let server_name = name.clone();
    thread::Builder::new()
        .name("transport-queue-handoff-timer".into())
        .spawn(move || {
            let (flag, cv) = &*done;
            let guard = flag.lock().unwrap_or_else(PoisonError::into_inner);
            let (guard, _) = cv
                .wait_timeout_while(guard, HANDOFF_TIMEOUT, |accepted| !*accepted)
                .unwrap_or_else(PoisonError::into_inner);
            if !*guard {
                drop(guard);
                // Unblock the accepting thread; the child, if it ever
                // comes, finds the server gone.
                if let Ok(tx) = IpcSender::<Boot>::connect(server_name) {
                    let _ = tx.send(Boot::Cancel);
                }
            }
        })
        .map_err(io("a hand-off timer thread"))?;
    Ok(name)
}
