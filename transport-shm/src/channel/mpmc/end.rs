//! [`End`]: what the two ends of the multi-consumer ring hold and do
//! alike: the ring, their place among the segment's participants (given up
//! when the end drops, or handed to a child), and the async wait through
//! the process's bridge thread.

use std::{
    io,
    process::Command,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
};

use transport_core::HandoffError;

use super::ring::Ring;
use crate::{
    channel::{
        chan::Monitor,
        link::{Link, Probe, Side},
    },
    segment::Attachment,
};

/// One end of the ring, either side.
pub(super) struct End {
    pub(super) ring: Arc<Ring>,
    /// Its participant slot; `None` once handed to a child.
    pub(super) att: Option<Attachment>,
    side: Side,
    link: OnceLock<Arc<Link>>,
}

impl End {
    pub(super) fn new(ring: Arc<Ring>, att: Attachment, side: Side) -> End {
        End {
            ring,
            att: Some(att),
            side,
            link: OnceLock::new(),
        }
    }

    /// The name of the ring's segment.
    pub(super) fn segment_name(&self) -> &str {
        self.ring.chan.seg.name()
    }

    /// The token a child opens this end with; `what` names the end for the
    /// error of a second hand-off.
    pub(super) fn hand_off(&mut self, cmd: &mut Command, what: &'static str) -> Result<String, HandoffError> {
        let att = self.att.take().ok_or(HandoffError::Unsupported { what })?;
        let token = att.hand_off(cmd).map_err(|e| HandoffError::Io {
            what: format!("shared memory segment `{}`", self.segment_name()),
            source: io::Error::other(e.to_string()),
        })?;
        Ok(token.to_string())
    }

    /// An async task's wait until `ready` holds (told, as `poll` of
    /// [`Chan::wait_for`](crate::channel::chan::Chan::wait_for) is, whether
    /// to check liveness against the clock): look and (with `spin`) spin as
    /// a blocking end does, then register with the bridge and look once
    /// more, so a change in between is not missed. `peers` forget what they knew of
    /// the other side's liveness when the bridge found one of them dead.
    pub(super) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        peers: &Monitor,
        spin: bool,
        ready: impl Fn(bool) -> bool,
    ) -> Poll<io::Result<()>> {
        let link = match Link::get(&self.link, &self.ring.chan, self.side) {
            Ok(link) => link,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if link.take_peer_dead() {
            peers.expire();
        }
        if ready(true) || (spin && link.spin_until(|| ready(false))) {
            link.disarm();
            return Poll::Ready(Ok(()));
        }
        if let Err(e) = link.arm(cx.waker(), Probe::Word) {
            return Poll::Ready(Err(e));
        }
        // Registered: anything from now on wakes the task. Look again for
        // what came before.
        if ready(false) {
            link.disarm();
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }
}

impl Drop for End {
    fn drop(&mut self) {
        if let Some(link) = self.link.get() {
            link.forget();
        }
        if let Some(att) = self.att.take() {
            drop(att);
            self.ring.chan.depart();
        }
    }
}
