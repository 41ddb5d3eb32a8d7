//! Handing a queue handle to a child process (code that runs in the
//! process that hands it over: the creator, or a member handing it on).
//!
//! The parent opens a hand-off server ([`crate::sys`]: this crate's own on
//! Linux, ipc-channel's one-shot server elsewhere) and puts its name in the
//! token. The child creates its two channels and sends their far ends
//! through the server; the server adds the child as a member (through the
//! hub directly, or, from a member, through the member's own `up`
//! channel, so grandchildren work too). Until then the handle being handed
//! over is kept alive by the server, so the queue does not look
//! disconnected while the child starts.

use std::{process::Command, time::Duration};

use transport_core::HandoffError;

use crate::{
    handle::Handle,
    sys::{self, Joined, NewMember},
    wire::Role,
};

/// How long a hand-off waits for its child to open it. Past that the
/// parent withdraws it (the child gets
/// [`OpenError::Gone`](transport_core::OpenError::Gone)), and the handle it
/// kept for the child no longer counts. On Linux a child that dies before
/// it opens is noticed at once.
pub const HANDOFF_TIMEOUT: Duration = Duration::from_secs(60);

/// Prepares `handle` (as a `role` end) for the child `cmd` spawns; returns
/// the token payload.
pub(crate) fn prepare(handle: Handle, role: Role, cmd: &mut Command) -> Result<String, HandoffError> {
    handle
        .ensure_hub()
        .map_err(sys::io_error("the queue's hub thread"))?;
    sys::serve(
        cmd,
        HANDOFF_TIMEOUT,
        Box::new(move |Joined { up, down }| {
            // The role is the kind of endpoint this process handed over;
            // the handle goes once the child is a member.
            handle.adopt(NewMember { up, down, role })
        }),
    )
}
