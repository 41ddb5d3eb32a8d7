//! A member's side of its `down` socket (Linux): [`DownReceiver`] reads the
//! hub's messages with ipc-channel's framing and copies each shared item
//! out of its slab as it comes; [`DownSet`] waits on the `down` sockets of
//! every member of the process at once, for its bridge thread.

use std::{
    collections::VecDeque,
    io,
    os::fd::{AsRawFd, OwnedFd},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use transport_core::sync::LockExt;

use super::{
    fd,
    frames::{self, Inbound},
    segment::SlabReader,
};
use crate::wire::{Down, Violation, decode};

/// A message of the hub's as a member files it: shared items already
/// copied out, and the tickets to give back for them.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub(crate) msg: Down,
    pub(crate) tickets: Vec<u64>,
}

/// A member's end of its `down` socket (boxed: it moves between threads
/// whole, with its buffer).
#[derive(Debug)]
pub(crate) struct DownReceiver(Box<Receiving>);

/// What a [`DownReceiver`] keeps.
#[derive(Debug)]
struct Receiving {
    inbound: Inbound,
    buf: Vec<u8>,
    /// Messages read and not yet taken.
    pending: VecDeque<Delivered>,
    reader: SlabReader,
    /// The hub closed the socket (or sent what cannot be read).
    gone: bool,
}

impl DownReceiver {
    pub(crate) fn new(socket: OwnedFd) -> Self {
        DownReceiver(Box::new(Receiving {
            inbound: Inbound::new(socket),
            buf: frames::buffer(),
            pending: VecDeque::new(),
            reader: SlabReader::default(),
            gone: false,
        }))
    }

    /// Receives one message, waiting at most `left` (`None`: no limit):
    /// `Ok(None)` when none came in time, `Err` once the hub is gone.
    pub(crate) fn recv(&mut self, left: Option<Duration>) -> Result<Option<Delivered>, ()> {
        self.0.recv(left)
    }

    /// Reads what came without waiting, at most `datagrams` datagrams.
    fn pump(&mut self, datagrams: usize) {
        self.0.pump(datagrams);
    }

    fn poll_fd(&self) -> std::os::fd::RawFd {
        self.0.inbound.poll_fd()
    }
}

impl Receiving {
    /// Receives one message, waiting at most `left` (`None`: no limit):
    /// `Ok(None)` when none came in time, `Err` once the hub is gone.
    pub(crate) fn recv(&mut self, left: Option<Duration>) -> Result<Option<Delivered>, ()> {
        let deadline = left.map(|l| Instant::now() + l);
        loop {
            if let Some(d) = self.pending.pop_front() {
                return Ok(Some(d));
            }
            if self.gone {
                return Err(());
            }
            if deadline.is_none() {
                // Nothing else to do: one blocking receive.
                self.pump_waiting();
                continue;
            }
            // Wait until something came (at once if it did), then read one
            // datagram: a message costs two system calls, as ipc-channel's.
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let mut polls = [fd::readable(self.inbound.poll_fd())];
            match fd::poll(&mut polls, remaining) {
                Ok(0) => return Ok(None),
                Ok(_) => self.pump(1),
                Err(_) => self.gone = true,
            }
        }
    }

    /// Reads one datagram, waiting for it.
    fn pump_waiting(&mut self) {
        let (pending, reader) = (&mut self.pending, &mut self.reader);
        let pumped = self
            .inbound
            .pump_waiting(&mut self.buf, usize::MAX >> 1, |payload, fds| {
                pending.push_back(deliver(reader, payload, fds)?);
                Ok(())
            });
        match pumped {
            Ok(true) => {}
            Ok(false) | Err(_) => self.gone = true,
        }
    }

    /// Reads what came without waiting, at most `datagrams` datagrams.
    fn pump(&mut self, datagrams: usize) {
        let (pending, reader) = (&mut self.pending, &mut self.reader);
        let pumped = self
            .inbound
            .pump_up_to(datagrams, &mut self.buf, usize::MAX >> 1, |payload, fds| {
                pending.push_back(deliver(reader, payload, fds)?);
                Ok(())
            });
        match pumped {
            Ok(true) => {}
            Ok(false) | Err(_) => self.gone = true,
        }
    }
}

/// Decodes one message of the hub's, copying its shared items out.
fn deliver(reader: &mut SlabReader, payload: &[u8], fds: Vec<OwnedFd>) -> Result<Delivered, Violation> {
    let msg = decode::down(payload, fds.len())?;
    let mut tickets = Vec::new();
    let msg = msg.fetch(|seg| {
        let fd = fds
            .get(seg.fd as usize)
            .ok_or_else(|| Violation::new("a segment past the descriptors"))?;
        let frame = reader
            .copy_out(fd, seg.len, usize::MAX)
            .map_err(|e| Violation::new(format!("a shared item that cannot be read: {e}")))?;
        tickets.push(seg.tag);
        Ok::<_, Violation>(frame)
    })?;
    Ok(Delivered { msg, tickets })
}

/// What [`DownSet::select`] gives.
#[derive(Debug)]
pub(crate) enum SetEvent {
    /// The receiver added under `token` is read as `id` from now on.
    Added { token: u64, id: u64 },
    /// It could not be: the hub is out of its reach. (Never here: a
    /// receiver is added by the set's own thread, which cannot fail to.)
    #[allow(dead_code)]
    AddFailed { token: u64 },
    /// A message on `id`.
    Message { id: u64, delivered: Delivered },
    /// `id`'s hub is gone.
    Closed { id: u64 },
}

struct SetInner {
    wake: OwnedFd,
    adds: Mutex<Vec<(u64, DownReceiver)>>,
}

/// Hands receivers to the set's thread.
#[derive(Clone)]
pub(crate) struct DownSetCtl(Arc<SetInner>);

impl std::fmt::Debug for DownSetCtl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownSetCtl").finish_non_exhaustive()
    }
}

impl DownSetCtl {
    /// Has the set read `down` from now on, as `token`. On failure the
    /// receiver comes back when it was not handed over.
    pub(crate) fn add(
        &self,
        token: u64,
        down: DownReceiver,
    ) -> Result<(), (io::Error, Option<DownReceiver>)> {
        self.0.adds.lock_unpoisoned().push((token, down));
        fd::write(self.0.wake.as_raw_fd(), &1u64.to_ne_bytes()).map_err(|e| (e, None))
    }
}

/// The `down` sockets of the process's members, waited on at once.
pub(crate) struct DownSet {
    inner: Arc<SetInner>,
    members: Vec<(u64, DownReceiver)>,
    next_id: u64,
}

impl DownSet {
    /// A new set, made on the thread that reads it.
    pub(crate) fn new() -> io::Result<(DownSet, DownSetCtl)> {
        let inner = Arc::new(SetInner {
            wake: fd::eventfd()?,
            adds: Mutex::new(Vec::new()),
        });
        Ok((
            DownSet {
                inner: Arc::clone(&inner),
                members: Vec::new(),
                next_id: 0,
            },
            DownSetCtl(inner),
        ))
    }

    /// Waits until something happens.
    pub(crate) fn select(&mut self) -> io::Result<Vec<SetEvent>> {
        let mut polls = Vec::with_capacity(self.members.len() + 1);
        polls.push(fd::readable(self.inner.wake.as_raw_fd()));
        polls.extend(self.members.iter().map(|(_, r)| fd::readable(r.poll_fd())));
        fd::poll(&mut polls, None)?;
        let mut events = Vec::new();
        let mut ready: Vec<u64> = self
            .members
            .iter()
            .zip(&polls[1..])
            .filter(|(_, p)| p.revents != 0)
            .map(|((id, _), _)| *id)
            .collect();
        if polls[0].revents != 0 {
            let mut word = [0; 8];
            let _ = fd::read(self.inner.wake.as_raw_fd(), &mut word);
            let adds = std::mem::take(&mut *self.inner.adds.lock_unpoisoned());
            for (token, down) in adds {
                let id = self.next_id;
                self.next_id += 1;
                self.members.push((id, down));
                events.push(SetEvent::Added { token, id });
                // It may hold messages read before it came here.
                ready.push(id);
            }
        }
        for id in ready {
            self.drain(id, &mut events);
        }
        Ok(events)
    }

    /// Takes every message member `id` has now.
    fn drain(&mut self, id: u64, events: &mut Vec<SetEvent>) {
        let Some(at) = self.members.iter().position(|(i, _)| *i == id) else {
            return;
        };
        self.members[at].1.pump(32);
        loop {
            match self.members[at].1.recv(Some(Duration::ZERO)) {
                Ok(Some(delivered)) => events.push(SetEvent::Message { id, delivered }),
                Ok(None) => return,
                Err(()) => {
                    self.members.swap_remove(at);
                    events.push(SetEvent::Closed { id });
                    return;
                }
            }
        }
    }
}
