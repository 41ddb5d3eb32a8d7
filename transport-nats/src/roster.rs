//! Who is on a channel: the presence protocol that turns "every sender is
//! gone" and "every receiver is gone" into `Disconnected`, across machines.
//!
//! NATS itself does not tell a client who else uses a subject. Every end
//! therefore announces itself on the channel's presence subject: when it
//! opens, every [`Options::heartbeat`] while it lives, and when it is
//! dropped (`gone`). An end handed to a child is announced `transit` until
//! the child opens it (at most [`Options::handoff_grace`]). A peer that
//! stops announcing (killed, its machine gone) counts as gone after
//! [`Options::lease`]. A process that joins sends a probe, which every
//! process answers with its ends at once; until [`Options::lease`] has
//! passed, a process that joined (rather than created the channel) assumes
//! the other side may still be there.
//!
//! The roster is one per channel per process, shared by its ends there, so
//! ends in the same process see each other at once. Announcements are text,
//! one end per line, `<id> <role> <state>`; lines that do not parse are
//! ignored, and the table holds at most [`MAX_PEERS`] remote ends. The first
//! line names the announcing roster, so a roster ignores its own echoes.
//!
//! While the connection to the server is down nothing expires (silence
//! then says nothing about the peers); after a reconnection every lease is
//! renewed and every process announces its ends again.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, MutexGuard, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use transport_core::sync::LockExt;

use bytes::Bytes;
use futures::StreamExt;
use tokio::{sync::oneshot, task::AbortHandle};

use crate::{client::Inner, names::Names, options::Options, runtime, signal::Signal};

/// The most remote ends a roster keeps track of.
pub(crate) const MAX_PEERS: usize = 1 << 16;

/// What an end does on its channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Sender,
    Receiver,
    /// A [`Queue`](crate::Queue) handle: both.
    Both,
}

impl Role {
    fn code(self) -> &'static str {
        match self {
            Role::Sender => "s",
            Role::Receiver => "r",
            Role::Both => "b",
        }
    }

    fn parse(code: &str) -> Option<Role> {
        match code {
            "s" => Some(Role::Sender),
            "r" => Some(Role::Receiver),
            "b" => Some(Role::Both),
            _ => None,
        }
    }

    fn sends(self) -> bool {
        matches!(self, Role::Sender | Role::Both)
    }

    fn receives(self) -> bool {
        matches!(self, Role::Receiver | Role::Both)
    }
}

/// Which side an end asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Senders,
    Receivers,
}

impl Side {
    fn has(self, role: Role) -> bool {
        match self {
            Side::Senders => role.sends(),
            Side::Receivers => role.receives(),
        }
    }
}

/// What an end knows of the other side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Presence {
    /// An end of that side is open and working (for receivers: subscribed).
    pub(crate) live: bool,
    /// An end of that side may still come or come back: live, handed to a
    /// child that has not opened it yet, or not heard of yet by a process
    /// that just joined.
    pub(crate) any: bool,
    /// An end of that side was ever seen by this process.
    pub(crate) seen: bool,
}

impl Presence {
    /// Every end of that side is gone (after one was there).
    pub(crate) fn gone(&self) -> bool {
        self.seen && !self.any
    }
}

struct Local {
    role: Role,
    transit_until: Option<Instant>,
}

struct Remote {
    role: Role,
    transit: bool,
    expires: Instant,
}

struct Table {
    local: HashMap<String, Local>,
    remote: HashMap<String, Remote>,
    /// Until when a joining process assumes the other side may be there.
    grace_until: Option<Instant>,
    seen_senders: bool,
    seen_receivers: bool,
    /// How many receivers left or were declared gone, so far.
    departures: u64,
    /// The signals of the ends in this process, woken on every change.
    signals: Vec<Weak<Signal>>,
    /// The ends of this process that announced their departure and wait
    /// for the server to send it back.
    leaving: HashMap<String, oneshot::Sender<()>>,
}

struct Shared {
    client: Arc<Inner>,
    /// This roster's own identity, on its announcements: the server sends
    /// them back, and an echo of an end's own `live` must not be taken for
    /// the child that opened it.
    me: String,
    names: Names,
    heartbeat: Duration,
    lease: Duration,
    grace: Duration,
    /// The roster's subscription to the presence subject is made: from
    /// now on the server sends this roster's announcements back.
    subscribed: AtomicBool,
    table: Mutex<Table>,
}

/// The presence table of one channel in this process.
pub(crate) struct Roster {
    shared: Arc<Shared>,
    task: AbortHandle,
}

impl fmt::Debug for Roster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Roster")
            .field("channel", &self.shared.names.name)
            .finish_non_exhaustive()
    }
}

impl Drop for Roster {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Roster {
    /// Starts the roster of channel `name`. `origin`: this process creates
    /// the channel, so nobody else can be on it yet.
    pub(crate) fn start(client: Arc<Inner>, name: &str, options: &Options, origin: bool) -> Arc<Roster> {
        let names = Names::new(name).unwrap_or_else(|e| unreachable!("names are checked before: {e}"));
        let shared = Arc::new(Shared {
            client,
            me: crate::id::random(),
            names,
            heartbeat: options.heartbeat,
            lease: options.lease,
            grace: options.handoff_grace,
            subscribed: AtomicBool::new(false),
            table: Mutex::new(Table {
                local: HashMap::new(),
                remote: HashMap::new(),
                grace_until: (!origin).then(|| Instant::now() + options.lease),
                seen_senders: false,
                seen_receivers: false,
                departures: 0,
                signals: Vec::new(),
                leaving: HashMap::new(),
            }),
        });
        let task = runtime::handle()
            .spawn(run(Arc::clone(&shared), !origin))
            .abort_handle();
        Arc::new(Roster { shared, task })
    }

    /// Adds an end of this process.
    pub(crate) fn register(&self, id: &str, role: Role, signal: &Arc<Signal>) {
        {
            let mut table = self.shared.lock();
            table.local.insert(
                id.to_owned(),
                Local {
                    role,
                    transit_until: None,
                },
            );
            table.note_seen(role);
            table.signals.push(Arc::downgrade(signal));
        }
        self.shared.announce(&[(id, role, "live")]);
        self.shared.notify();
    }

    /// Marks an end as handed to a child: it counts as there until the
    /// child opens it, for at most the hand-off grace.
    pub(crate) fn hand_off(&self, id: &str) {
        let role = {
            let mut table = self.shared.lock();
            let until = Instant::now() + self.shared.grace;
            match table.local.get_mut(id) {
                Some(local) => {
                    local.transit_until = Some(until);
                    local.role
                }
                None => return,
            }
        };
        self.shared.announce(&[(id, role, "transit")]);
    }

    /// Removes an end of this process and tells the others, then waits
    /// until the server has taken everything this process sent before the
    /// departure: until the server sends the departure back (it handles a
    /// connection's messages in order). A process may exit right after;
    /// bytes still in its buffers or its socket would then be lost (a
    /// socket closed with unread input is reset, its unsent output
    /// dropped). The wait ends at `limit`, or when the connection has been
    /// down for that long.
    pub(crate) fn leave(&self, id: &str, limit: Duration) {
        let (role, echo) = {
            let mut table = self.shared.lock();
            let role = table.local.remove(id).map(|l| l.role);
            if role.is_some_and(Role::receives) {
                table.departures += 1;
            }
            let echo = (role.is_some() && self.shared.subscribed.load(Ordering::Acquire)).then(|| {
                let (done, echo) = oneshot::channel();
                table.leaving.insert(id.to_owned(), done);
                echo
            });
            (role, echo)
        };
        if let Some(role) = role {
            self.shared.announce(&[(id, role, "gone")]);
            let deadline = self
                .shared
                .client
                .link
                .outage_deadline(limit)
                .unwrap_or_else(|| Instant::now() + limit);
            match echo {
                Some(echo) => {
                    // An echo that came took its entry; one given up on
                    // leaves it behind.
                    if runtime::wait_for(echo, Some(deadline)).is_none() {
                        self.shared.lock().leaving.remove(id);
                    }
                }
                // The roster has not subscribed yet (the end leaves just
                // after it came), so nothing comes back: the connection
                // writes out what it holds.
                None => {
                    let nats = self.shared.client.nats.clone();
                    runtime::wait_for(async move { nats.flush().await }, Some(deadline));
                }
            }
        }
        self.shared.notify();
    }

    /// What this process knows of `side`.
    pub(crate) fn presence(&self, side: Side) -> Presence {
        let up = self.shared.client.link.is_up();
        let now = Instant::now();
        let table = self.shared.lock();
        let mut live = false;
        let mut any = table.grace_until.is_some_and(|g| now < g);
        for local in table.local.values().filter(|l| side.has(l.role)) {
            match local.transit_until {
                None => live = true,
                Some(until) => any |= now < until,
            }
        }
        for remote in table.remote.values().filter(|r| side.has(r.role)) {
            if !up || now < remote.expires {
                if remote.transit {
                    any = true;
                } else {
                    live = true;
                }
            }
        }
        let seen = match side {
            Side::Senders => table.seen_senders,
            Side::Receivers => table.seen_receivers,
        };
        Presence {
            live,
            any: any || live,
            seen,
        }
    }

    /// Records that `side` exists although this process has not heard of
    /// it yet: the end was made together with ends of that side.
    pub(crate) fn assume_seen(&self, side: Side) {
        let mut table = self.shared.lock();
        match side {
            Side::Senders => table.seen_senders = true,
            Side::Receivers => table.seen_receivers = true,
        }
    }

    /// Whether any end but `id` is on the channel, as far as this process
    /// knows (live, in transit, or possibly not heard of yet).
    pub(crate) fn others(&self, id: &str) -> bool {
        let up = self.shared.client.link.is_up();
        let now = Instant::now();
        let table = self.shared.lock();
        table.grace_until.is_some_and(|g| now < g)
            || table
                .local
                .iter()
                .any(|(other, l)| other != id && l.transit_until.is_none_or(|t| now < t))
            || table.remote.values().any(|r| !up || now < r.expires)
    }

    /// How many receivers left or were declared gone so far: a sender
    /// waiting for credit forgives what it sent to them.
    pub(crate) fn departures(&self) -> u64 {
        self.shared.lock().departures
    }

    /// When the next lease of `side` runs out, for a wait that must notice
    /// it (the roster's own task also wakes the ends then).
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        let table = self.shared.lock();
        let remote = table.remote.values().map(|r| r.expires);
        let local = table.local.values().filter_map(|l| l.transit_until);
        remote
            .chain(local)
            .chain(table.grace_until)
            .filter(|t| *t > Instant::now())
            .min()
    }
}

impl Table {
    fn note_seen(&mut self, role: Role) {
        self.seen_senders |= role.sends();
        self.seen_receivers |= role.receives();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock_unpoisoned()
    }

    fn notify(&self) {
        let mut table = self.lock();
        table.signals.retain(|w| match w.upgrade() {
            Some(signal) => {
                signal.notify();
                true
            }
            None => false,
        });
    }

    /// Publishes lines `<id> <role> <state>` without waiting.
    fn announce(&self, ends: &[(&str, Role, &str)]) {
        let mut text = format!("v1 {}\n", self.me);
        for (id, role, state) in ends {
            text.push_str(&format!("{id} {} {state}\n", role.code()));
        }
        let subject = self.names.presence().into();
        // A lost announcement is repeated by the next heartbeat.
        let _ = self.client.publish(subject, None, Bytes::from(text), None);
    }

    /// Announces every end of this process (live or in transit).
    fn heartbeat(&self) {
        let now = Instant::now();
        let ends: Vec<(String, Role, &str)> = self
            .lock()
            .local
            .iter()
            .filter(|(_, l)| l.transit_until.is_none_or(|t| now < t))
            .map(|(id, l)| {
                (
                    id.clone(),
                    l.role,
                    if l.transit_until.is_some() {
                        "transit"
                    } else {
                        "live"
                    },
                )
            })
            .collect();
        if !ends.is_empty() {
            let borrowed: Vec<(&str, Role, &str)> =
                ends.iter().map(|(i, r, s)| (i.as_str(), *r, *s)).collect();
            self.announce(&borrowed);
        }
    }

    fn probe(&self) {
        let subject = self.names.presence().into();
        let _ = self
            .client
            .publish(subject, None, Bytes::from_static(b"v1 probe\n"), None);
    }

    /// Applies an announcement; true if someone must be told.
    fn apply(&self, payload: &[u8]) -> Applied {
        let Ok(text) = std::str::from_utf8(payload) else {
            return Applied::Nothing;
        };
        let mut lines = text.lines();
        match lines.next().and_then(|l| l.strip_prefix("v1 ")) {
            Some("probe") => return Applied::Probe,
            Some(from) if from == self.me => {
                self.echoed(lines);
                return Applied::Nothing;
            }
            Some(_) => {}
            None => return Applied::Nothing,
        }
        let now = Instant::now();
        let mut changed = false;
        let mut table = self.lock();
        for (id, role, state) in lines.filter_map(parse_end) {
            if let Some(local) = table.local.get(id) {
                // The child that opened an end this process handed off.
                if local.transit_until.is_some() && state == "live" {
                    table.local.remove(id);
                } else {
                    continue;
                }
            }
            match state {
                "live" | "transit" => {
                    let transit = state == "transit";
                    let expires = now + if transit { self.grace } else { self.lease };
                    if !table.remote.contains_key(id) && table.remote.len() >= MAX_PEERS {
                        continue;
                    }
                    let old = table.remote.insert(
                        id.to_owned(),
                        Remote {
                            role,
                            transit,
                            expires,
                        },
                    );
                    changed |= old.is_none_or(|o| o.transit != transit || o.role != role || o.expires <= now);
                    table.note_seen(role);
                }
                "gone" => {
                    if let Some(old) = table.remote.remove(id) {
                        changed = true;
                        if old.role.receives() {
                            table.departures += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        if changed {
            Applied::Changed
        } else {
            Applied::Nothing
        }
    }

    /// This roster's own announcement, back from the server: the ends
    /// whose departure it carries may go.
    fn echoed<'a>(&self, lines: impl Iterator<Item = &'a str>) {
        let mut table = self.lock();
        if table.leaving.is_empty() {
            return;
        }
        for (id, _, state) in lines.filter_map(parse_end) {
            if state == "gone"
                && let Some(done) = table.leaving.remove(id)
            {
                let _ = done.send(());
            }
        }
    }

    /// Drops leases that ran out (not while the connection is down);
    /// true if any did.
    fn expire(&self) -> bool {
        if !self.client.link.is_up() {
            return false;
        }
        let now = Instant::now();
        let mut table = self.lock();
        let before = table.remote.len() + table.local.len();
        let mut departed = 0;
        table.remote.retain(|_, r| {
            let keep = now < r.expires;
            departed += u64::from(!keep && r.role.receives());
            keep
        });
        table.local.retain(|_, l| {
            let keep = l.transit_until.is_none_or(|t| now < t);
            departed += u64::from(!keep && l.role.receives());
            keep
        });
        table.departures += departed;
        let grace_over = table.grace_until.is_some_and(|g| now >= g);
        if grace_over {
            table.grace_until = None;
        }
        before != table.remote.len() + table.local.len() || grace_over
    }

    /// After a reconnection: nobody could be heard while the connection was
    /// down, so every lease starts again.
    fn renew(&self) {
        let until = Instant::now() + self.lease;
        let mut table = self.lock();
        for remote in table.remote.values_mut() {
            remote.expires = remote.expires.max(until);
        }
    }
}

/// An announcement's line `<id> <role> <state>`, if it is one (an id of 1
/// to 64 bytes, a known role).
fn parse_end(line: &str) -> Option<(&str, Role, &str)> {
    let mut words = line.split(' ');
    let (Some(id), Some(role), Some(state), None) = (words.next(), words.next(), words.next(), words.next())
    else {
        return None;
    };
    let role = Role::parse(role)?;
    (!id.is_empty() && id.len() <= 64).then_some((id, role, state))
}

enum Applied {
    Nothing,
    Changed,
    Probe,
}

/// The roster's task: listens, heartbeats, expires, and starts over after a
/// reconnection.
async fn run(shared: Arc<Shared>, joined: bool) {
    let nats = shared.client.nats.clone();
    let mut sub = loop {
        match nats.subscribe(shared.names.presence()).await {
            Ok(sub) => break sub,
            // The client is closing or reconnecting: try again shortly.
            Err(_) => tokio::time::sleep(shared.heartbeat).await,
        }
    };
    shared.subscribed.store(true, Ordering::Release);
    let _ = nats.flush().await;
    if joined {
        shared.probe();
    }
    shared.heartbeat();
    let mut epochs = shared.client.link.epochs();
    let mut ticker = tokio::time::interval(shared.heartbeat.min(shared.lease / 4));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_beat = Instant::now();
    loop {
        tokio::select! {
            msg = sub.next() => match msg {
                Some(msg) => match shared.apply(&msg.payload) {
                    Applied::Changed => shared.notify(),
                    Applied::Probe => shared.heartbeat(),
                    Applied::Nothing => {}
                },
                None => return,
            },
            _ = ticker.tick() => {
                if last_beat.elapsed() >= shared.heartbeat {
                    shared.heartbeat();
                    last_beat = Instant::now();
                }
                if shared.expire() {
                    shared.notify();
                }
            }
            changed = epochs.changed() => {
                if changed.is_err() {
                    return;
                }
                shared.renew();
                shared.probe();
                shared.heartbeat();
                shared.notify();
            }
        }
    }
}
