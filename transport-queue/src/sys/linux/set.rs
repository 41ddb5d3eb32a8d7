//! The hub's receiver set on Linux: the members' `up` sockets, read by this
//! crate's own code, never by ipc-channel's.
//!
//! ipc-channel's reader believes a message's framing ([`crate::wire::decode`]
//! says how that fails). Here each datagram is received
//! whole into a buffer as large as a legitimate one can be, its header and
//! descriptors are checked, and a message in fragments is put together from
//! its dedicated socket without waiting: the size its header announces is
//! checked against the limit first, and the buffer grows only with what
//! arrives. A member whose bytes break any rule is dropped; nothing a
//! member sends blocks the hub, makes it panic, or makes it hold more than
//! one message of at most the limit for it.

use std::{
    io,
    os::fd::{AsRawFd, OwnedFd},
    sync::{Arc, Mutex},
};

use transport_core::{Wait, sync::LockExt};

use super::{convert, fd};
use crate::{
    sys::api::{Event, NewMember, UpChannel},
    wire::{JoinIndices, RETURN_BYTES, Request, Violation, decode},
};

/// Datagrams read from one member in one round, at most (the others get
/// their turn).
const ROUND: usize = 32;

/// A message whose first datagram came, and whose rest is on its way.
struct Partial {
    dedicated: OwnedFd,
    payload: Vec<u8>,
    total: usize,
    channels: Vec<OwnedFd>,
}

struct Reader {
    key: u64,
    fd: OwnedFd,
    partial: Option<Partial>,
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
        self.0
            .adds
            .lock_unpoisoned()
            .push((key, up));
        self.wake();
        Ok(())
    }
}

/// The set.
pub(crate) struct HubSet {
    inner: Arc<Inner>,
    readers: Vec<Reader>,
    buf: Vec<u8>,
    max_total: usize,
}

impl HubSet {
    /// A new set for messages of at most `max_message` bytes of payload
    /// (plus a little for the request around it).
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
                buf: vec![0; fd::sendbuf()],
                max_total,
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
            fd: up,
            partial: None,
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
        for r in &self.readers {
            let fd = r.partial.as_ref().map_or(&r.fd, |p| &p.dedicated);
            polls.push(fd::readable(fd.as_raw_fd()));
        }
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
            match pump(&mut self.readers[i], &mut self.buf, self.max_total, &mut events) {
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

/// Reads what member `r` sent, up to [`ROUND`] datagrams, filing whole
/// messages in `events`. False once the member closed its socket.
fn pump(
    r: &mut Reader,
    buf: &mut [u8],
    max_total: usize,
    events: &mut Vec<Event>,
) -> Result<bool, Violation> {
    for _ in 0..ROUND {
        if let Some(p) = &mut r.partial {
            let left = p.total - p.payload.len();
            let at = p.payload.len();
            p.payload.resize(at + left.min(buf.len()), 0);
            let got = fd::recv(p.dedicated.as_raw_fd(), &mut p.payload[at..]);
            let got = match got {
                Ok(Some(got)) => got,
                Ok(None) => {
                    p.payload.truncate(at);
                    return Ok(true);
                }
                Err(e) => return Err(Violation::new(format!("its fragment socket failed: {e}"))),
            };
            if got.len == 0 || got.truncated || !got.fds.is_empty() {
                return Err(Violation::new("a fragment that breaks ipc-channel's framing"));
            }
            p.payload.truncate(at + got.len);
            if p.payload.len() == p.total {
                let Some(p) = r.partial.take() else {
                    unreachable!("matched above")
                };
                events.push(message(r.key, &p.payload, p.channels)?);
            }
            continue;
        }
        let got = match fd::recv(r.fd.as_raw_fd(), buf) {
            Ok(Some(got)) => got,
            Ok(None) => return Ok(true),
            Err(e) => return Err(Violation::new(format!("its socket failed: {e}"))),
        };
        if got.len == 0 && got.fds.is_empty() {
            return Ok(false);
        }
        if got.truncated {
            return Err(Violation::new(
                "a datagram, or descriptors, past what ipc-channel sends",
            ));
        }
        if let Some(bad) = got.fds.iter().find(|f| !fd::is_channel(f.as_raw_fd())) {
            let _ = bad;
            return Err(Violation::new("a descriptor that is not a channel"));
        }
        let datagram = &buf[..got.len];
        let first = decode::first(datagram, got.fds.len(), max_total)?;
        let part = &datagram[decode::HEADER..];
        let mut fds = got.fds;
        if first.fragmented {
            let Some(dedicated) = fds.pop() else {
                unreachable!("checked by `first`")
            };
            let mut payload = Vec::with_capacity(part.len().max(first.total.min(buf.len())));
            payload.extend_from_slice(part);
            r.partial = Some(Partial {
                dedicated,
                payload,
                total: first.total,
                channels: fds,
            });
        } else {
            events.push(message(r.key, part, fds)?);
        }
    }
    Ok(true)
}

/// A whole message of member `key`, with its channels.
fn message(key: u64, payload: &[u8], channels: Vec<OwnedFd>) -> Result<Event, Violation> {
    let req = decode::request(payload, channels.len())?;
    let Request { read, took, up } = req;
    let mut channels: Vec<Option<OwnedFd>> = channels.into_iter().map(Some).collect();
    let up = up.try_map_join(|j: JoinIndices| {
        let (Some(up), Some(down)) = (channels[j.up].take(), channels[j.down].take()) else {
            return Err(Violation::new("a join naming one channel twice"));
        };
        let down = convert::down(down).map_err(|e| Violation::new(format!("its down channel: {e}")))?;
        Ok(NewMember {
            up,
            down,
            role: j.role,
        })
    })?;
    Ok(Event::Request {
        key,
        req: Request { read, took, up },
    })
}
