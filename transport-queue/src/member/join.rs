//! Joining a queue from a child process: opening the hand-off its token
//! names, and waiting for the hub's welcome (code of a process other than
//! the creator).

use std::time::{Duration, Instant};

use transport_core::OpenError;

use super::{
    inbox::{Inbox, Waited},
    link::Link,
    state::Greeting,
};
use crate::{
    sys,
    wire::{Role, Welcome},
};

/// How long a child waits for the queue to welcome it when it opens a
/// hand-off.
pub(crate) const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

impl Link {
    /// Joins the queue through the hand-off server the token `payload`
    /// names.
    pub(crate) fn open(payload: &str, role: Role) -> Result<Link, OpenError> {
        let (name, release) = sys::rendezvous(payload)?;
        let opened = join_queue(&name, role);
        // The parent needs this process's end of the pipe that tells it
        // this process is alive only until it answered.
        release.release();
        opened
    }
}

fn join_queue(name: &str, role: Role) -> Result<Link, OpenError> {
    let (up, down, hub_ends) =
        sys::member_channels().map_err(|e| OpenError::io("the channels to and from the queue", e))?;
    // Whoever reads the channel files the hub's first message (its welcome)
    // for the wait below.
    let inbox =
        Inbox::new(down, up).map_err(|e| OpenError::io("the thread that reads a queue's channels", e))?;
    // The join moves the hub's ends: from here on only the hub holds them.
    sys::send_join(name, hub_ends, role)?;
    let welcome = wait_for_welcome(&inbox, name)?;
    inbox.make_pool(usize::try_from(welcome.max_message_size).unwrap_or(usize::MAX));
    Ok(Link::new(inbox, welcome))
}

/// The hub's first message: its welcome, or why it turned this process
/// away.
fn wait_for_welcome(inbox: &Inbox, name: &str) -> Result<Welcome, OpenError> {
    let deadline = Some(Instant::now() + OPEN_TIMEOUT);
    let (st, greeting) = inbox.wait_for(inbox.lock(), deadline, |m| m.greeting.clone());
    drop(st);
    match greeting {
        Ok(Ok(welcome)) => Ok(welcome),
        Ok(Err(Greeting::Refused {
            already_used: true,
            reason,
        })) => Err(OpenError::already_used(format!("hand-off `{name}` ({reason})"))),
        Ok(Err(Greeting::Refused { reason, .. })) => Err(OpenError::refused(
            format!("the queue behind hand-off `{name}`"),
            reason,
        )),
        Ok(Err(Greeting::Unexpected(other))) => Err(OpenError::malformed(format!(
            "the queue answered a join with {other} instead of a welcome"
        ))),
        Err(Waited::Timeout) => Err(OpenError::Gone {
            what: format!("the queue behind hand-off `{name}` (no answer within {OPEN_TIMEOUT:?})"),
        }),
        Err(Waited::Gone) => Err(OpenError::Gone {
            what: format!(
                "the queue behind hand-off `{name}` (it closed the channel without a word: it was \
                 withdrawn, or the parent exited)"
            ),
        }),
    }
}
