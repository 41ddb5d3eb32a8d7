//! Who waits on the members' `up` channels: the hub thread, or a local get.
//!
//! A get in the creating process that has to wait would otherwise sleep on
//! a condition variable while the hub thread reads a member's put and wakes
//! it: two thread hops between the member's message and the get. Instead
//! the get takes the receiver set (when nobody waits on it) and waits on the
//! members' channels itself, applying whatever comes exactly as the hub
//! thread would; the kernel wakes the thread that needs the item.
//!
//! The set goes back when the get has its item. If nothing else in this
//! process waits, it stays free for [`GRACE`] after the get returned: a get
//! that comes back within that time (a request/response loop) takes it
//! again, and the hub thread is not involved at all. After that the hub
//! thread takes it. So a member's request waits at most about [`GRACE`]
//! longer when it comes right after such a get, and never when anything
//! else in this process waits (a get, a put on a full queue, a join, an
//! async task). A get that finds the set taken waits as before, and the
//! hub thread leaves the set to the gets it just served (for at most
//! [`PICKUP`] while they wait for a processor).
//!
//! While local gets come and go, the hub thread checks the set every
//! [`GRACE`] instead of being woken by each get that returns it; once they
//! have not returned for [`POLL_WINDOW`], it sleeps until woken.
//!
//! A local change that a leading get must see (an item put or the queue
//! drained by this process) wakes it out of its wait with a message on the
//! hub's control channel.

use std::{
    fmt,
    time::{Duration, Instant},
};

use transport_core::Wait;

use super::{Locked, Shared};
use crate::{
    sys::{self, Event, HubSet, NewMember, SetHandle},
    wire::{Request, Up},
};

/// How long the set stays free for the next local get after a get
/// returned, when nothing else in this process waits.
pub(crate) const GRACE: Duration = Duration::from_micros(100);

/// How long the hub thread leaves the set to gets it gave items to, at
/// most, while none of them has returned yet.
pub(crate) const PICKUP: Duration = Duration::from_millis(2);

/// How long after a local get last returned the hub thread keeps checking
/// the set every [`GRACE`] (rather than sleeping until woken).
pub(crate) const POLL_WINDOW: Duration = Duration::from_millis(10);

/// Who holds the receiver set, and what to do when a local get does.
#[derive(Default)]
pub(crate) struct Lead {
    /// Wakes the set's holder and adds channels, while the hub thread runs.
    ctl: Option<SetHandle>,
    /// The set, while nobody waits on it (never on platforms where it
    /// may not move between threads).
    set: Option<sys::Lent>,
    /// A local get waits on the set.
    local: bool,
    /// A wake-up is on its way to whoever waits on the set.
    poked: bool,
    /// A wake-up to send once the state is unlocked.
    poke: Option<SetHandle>,
    /// When a local get last returned.
    returned: Option<Instant>,
    /// The hub thread gave items to local gets at this instant and left
    /// them the set.
    handed: Option<Instant>,
    /// The hub thread sleeps until woken.
    hub_parked: bool,
    /// Waiting on the set failed: nothing can be read any more.
    failed: bool,
}

/// What the hub thread does next, when it does not hold the set.
enum Next {
    Take,
    WaitUntil(Instant),
    Park,
}

impl fmt::Debug for Lead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lead")
            .field("running", &self.ctl.is_some())
            .field("free", &self.set.is_some())
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Lead {
    pub(crate) fn running(&self) -> bool {
        self.ctl.is_some()
    }

    pub(crate) fn started(&mut self, ctl: SetHandle) {
        self.ctl = Some(ctl);
    }

    pub(crate) fn ctl(&self) -> Option<SetHandle> {
        self.ctl.clone()
    }

    /// Whether a get may take the set now.
    pub(crate) fn free(&self) -> bool {
        self.set.is_some()
    }

    /// An item came, or the queue drained, through this process: a local
    /// get waiting on the set must look.
    pub(crate) fn item_or_end(&mut self) {
        if self.local && !self.poked {
            self.poked = true;
            self.poke = self.ctl.clone();
        }
    }

    /// The wake-up to send once the state is unlocked.
    pub(crate) fn take_poke(&mut self) -> Option<SetHandle> {
        self.poke.take()
    }

    /// Something in this process starts waiting for members: the set is
    /// not kept for local gets any more. True when the hub thread must be
    /// woken to take it.
    pub(crate) fn end_grace(&mut self) -> bool {
        self.returned = None;
        self.handed = None;
        self.set.is_some()
    }

    /// A local get returns with an item, and nothing else here waits.
    pub(crate) fn get_returned(&mut self) {
        self.returned = Some(Instant::now());
    }

    fn next(&self) -> Next {
        let now = Instant::now();
        let recent = |t: Option<Instant>, d: Duration| t.filter(|&t| now < t + d);
        if self.set.is_none() {
            // A local get waits on the set.
            return match recent(self.returned, POLL_WINDOW) {
                Some(_) => Next::WaitUntil(now + GRACE),
                None => Next::Park,
            };
        }
        let handed = recent(self.handed, PICKUP);
        if let Some(h) = handed.filter(|&h| self.returned.is_none_or(|r| r < h)) {
            // No get picked up its item yet.
            return Next::WaitUntil((now + GRACE).min(h + PICKUP));
        }
        match recent(self.returned, GRACE) {
            Some(r) => Next::WaitUntil(r + GRACE),
            None => Next::Take,
        }
    }
}

/// Waits on `hs` at most as long as `wait` allows: `None` when the wait
/// ran out, `Some(Err)` when the set failed.
fn select(hs: &mut HubSet, wait: Wait) -> Option<std::io::Result<Vec<Event>>> {
    hs.select(wait)
}

impl Shared {
    /// The hub thread: waits on the set whenever no local get does, and
    /// stops when no handle is left anywhere.
    pub(super) fn serve(&self, first: HubSet) {
        let mut held = Some(first);
        let mut st = self.lock();
        loop {
            let mut hs = loop {
                if st.abandoned() || st.lead.failed {
                    st.lead.ctl = None;
                    st.lead.set = None;
                    return;
                }
                if let Some(hs) = held.take() {
                    break hs;
                }
                match st.lead.next() {
                    Next::Take => {
                        st.lead.returned = None;
                        st.lead.handed = None;
                        if let Some(hs) = st.lead.set.take() {
                            break sys::back(hs);
                        }
                    }
                    Next::WaitUntil(until) => {
                        st = st
                            .wait(&self.signals.hub, Wait::Until(until))
                            .unwrap_or_else(|| self.lock());
                    }
                    Next::Park => {
                        st.lead.hub_parked = true;
                        st = st
                            .wait(&self.signals.hub, Wait::Forever)
                            .unwrap_or_else(|| self.lock());
                        st.lead.hub_parked = false;
                    }
                }
            };
            drop(st);
            let results = select(&mut hs, Wait::Forever);
            st = self.lock();
            match results {
                Some(Ok(results)) => self.apply(&mut st, &mut hs, results),
                // The set itself failed: nothing can be served any more.
                // Dropping it closes every member's channels, so they all
                // see the queue as gone.
                _ => {
                    st.lead.failed = true;
                    continue;
                }
            }
            if st.local_getters > 0 && !st.items.is_empty() {
                // Local gets were just given items: their next wait may
                // take the set.
                match sys::lend(hs) {
                    Ok(lent) => {
                        st.lead.set = Some(lent);
                        st.lead.handed = Some(Instant::now());
                    }
                    Err(hs) => held = Some(hs),
                }
            } else {
                held = Some(hs);
            }
            // Unlock before waiting again: replies leave from this thread
            // (a wait would leave them to the writer threads).
            drop(st);
            st = self.lock();
        }
    }

    /// A local get about to wait: if the set is free, waits on it (as
    /// `wait` allows) until an item or the end is there, applying what
    /// members send. Returns at once, doing nothing, if the set is taken.
    pub(crate) fn lead<'a>(&'a self, mut st: Locked<'a>, wait: Wait) -> Locked<'a> {
        let Some(mut lent) = st.lead.set.take() else {
            return st;
        };
        st.lead.handed = None;
        st.local_getters += 1;
        loop {
            st.lead.local = true;
            drop(st);
            let results = select(sys::set_of(&mut lent), wait);
            st = self.lock();
            st.lead.local = false;
            match results {
                Some(Ok(results)) => self.apply(&mut st, sys::set_of(&mut lent), results),
                None => {}
                Some(Err(_)) => {
                    // Dropping the set closes every member's channels.
                    st.lead.failed = true;
                    st.local_getters -= 1;
                    drop(sys::back(lent));
                    self.signals.hub.notify_all();
                    return st;
                }
            }
            if !st.items.is_empty() || st.drained() || wait.expired() {
                break;
            }
        }
        st.local_getters -= 1;
        // Keep the set for this process's next get, unless something else
        // here waits for members: then the hub thread takes it now.
        st.lead.set = Some(lent);
        if st.others_wait() {
            st.lead.end_grace();
            self.signals.hub.notify_all();
        } else {
            st.lead.get_returned();
            if st.lead.hub_parked {
                self.signals.hub.notify_all();
            }
        }
        st
    }

    /// Applies what the set gave.
    fn apply(&self, st: &mut Locked<'_>, hs: &mut HubSet, events: Vec<Event>) {
        for event in events {
            match event {
                Event::Woken => st.lead.poked = false,
                Event::Request {
                    req: Request {
                        up: Up::Adopt(new), ..
                    },
                    ..
                } => self.adopt_here(st, hs, new),
                Event::Request {
                    key,
                    req: Request { read, took, up },
                } => st.request(key, read, took, up, &self.signals),
                Event::Broken { key, why } => st.drop_member(key, why, &self.signals),
                Event::Closed { key } => st.remove_member(key, &self.signals),
            }
        }
        // Members dropped for breaking the protocol are no longer read.
        for key in std::mem::take(&mut st.dropped) {
            hs.forget(key);
        }
    }

    /// Adds a member while holding the set (a grandchild, adopted through
    /// its parent member).
    fn adopt_here(&self, st: &mut Locked<'_>, hs: &mut HubSet, new: NewMember) {
        let NewMember { up, down, role } = new;
        let Ok(outbox) = super::Outbox::start(down) else {
            return;
        };
        match st.add_member(role, std::sync::Arc::clone(&outbox)) {
            Ok(key) => {
                if hs.add(key, up).is_err() {
                    st.remove_member(key, &self.signals);
                }
            }
            Err(reason) => outbox.refuse(reason),
        }
    }
}
