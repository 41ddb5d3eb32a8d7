//! Who reads the members' `up` channels (the hub's receiver set): the hub
//! thread, or a get in the creating process. A state machine with named
//! states ([`Holder`]); the threads that act on it are in
//! [`super::serve`].
//!
//! A get in the creating process that has to wait would otherwise sleep on
//! a condition variable while the hub thread reads a member's put and wakes
//! it: two thread hops between the member's message and the get. Instead
//! the get takes the receiver set (when nobody waits on it) and waits on the
//! members' channels itself, applying whatever comes exactly as the hub
//! thread would; the kernel wakes the thread that needs the item.
//!
//! The set goes back when the get has its item. If nothing else in this
//! process waits, it stays free for a while after the get returned: a get
//! that comes back within that time (a request/response loop, a consumer
//! taking item after item) takes it again, and the hub thread is not
//! involved at all. After that the hub thread takes it. A get that finds
//! the set taken waits as before, and the hub thread leaves the set to the
//! gets it just served (for at most [`PICKUP`] while they wait for a
//! processor).
//!
//! While local gets come and go, the hub thread looks at the set now and
//! then instead of being woken by each get that returns it: first
//! [`GRACE`] after a get returned, and, each time a look finds that a get
//! returned the set again since the last one, after twice as long, up to
//! [`MAX_LOOK`] (each look is a thread switch, and a steady consumer
//! would otherwise cost one every [`GRACE`]); once gets have not returned
//! for [`POLL_WINDOW`], it sleeps until woken. So a member's request waits
//! at most about [`GRACE`] longer when it comes right after a lone get,
//! [`MAX_LOOK`] right after the last of a long run of them, and never when
//! anything else in this process waits (a get, a put on a full queue, a
//! join, an async task).
//!
//! A local change that a waiting get must see (an item put or the queue
//! drained by this process) wakes it out of its wait with a message on the
//! set's control channel.

use std::{
    fmt,
    time::{Duration, Instant},
};

use crate::sys::{HubSet, MovableSet, SetHandle};

/// How long the set stays free for the next local get after a get
/// returned, when nothing else in this process waits.
pub(crate) const GRACE: Duration = Duration::from_micros(100);

/// The longest the hub thread goes between its looks at the set while
/// local gets keep coming back: its look interval starts at [`GRACE`] and
/// doubles, up to this, each time it finds that a local get returned the
/// set since its last look.
pub(crate) const MAX_LOOK: Duration = Duration::from_micros(800);

/// How long the hub thread leaves the set to gets it gave items to, at
/// most, while none of them has returned yet.
pub(crate) const PICKUP: Duration = Duration::from_millis(2);

/// How long after a local get last returned the hub thread keeps checking
/// the set every [`GRACE`] (rather than sleeping until woken).
pub(crate) const POLL_WINDOW: Duration = Duration::from_millis(10);

/// Who holds the receiver set.
pub(crate) enum Holder {
    /// The hub thread: it waits on the set, or applies what it read (or no
    /// hub thread runs: no member joined yet, or every handle is gone).
    Hub,
    /// Nobody: the set is kept for this process's next get. `handed`: the
    /// hub thread gave items to local gets at this instant and left them
    /// the set.
    Free {
        set: MovableSet,
        handed: Option<Instant>,
    },
    /// A get in this process waits on the set; `poked`: a wake-up is on its
    /// way to it.
    GetWaits { poked: bool },
    /// A get in this process applies what it read.
    GetApplies,
    /// Waiting on the set failed: nothing can be read any more.
    Failed,
}

/// What the hub thread does next, when it does not hold the set.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Take the set and wait on it.
    Take,
    /// Look again at this instant.
    WaitUntil(Instant),
    /// Sleep until woken.
    Park,
}

/// The receiver set's holder, and what decides when the hub thread takes
/// it back.
pub(crate) struct Reading {
    holder: Holder,
    /// Wakes the set's holder and adds channels, while the hub thread runs.
    ctl: Option<SetHandle>,
    /// When a local get last gave the set back with nothing else here
    /// waiting.
    returned: Option<Instant>,
    /// The hub thread sleeps until woken.
    hub_parked: bool,
    /// A wake-up for a waiting get, to send once the state is unlocked.
    poke: Option<SetHandle>,
    /// How long the hub thread waits before its next look while local gets
    /// come and go (from [`GRACE`] up to [`MAX_LOOK`]).
    look: Duration,
    /// `returned` as the hub thread's last look found it.
    seen: Option<Instant>,
}

impl Default for Reading {
    fn default() -> Self {
        Reading {
            holder: Holder::Hub,
            ctl: None,
            returned: None,
            hub_parked: false,
            poke: None,
            look: GRACE,
            seen: None,
        }
    }
}

impl fmt::Debug for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let holder = match &self.holder {
            Holder::Hub => "hub",
            Holder::Free { .. } => "free",
            Holder::GetWaits { .. } => "get waits",
            Holder::GetApplies => "get applies",
            Holder::Failed => "failed",
        };
        f.debug_struct("Reading")
            .field("running", &self.ctl.is_some())
            .field("holder", &holder)
            .finish_non_exhaustive()
    }
}

impl Reading {
    /// Whether the hub thread runs.
    pub(crate) fn running(&self) -> bool {
        self.ctl.is_some()
    }

    /// The hub thread started, holding the set.
    pub(crate) fn started(&mut self, ctl: SetHandle) {
        self.ctl = Some(ctl);
        self.holder = Holder::Hub;
    }

    /// The hub thread stopped; a free set is dropped (which closes the
    /// members' channels).
    pub(crate) fn stopped(&mut self) {
        self.ctl = None;
        if !matches!(self.holder, Holder::Failed) {
            self.holder = Holder::Hub;
        }
    }

    pub(crate) fn ctl(&self) -> Option<SetHandle> {
        self.ctl.clone()
    }

    /// Whether waiting on the set failed.
    pub(crate) fn failed(&self) -> bool {
        matches!(self.holder, Holder::Failed)
    }

    /// Waiting on the set failed.
    pub(crate) fn fail(&mut self) {
        self.holder = Holder::Failed;
    }

    /// Whether a get may take the set now.
    pub(crate) fn free(&self) -> bool {
        matches!(self.holder, Holder::Free { .. })
    }

    /// An item came, or the queue drained, through this process: a get
    /// waiting on the set must look.
    pub(crate) fn item_or_end(&mut self) {
        if let Holder::GetWaits { poked } = &mut self.holder {
            if !*poked {
                *poked = true;
                self.poke = self.ctl.clone();
            }
        }
    }

    /// The wake-up to send once the state is unlocked.
    pub(crate) fn take_poke(&mut self) -> Option<SetHandle> {
        self.poke.take()
    }

    /// Whether a wake-up waits to be sent.
    pub(crate) fn has_poke(&self) -> bool {
        self.poke.is_some()
    }

    /// Something in this process starts waiting for members: the set is not
    /// kept for local gets any more. True when the hub thread must be woken
    /// to take it.
    pub(crate) fn end_grace(&mut self) -> bool {
        self.returned = None;
        match &mut self.holder {
            Holder::Free { handed, .. } => {
                *handed = None;
                true
            }
            _ => false,
        }
    }

    /// A local get returns with an item, and nothing else here waits.
    pub(crate) fn get_returned(&mut self) {
        self.returned = Some(Instant::now());
    }

    /// The hub thread sleeps until woken (`true`), or woke.
    pub(crate) fn set_hub_parked(&mut self, parked: bool) {
        self.hub_parked = parked;
    }

    /// Whether the hub thread sleeps until woken.
    pub(crate) fn hub_parked(&self) -> bool {
        self.hub_parked
    }

    /// What the hub thread does next, when it does not hold the set (it
    /// looks at the set now).
    pub(crate) fn next(&mut self) -> Next {
        let free = match &self.holder {
            Holder::Free { handed, .. } => Some(*handed),
            _ => None,
        };
        self.look_at(Instant::now(), free)
    }

    /// [`next`](Self::next) at `now`; `free`: the set is free, and
    /// `Some(handed)` says when the hub thread left it to gets it gave
    /// items to (`None`: a local get holds it).
    fn look_at(&mut self, now: Instant, free: Option<Option<Instant>>) -> Next {
        let recent = |t: Option<Instant>, d: Duration| t.filter(|&t| now < t + d);
        // A local get returned the set since the last look: they keep
        // coming back, so the next look can wait longer.
        let look = self.look;
        if self.returned.is_some() && self.returned != self.seen {
            self.look = (look * 2).min(MAX_LOOK);
        }
        self.seen = self.returned;
        let unpicked = |handed| recent(handed, PICKUP).filter(|&h| self.returned.is_none_or(|r| r < h));
        let next = match free.map(unpicked) {
            // No get picked up the item the hub thread gave it yet.
            Some(Some(h)) => Next::WaitUntil((now + GRACE).min(h + PICKUP)),
            Some(None) => match recent(self.returned, look) {
                Some(r) => Next::WaitUntil(r + look),
                None => Next::Take,
            },
            // A local get waits on the set.
            None => match recent(self.returned, POLL_WINDOW) {
                Some(_) => Next::WaitUntil(now + look),
                None => Next::Park,
            },
        };
        if !matches!(next, Next::WaitUntil(_)) {
            self.look = GRACE;
        }
        next
    }

    /// The hub thread takes the free set.
    pub(crate) fn take_for_hub(&mut self) -> Option<HubSet> {
        self.returned = None;
        match std::mem::replace(&mut self.holder, Holder::Hub) {
            Holder::Free { set, .. } => Some(set.into_set()),
            other => {
                self.holder = other;
                None
            }
        }
    }

    /// The hub thread gave items to local gets: their next wait may take
    /// the set.
    pub(crate) fn hand_to_gets(&mut self, set: MovableSet) {
        self.holder = Holder::Free {
            set,
            handed: Some(Instant::now()),
        };
    }

    /// A local get takes the free set (it applies until it waits).
    pub(crate) fn take_for_get(&mut self) -> Option<MovableSet> {
        match std::mem::replace(&mut self.holder, Holder::GetApplies) {
            Holder::Free { set, .. } => Some(set),
            other => {
                self.holder = other;
                None
            }
        }
    }

    /// The local get holding the set is about to wait on it.
    pub(crate) fn get_waits(&mut self) {
        self.holder = Holder::GetWaits { poked: false };
    }

    /// The local get holding the set woke, and applies what it read.
    pub(crate) fn get_applies(&mut self) {
        if !self.failed() {
            self.holder = Holder::GetApplies;
        }
    }

    /// The local get gives the set back, kept free for this process's next
    /// get.
    pub(crate) fn give_back(&mut self, set: MovableSet) {
        self.holder = Holder::Free { set, handed: None };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set is free, not left to gets the hub thread gave items to.
    const FREE: Option<Option<Instant>> = Some(None);
    /// A local get holds the set (it waits on it).
    const HELD: Option<Option<Instant>> = None;

    fn returned_at(returned: Instant) -> Reading {
        Reading {
            returned: Some(returned),
            ..Reading::default()
        }
    }

    #[test]
    fn looks_wait_longer_while_local_gets_keep_coming_back() {
        let t0 = Instant::now();
        let mut reading = returned_at(t0);
        // The first look after a get waits GRACE from its return.
        assert_eq!(reading.look_at(t0, FREE), Next::WaitUntil(t0 + GRACE));
        let mut returned = t0;
        let mut waited = Vec::new();
        for _ in 0..6 {
            // Another get took the set and gave it back before the look.
            returned += Duration::from_micros(50);
            reading.returned = Some(returned);
            match reading.look_at(returned, FREE) {
                Next::WaitUntil(until) => waited.push(until - returned),
                other => panic!("a look while gets come back said {other:?}"),
            }
        }
        assert_eq!(waited[0], GRACE * 2);
        assert!(
            waited.windows(2).all(|w| w[0] <= w[1]),
            "looks got closer: {waited:?}"
        );
        assert_eq!(
            *waited.last().unwrap(),
            MAX_LOOK,
            "looks grow up to MAX_LOOK only"
        );
    }

    #[test]
    fn the_hub_takes_the_set_once_gets_stop_coming_back() {
        let t0 = Instant::now();
        let mut reading = returned_at(t0);
        let mut returned = t0;
        for _ in 0..6 {
            returned += Duration::from_micros(50);
            reading.returned = Some(returned);
            reading.look_at(returned, FREE);
        }
        // No get since the last look: the set is taken at the end of the
        // wait that look chose, not later.
        let Next::WaitUntil(until) = reading.look_at(returned + Duration::from_micros(10), FREE) else {
            panic!("the set was taken while a get had just returned it");
        };
        assert!(until <= returned + MAX_LOOK);
        assert_eq!(reading.look_at(until, FREE), Next::Take);
        // Taken: the next run of gets starts from GRACE again.
        assert_eq!(reading.look, GRACE);
    }

    #[test]
    fn a_waiting_get_is_looked_at_as_often_as_gets_return() {
        let t0 = Instant::now();
        let mut reading = returned_at(t0);
        // A get waits on the set: the hub looks again after the current
        // interval, which grows only when gets return.
        assert_eq!(reading.look_at(t0, HELD), Next::WaitUntil(t0 + GRACE));
        let later = t0 + Duration::from_micros(150);
        assert_eq!(reading.look_at(later, HELD), Next::WaitUntil(later + GRACE * 2));
        let still = later + Duration::from_micros(200);
        assert_eq!(reading.look_at(still, HELD), Next::WaitUntil(still + GRACE * 2));
        // Long after the last return, the hub sleeps until woken.
        assert_eq!(reading.look_at(t0 + POLL_WINDOW, HELD), Next::Park);
        assert_eq!(reading.look, GRACE);
    }

    #[test]
    fn gets_given_items_keep_the_set_until_they_pick_it_up() {
        let t0 = Instant::now();
        let mut reading = Reading::default();
        let handed = Some(Some(t0));
        assert_eq!(reading.look_at(t0, handed), Next::WaitUntil(t0 + GRACE));
        assert_eq!(reading.look_at(t0 + PICKUP, handed), Next::Take);
    }
}
