//! The queue itself, in the creating process: the items, who holds the
//! queue, and the bookkeeping that decides who gets what. It lives behind
//! one mutex ([`super::shared::Hub`]); the hub thread applies members'
//! requests to it ([`super::requests`]) and local handles use it directly.
//!
//! After every change, [`State::settle`] brings the rest up to date, in
//! steps: parked puts are refused or admitted, items are dealt to the
//! members that asked, items nobody can get are dropped, members waiting
//! for an end or for joins are told, and local waiters are woken. Whatever
//! must reach another thread or process is left in [`Deferred`], done once
//! the lock is released ([`super::locked`]).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Condvar},
    task::Waker,
};

use transport_core::sync::WakerList;

use super::{
    membership::Membership,
    outbox::{BATCH_BYTES, Message, Outbox, segments, weight},
    reading::Reading,
};
use crate::{
    config::Config,
    outcome::{GetError, PutError},
    sys::{Outgoing, Received, Segment, SetHandle, SlabPool, Written},
    wire::{Down, Item, MAX_SEGMENTS_PER_MESSAGE, Reply, Role, Violation, Welcome},
};

/// A shared item in the queue: its segment, and who put it (a member's
/// key; `None` for this process, whose slab it is).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) segment: Segment,
    pub(crate) from: Option<u64>,
}

impl Shared {
    /// An item this process put into a slab of its own.
    // Where slabs do not exist (their types have no values), this is never
    // reached.
    #[allow(unreachable_code)]
    pub(crate) fn own(written: Written) -> Shared {
        Shared {
            segment: Segment::from(written),
            from: None,
        }
    }

    /// An item member `key` put into a slab of its.
    // As `own`.
    #[allow(unreachable_code, unused_variables)]
    pub(crate) fn theirs(received: Received, key: u64) -> Shared {
        Shared {
            segment: Segment::from(received),
            from: Some(key),
        }
    }
}

/// An item in the queue.
pub(crate) type Queued = Item<Shared>;

/// A shared item delivered to a member under a ticket: whose slab it is
/// in, until the member copied it out and gave the ticket back.
#[derive(Debug, Clone, Copy)]
struct Ticket {
    consumer: u64,
    /// The producer (`None`: this process) and its tag for the slab.
    from: Option<u64>,
    tag: u64,
}

/// The condition variables local handles wait on.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    /// An item arrived, or the queue drained for good.
    pub(crate) readable: Condvar,
    /// Room appeared, or every receiver left.
    pub(crate) writable: Condvar,
    /// Every item put so far was marked done.
    pub(crate) joined: Condvar,
    /// The hub thread waits here for the receiver set.
    pub(crate) hub: Condvar,
}

/// A put from a member, waiting for room in a full bounded queue.
#[derive(Debug)]
pub(super) struct Parked {
    pub(super) key: u64,
    pub(super) id: u64,
    pub(super) item: Queued,
}

/// Work the state changes left, to do once the lock is released.
#[derive(Default)]
pub(crate) struct Deferred {
    /// Tasks to wake.
    wake: Vec<Waker>,
    /// Outboxes with messages queued, to flush.
    flush: Vec<Arc<Outbox>>,
    /// A wake-up for a get in this process that waits on the members'
    /// channels.
    poke: Option<SetHandle>,
    /// This process's slabs to give back to its pool.
    freed: Vec<u64>,
    pool: Option<Arc<SlabPool>>,
}

impl Deferred {
    /// Does the work: wakes the waiting get, sends what members are owed,
    /// wakes tasks.
    pub(crate) fn run(self) {
        if let Some(ctl) = self.poke {
            ctl.wake();
        }
        if let Some(pool) = &self.pool {
            for tag in self.freed {
                pool.give_back(tag);
            }
        }
        for outbox in self.flush {
            outbox.flush();
        }
        for waker in self.wake {
            waker.wake();
        }
    }
}

/// The state of one queue.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) items: VecDeque<Queued>,
    pub(crate) closed: bool,
    /// Handles in this (the creating) process that may put / get,
    /// including endpoints being handed to a child that has not opened
    /// them yet.
    pub(crate) local_send: usize,
    pub(crate) local_recv: usize,
    /// Local threads blocked in a get (one of them may wait on the
    /// members' channels).
    pub(crate) local_getters: usize,
    /// Of those, the ones asleep on `readable`.
    pub(crate) sleeping_getters: usize,
    /// Local threads blocked in a put or a join.
    pub(crate) local_waiting: usize,
    /// Who waits on the members' channels.
    pub(crate) reading: Reading,
    /// Items put and not yet marked done.
    pub(crate) unfinished: u64,
    pub(super) members: HashMap<u64, Membership>,
    /// Items held by prefetching members, which count against the
    /// capacity (the sum of their [`Membership::counted`]).
    pub(super) held: u64,
    /// Members dropped for breaking the protocol, whose `up` channels the
    /// receiver set stops reading.
    pub(crate) dropped: Vec<u64>,
    /// Members with credit, served in turn.
    pub(super) wanting: VecDeque<u64>,
    pub(super) parked: VecDeque<Parked>,
    /// Members' pending joins: (member, request id).
    pub(super) joiners: Vec<(u64, u64)>,
    /// Members' async senders waiting for room: (member, request id).
    pub(super) room_watchers: Vec<(u64, u64)>,
    /// Members found with too many messages unread, to drop.
    unread: Vec<u64>,
    /// Shared items delivered to members and not yet copied out, by ticket.
    tickets: HashMap<u64, Ticket>,
    next_ticket: u64,
    /// Tags of this process's slabs whose items were copied out, to give
    /// back to [`super::shared::Hub`]'s pool once the lock is released.
    pub(crate) freed: Vec<u64>,
    /// Async tasks waiting on local handles for an item (or the end), and
    /// for room (or the end), by handle.
    pub(crate) recv_wakers: WakerList,
    pub(crate) send_wakers: WakerList,
    /// Work for once the lock is released (the poke is in `reading`).
    deferred: Deferred,
    /// This process's slabs, where it has them.
    pub(crate) pool: Option<Arc<SlabPool>>,
    /// The next local handle's id.
    next_end: u64,
    next_key: u64,
    pub(super) config: Config,
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deferred")
            .field("wake", &self.wake.len())
            .field("flush", &self.flush.len())
            .finish_non_exhaustive()
    }
}

impl State {
    pub(crate) fn new(config: Config, pool: Option<Arc<SlabPool>>) -> Self {
        State {
            items: VecDeque::new(),
            closed: false,
            local_send: 0,
            local_recv: 0,
            local_getters: 0,
            local_waiting: 0,
            sleeping_getters: 0,
            reading: Reading::default(),
            unfinished: 0,
            members: HashMap::new(),
            held: 0,
            dropped: Vec::new(),
            wanting: VecDeque::new(),
            parked: VecDeque::new(),
            joiners: Vec::new(),
            room_watchers: Vec::new(),
            unread: Vec::new(),
            tickets: HashMap::new(),
            next_ticket: 0,
            freed: Vec::new(),
            recv_wakers: WakerList::new(),
            send_wakers: WakerList::new(),
            deferred: Deferred::default(),
            pool,
            next_end: 0,
            next_key: 0,
            config,
        }
    }

    /// Whether work waits for the lock to be released.
    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.wake.is_empty()
            || !self.deferred.flush.is_empty()
            || self.reading.has_poke()
            || !self.freed.is_empty()
    }

    /// Takes the work that waits for the lock to be released.
    pub(crate) fn take_deferred(&mut self) -> Deferred {
        let mut deferred = std::mem::take(&mut self.deferred);
        deferred.poke = self.reading.take_poke();
        deferred.freed = std::mem::take(&mut self.freed);
        deferred.pool = self.pool.clone();
        deferred
    }

    /// Handles (anywhere) that may put.
    pub(crate) fn senders(&self) -> usize {
        self.local_send + self.members.values().filter(|m| m.role.sends()).count()
    }

    /// Handles (anywhere) that may get.
    pub(crate) fn receivers(&self) -> usize {
        self.local_recv + self.members.values().filter(|m| m.role.receives()).count()
    }

    /// Whether no handle of any kind is left, so the hub can stop.
    pub(crate) fn abandoned(&self) -> bool {
        self.local_send == 0 && self.local_recv == 0 && self.members.is_empty()
    }

    /// Why puts must fail, if they must: the queue was closed, or nobody
    /// could ever get the item.
    pub(crate) fn put_refusal(&self) -> Option<PutError> {
        if self.closed {
            Some(PutError::Closed)
        } else if self.receivers() == 0 {
            Some(PutError::Disconnected)
        } else {
            None
        }
    }

    /// Whether puts must fail.
    pub(crate) fn refuses_puts(&self) -> bool {
        self.put_refusal().is_some()
    }

    /// Whether gets must fail: empty, and no item can ever come.
    pub(crate) fn drained(&self) -> bool {
        self.items.is_empty() && (self.closed || self.senders() == 0)
    }

    /// Why a get of a drained queue fails.
    pub(crate) fn drained_error(&self) -> GetError {
        if self.closed {
            GetError::Closed
        } else {
            GetError::Disconnected
        }
    }

    /// Whether a bounded queue has room for one more item: the items in
    /// it and those prefetching members hold are fewer than its capacity.
    pub(crate) fn has_room(&self) -> bool {
        self.config
            .capacity
            .is_none_or(|cap| (self.items.len() as u64).saturating_add(self.held) < cap as u64)
    }

    /// A new id for a local handle (its async wakers are filed under it).
    pub(crate) fn new_end(&mut self) -> u64 {
        self.next_end += 1;
        self.next_end
    }

    /// Whether any handle lives in another process.
    pub(crate) fn has_members(&self) -> bool {
        !self.members.is_empty()
    }

    /// Whether a local thread or async task waits for something (besides
    /// a get that is about to return).
    pub(crate) fn others_wait(&self) -> bool {
        self.local_getters > 0
            || self.local_waiting > 0
            || !self.recv_wakers.is_empty()
            || !self.send_wakers.is_empty()
    }

    /// Local threads and async tasks waiting for an item: the first items
    /// are kept for them rather than handed to members.
    fn local_waiters(&self) -> usize {
        self.local_getters + self.recv_wakers.len()
    }

    /// Adds an item whose put succeeded.
    pub(crate) fn accept(&mut self, item: Queued) {
        self.items.push_back(item);
        self.unfinished += 1;
    }

    /// The shared item from `from` (slab `tag`) was copied out (or will
    /// never be): its producer may write there again.
    pub(crate) fn release_slab(&mut self, from: Option<u64>, tag: u64) {
        match from {
            None => self.freed.push(tag),
            Some(key) => {
                let Some(m) = self.members.get_mut(&key) else {
                    return;
                };
                m.slabs = m.slabs.saturating_sub(1);
                self.post(key, Down::Released { tags: vec![tag] });
            }
        }
    }

    /// An item leaves the queue without being delivered (dropped): its slab
    /// is free again.
    pub(crate) fn discard(&mut self, item: Queued) {
        if let Item::Shared(shared) = item {
            let tag = slab_tag(&shared.segment);
            self.release_slab(shared.from, tag);
        }
    }

    /// Member `key` copied out the shared items of these tickets. A ticket
    /// that was not its is a violation.
    pub(super) fn released(&mut self, key: u64, tickets: Vec<u64>) -> Result<(), Violation> {
        for number in tickets {
            match self.tickets.get(&number) {
                Some(ticket) if ticket.consumer == key => {
                    let ticket = *ticket;
                    self.tickets.remove(&number);
                    self.release_slab(ticket.from, ticket.tag);
                }
                _ => {
                    return Err(Violation::new(format!(
                        "it gave back ticket {number}, which it was not given"
                    )));
                }
            }
        }
        Ok(())
    }

    /// A shared item for member `consumer`, under a new ticket.
    // As `Shared::own`.
    #[allow(unreachable_code)]
    fn issue_ticket(&mut self, consumer: u64, shared: Shared) -> Outgoing {
        let number = self.next_ticket;
        self.next_ticket += 1;
        self.tickets.insert(
            number,
            Ticket {
                consumer,
                from: shared.from,
                tag: slab_tag(&shared.segment),
            },
        );
        Outgoing::new(shared.segment, number)
    }

    /// Queues `msg` for member `key`; it leaves once the lock is released.
    /// A member that lets its messages pile up unread is dropped.
    pub(super) fn post(&mut self, key: u64, msg: Message) {
        if let Some(m) = self.members.get(&key) {
            let outbox = Arc::clone(&m.outbox);
            self.post_to(key, &outbox, msg);
        }
    }

    fn post_to(&mut self, key: u64, outbox: &Arc<Outbox>, msg: Message) {
        if !outbox.push(msg) {
            self.unread.push(key);
        }
        if !self.deferred.flush.iter().any(|o| Arc::ptr_eq(o, outbox)) {
            self.deferred.flush.push(Arc::clone(outbox));
        }
    }

    pub(super) fn reply(&mut self, key: u64, id: u64, reply: Reply) {
        self.post(key, Down::Reply { id, reply });
    }

    /// The reply to a put that cannot happen, for `why`.
    pub(super) fn refusal_reply(why: &PutError) -> Reply {
        match why {
            PutError::Closed => Reply::PutClosed,
            _ => Reply::PutDisconnected,
        }
    }

    /// Brings everything up to date after a change (see the module docs).
    pub(crate) fn settle(&mut self, sig: &Signals) {
        loop {
            self.refuse_parked();
            let admitted = self.admit_parked();
            let dealt = self.deal_to_members();
            if !admitted && !dealt {
                break;
            }
        }
        self.drop_unreachable();
        self.tell_drained();
        self.answer_joins();
        self.wake_waiters(sig);
        for key in std::mem::take(&mut self.unread) {
            self.drop_member(key, Violation::new("it does not read its messages"), sig);
        }
    }

    /// Parked puts fail once puts must.
    fn refuse_parked(&mut self) {
        let Some(why) = self.put_refusal() else { return };
        let reply = Self::refusal_reply(&why);
        for p in std::mem::take(&mut self.parked) {
            self.free_slot(p.key);
            if let (Item::Shared(_), Some(m)) = (&p.item, self.members.get_mut(&p.key)) {
                // The member takes its slab back when told the put failed.
                m.slabs = m.slabs.saturating_sub(1);
            }
            self.reply(p.key, p.id, reply);
        }
    }

    /// Parked puts go in while there is room; whether any did.
    fn admit_parked(&mut self) -> bool {
        let mut admitted = false;
        while self.has_room() {
            let Some(p) = self.parked.pop_front() else { break };
            self.accept(p.item);
            self.free_slot(p.key);
            self.reply(p.key, p.id, Reply::PutOk);
            admitted = true;
        }
        admitted
    }

    /// Items go to the members that asked for them, in turn, each in
    /// batches of up to [`BATCH_BYTES`] (and [`MAX_SEGMENTS_PER_MESSAGE`]
    /// shared items); local getters already waiting keep the first items.
    /// Whether any item went.
    // Shared items are unreachable where slabs do not exist.
    #[allow(unreachable_code)]
    fn deal_to_members(&mut self) -> bool {
        let keep = self.local_waiters();
        let mut dealt = false;
        while self.items.len() > keep {
            let Some(key) = self.wanting.pop_front() else {
                break;
            };
            let Some(credit) = self.members.get(&key).map(|m| m.credit) else {
                continue;
            };
            let mut batch = Vec::new();
            let (mut bytes, mut shared) = (0, 0);
            while batch.len() < credit as usize && self.items.len() > keep {
                let Some(next) = self.items.front() else { break };
                let is_shared = matches!(next, Item::Shared(_));
                let weight = weight(next);
                let full = bytes + weight > BATCH_BYTES || (is_shared && shared == MAX_SEGMENTS_PER_MESSAGE);
                if !batch.is_empty() && full {
                    break;
                }
                bytes += weight;
                shared += usize::from(is_shared);
                let Some(item) = self.items.pop_front() else { break };
                batch.push(match item {
                    Item::Inline(b) => Item::Inline(b),
                    Item::Shared(s) => Item::Shared(self.issue_ticket(key, s)),
                });
            }
            debug_assert!(segments(&batch) <= MAX_SEGMENTS_PER_MESSAGE);
            let Some(m) = self.members.get_mut(&key) else {
                continue;
            };
            let n = batch.len();
            m.credit -= n as u32;
            m.taken += n as u64;
            if m.counts_held() {
                self.held += n as u64;
            }
            let still_wants = m.credit > 0;
            let outbox = Arc::clone(&m.outbox);
            self.post_to(key, &outbox, Down::Items(batch));
            if still_wants {
                self.wanting.push_back(key);
            }
            dealt = true;
        }
        dealt
    }

    /// Items nobody can ever get (no receiver is left) are freed, and no
    /// longer count as unfinished.
    fn drop_unreachable(&mut self) {
        if self.receivers() == 0 && !self.items.is_empty() {
            let dropped = self.items.len() as u64;
            for item in std::mem::take(&mut self.items) {
                self.discard(item);
            }
            self.unfinished = self.unfinished.saturating_sub(dropped);
        }
    }

    /// Members waiting for items learn that none will come.
    fn tell_drained(&mut self) {
        if !self.drained() {
            return;
        }
        let closed = self.closed;
        for key in std::mem::take(&mut self.wanting) {
            if let Some(m) = self.members.get_mut(&key) {
                m.credit = 0;
                let outbox = Arc::clone(&m.outbox);
                self.post_to(key, &outbox, Down::Drained { closed });
            }
        }
    }

    /// Members' joins are answered once every item was marked done.
    fn answer_joins(&mut self) {
        if self.unfinished == 0 && !self.joiners.is_empty() {
            for (key, id) in std::mem::take(&mut self.joiners) {
                self.free_slot(key);
                self.reply(key, id, Reply::Joined);
            }
        }
    }

    /// Wakes the local threads and tasks that can proceed, and answers
    /// members watching for room. (A condition variable's notify costs a
    /// system call even with nobody waiting.)
    fn wake_waiters(&mut self, sig: &Signals) {
        if self.drained() || !self.items.is_empty() {
            if self.sleeping_getters > 0 {
                sig.readable.notify_all();
            }
            self.reading.item_or_end();
            if !self.recv_wakers.is_empty() {
                self.recv_wakers.take_all_into(&mut self.deferred.wake);
            }
        }
        if self.has_room() || self.refuses_puts() {
            if self.local_waiting > 0 {
                sig.writable.notify_all();
            }
            if !self.send_wakers.is_empty() {
                self.send_wakers.take_all_into(&mut self.deferred.wake);
            }
            for (key, id) in std::mem::take(&mut self.room_watchers) {
                if let Some(m) = self.members.get_mut(&key) {
                    m.watching = false;
                }
                self.reply(key, id, Reply::Room);
            }
        }
        if self.unfinished == 0 && self.local_waiting > 0 {
            sig.joined.notify_all();
        }
    }

    /// Adds a member that writes to `outbox`; it is welcomed first. A queue
    /// that has as many members as it allows turns it away: the caller
    /// tells it why ([`Outbox::refuse`]) once the state is unlocked.
    pub(crate) fn add_member(&mut self, role: Role, outbox: Arc<Outbox>) -> Result<u64, String> {
        if self.members.len() >= self.config.max_members {
            transport_core::event!(
                WARN,
                limit = self.config.max_members,
                "queue member turned away: the queue is at its limit"
            );
            return Err(format!(
                "it has {} handles in other processes, its limit",
                self.config.max_members
            ));
        }
        let key = self.next_key;
        self.next_key += 1;
        let prefetch = match role {
            Role::Send => 0,
            Role::Recv => self.config.receiver_prefetch,
            Role::Both => self.config.queue_prefetch,
        };
        // A bounded queue never lets a member hold more than it holds.
        let prefetch = match self.config.capacity {
            Some(cap) => prefetch.min(u32::try_from(cap).unwrap_or(u32::MAX)),
            None => prefetch,
        };
        let welcome = Down::Welcome(Welcome {
            capacity: self.config.capacity.map(|c| c as u64),
            max_message_size: self.config.max_message_size as u64,
            prefetch,
        });
        self.post_to(key, &outbox, welcome);
        self.members.insert(key, Membership::new(role, prefetch, outbox));
        transport_core::event!(DEBUG, member = key, role = ?role, prefetch, "queue member joined");
        Ok(key)
    }

    /// Drops a member that broke the protocol: as if it had died, and its
    /// `up` channel is no longer read.
    pub(crate) fn drop_member(&mut self, key: u64, why: Violation, sig: &Signals) {
        if self.members.contains_key(&key) {
            transport_core::event!(WARN, member = key, violation = %why, "queue member dropped: it broke the protocol");
            let _ = why;
            self.dropped.push(key);
            self.remove_member(key, sig);
        }
    }

    /// Removes a member that left or died. Items it had taken and not
    /// marked done stop counting against `join`; its parked puts never
    /// happened.
    pub(crate) fn remove_member(&mut self, key: u64, sig: &Signals) {
        let Some(m) = self.members.remove(&key) else {
            return;
        };
        transport_core::event!(
            INFO,
            member = key,
            held = m.counted(),
            "queue member left or died"
        );
        m.outbox.close();
        self.held -= m.counted();
        // What it had not copied out yet is free again.
        let held: Vec<(u64, Ticket)> = self
            .tickets
            .iter()
            .filter(|(_, t)| t.consumer == key)
            .map(|(&n, &t)| (n, t))
            .collect();
        for (number, ticket) in held {
            self.tickets.remove(&number);
            self.release_slab(ticket.from, ticket.tag);
        }
        self.wanting.retain(|&k| k != key);
        self.parked.retain(|p| p.key != key);
        // Its own slabs lent to others stay until those copied them out
        // (the descriptors keep them); nobody is told when they are done.
        self.joiners.retain(|&(k, _)| k != key);
        self.room_watchers.retain(|&(k, _)| k != key);
        self.unfinished = self.unfinished.saturating_sub(m.taken.saturating_sub(m.done));
        self.settle(sig);
    }

    pub(super) fn free_slot(&mut self, key: u64) {
        if let Some(m) = self.members.get_mut(&key) {
            m.free_slot();
        }
    }

    pub(super) fn member_mut(&mut self, key: u64) -> &mut Membership {
        self.members
            .get_mut(&key)
            .expect("requests come from known members")
    }
}

/// The producer's tag for a segment's slab.
fn slab_tag(segment: &Segment) -> u64 {
    segment.tag()
}
