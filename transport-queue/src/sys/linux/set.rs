//! The hub's receiver set on Linux: the members' `up` sockets, read by this
//! crate's own code, never by ipc-channel's.
//!
//! ipc-channel's reader believes a message's framing ([`crate::wire::decode`]
//! says how that fails). Here each datagram is received
//! whole into a buffer as large as a legitimate one can be, its header and
//! descriptors are checked, and a message in fragments is put together from
//! its dedicated socket without waiting: the size its header announces is
//! checked against the limit first, and the buffer grows only with what
//! arrives ([`super::frames`]). The descriptors a message brings must be
//! what it says they are: an adoption's two channels (datagram-sequence
//! sockets), a shared put's slab (sealed shared memory within the limit,
//! [`super::segment::check`]). A member whose bytes break any rule is
//! dropped; nothing a member sends blocks the hub, makes it panic, or makes
//! it hold more than one message of at most the limit for it.

use std::{
    io,
    os::fd::{AsRawFd, OwnedFd},
    sync::{Arc, Mutex},
};

use transport_core::{Wait, sync::LockExt};

use super::{
    channel::DownSender,
    fd,
    frames::{self, Inbound},
    segment::{self, Received},
};
use crate::{
    sys::api::{Event, NewMember, UpChannel},
    wire::{JoinIndices, RETURN_BYTES, Request, SegmentRef, Violation, decode},
};

struct Reader {
    key: u64,
    inbound: Inbound,
}

struct Inner {
    wake: OwnedFd,
    adds: Mutex<Vec<(u64, OwnedFd)>>,
}

/// Wakes the set's holder, and hands it new members' sockets.
#[derive(Clone)]
pub(crate) struct SetHandle(Arc<Inner>);

impl std::fmt::Debug for SetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetHandle").finish_non_exhaustive()
    }
}

impl SetHandle {
    /// Wakes whoever waits on the set.
    pub(crate) fn wake(&self) -> bool {
        fd::write(self.0.wake.as_raw_fd(), &1u64.to_ne_bytes()).is_ok()
    }

    /// Has the set read member `key`'s socket.
    pub(crate) fn add(&self, key: u64, up: UpChannel) -> io::Result<()> {
        self.0.adds.lock_unpoisoned().push((key, up));
        self.wake();
        Ok(())
    }
}

/// The set.
pub(crate) struct HubSet {
    inner: Arc<Inner>,
    readers: Vec<Reader>,
    buf: Vec<u8>,
    /// The largest message a member may send.
    max_total: usize,
    /// The largest item (and slab).
    limit: usize,
}

impl HubSet {
    /// A new set for items of at most `max_message` bytes (a message may
    /// have a little more, for the request around an item).
    pub(crate) fn new(max_message: usize) -> io::Result<(HubSet, SetHandle)> {
        let inner = Arc::new(Inner {
            wake: fd::eventfd()?,
            adds: Mutex::new(Vec::new()),
        });
        let max_total = max_message.max(RETURN_BYTES).saturating_add(4096);
        Ok((
            HubSet {
                inner: Arc::clone(&inner),
                readers: Vec::new(),
                buf: frames::buffer(),
                max_total,
                limit: max_message,
            },
            SetHandle(inner),
        ))
    }

    /// Reads member `key`'s socket from now on.
    pub(crate) fn add(&mut self, key: u64, up: UpChannel) -> io::Result<()> {
        if !fd::is_channel(up.as_raw_fd()) {
            return Err(io::Error::other("not a channel"));
        }
        self.readers.push(Reader {
            key,
            inbound: Inbound::new(up),
        });
        Ok(())
    }

    /// Stops reading member `key`'s socket (and closes it).
    pub(crate) fn forget(&mut self, key: u64) {
        self.readers.retain(|r| r.key != key);
    }

    /// Waits at most as long as `wait` allows: `None` when the wait ran
    /// out.
    pub(crate) fn select(&mut self, wait: Wait) -> Option<io::Result<Vec<Event>>> {
        let mut polls = Vec::with_capacity(self.readers.len() + 1);
        polls.push(fd::readable(self.inner.wake.as_raw_fd()));
        polls.extend(self.readers.iter().map(|r| fd::readable(r.inbound.poll_fd())));
        match fd::poll(&mut polls, wait.remaining()) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(e)),
        }
        let mut events = Vec::new();
        if polls[0].revents != 0 {
            let mut word = [0; 8];
            let _ = fd::read(self.inner.wake.as_raw_fd(), &mut word);
            let adds = std::mem::take(&mut *self.inner.adds.lock_unpoisoned());
            for (key, up) in adds {
                if self.add(key, up).is_err() {
                    events.push(Event::Closed { key });
                }
            }
            events.push(Event::Woken);
        }
        let ready: Vec<bool> = polls[1..].iter().map(|p| p.revents != 0).collect();
        let mut gone = Vec::new();
        for (i, ready) in ready.into_iter().enumerate() {
            if !ready {
                continue;
            }
            let key = self.readers[i].key;
            let limit = self.limit;
            let pumped = self.readers[i]
                .inbound
                .pump(&mut self.buf, self.max_total, |payload, fds| {
                    events.push(message(key, payload, fds, limit)?);
                    Ok(())
                });
            match pumped {
                Ok(true) => {}
                Ok(false) => {
                    gone.push(key);
                    events.push(Event::Closed { key });
                }
                Err(why) => {
                    gone.push(key);
                    events.push(Event::Broken { key, why });
                }
            }
        }
        self.readers.retain(|r| !gone.contains(&r.key));
        Some(Ok(events))
    }
}

/// A whole message of member `key`, with its descriptors checked for what
/// it says they are.
fn message(key: u64, payload: &[u8], fds: Vec<OwnedFd>, limit: usize) -> Result<Event, Violation> {
    let req = decode::request(payload, fds.len())?;
    let Request { read, took, up } = req;
    // Each descriptor is taken once (only one of the two maps below runs).
    let fds: std::cell::RefCell<Vec<Option<OwnedFd>>> =
        std::cell::RefCell::new(fds.into_iter().map(Some).collect());
    let take = |i: usize| {
        fds.borrow_mut()
            .get_mut(i)
            .and_then(Option::take)
            .ok_or_else(|| Violation::new("a message naming one descriptor twice"))
    };
    let up = up.try_map(
        |j: JoinIndices| {
            let (up, down) = (take(j.up)?, take(j.down)?);
            if !fd::is_channel(up.as_raw_fd()) || !fd::is_channel(down.as_raw_fd()) {
                return Err(Violation::new(
                    "an adoption of a descriptor that is not a channel",
                ));
            }
            Ok(NewMember {
                up,
                down: DownSender::new(down),
                role: j.role,
            })
        },
        |seg: SegmentRef| {
            let fd = take(seg.fd as usize)?;
            segment::check(&fd, seg.len, limit)?;
            let len =
                usize::try_from(seg.len).map_err(|_| Violation::new("an item past the address space"))?;
            Ok(Received {
                fd,
                tag: seg.tag,
                len,
            })
        },
    )?;
    Ok(Event::Request {
        key,
        req: Request { read, took, up },
    })
}
