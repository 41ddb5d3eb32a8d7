//! The queue itself: the items, who holds the queue, and the bookkeeping
//! that decides who gets what. It lives in the creating process, behind one
//! mutex; the hub thread applies members' requests to it and local handles
//! use it directly.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Condvar},
    task::Waker,
};

use super::{
    Lead,
    guard::Wakers,
    member::{Member, Violation},
    outbox::{BATCH_BYTES, Outbox},
};
use crate::{
    config::Config,
    wire::{Bytes, Down, Frame, Reply, Role, Up},
};

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
struct Parked {
    key: u64,
    id: u64,
    frame: Frame,
}

/// The state of one queue.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) items: VecDeque<Frame>,
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
    pub(crate) lead: Lead,
    /// Items put and not yet marked done.
    pub(crate) unfinished: u64,
    members: HashMap<u64, Member>,
    /// Items held by prefetching members, which count against the
    /// capacity (the sum of their [`Member::counted`]).
    held: u64,
    /// Members dropped for breaking the protocol, whose `up` channels the
    /// receiver set stops reading.
    pub(crate) dropped: Vec<u64>,
    /// Members with credit, served in turn.
    wanting: VecDeque<u64>,
    parked: VecDeque<Parked>,
    /// Members' pending joins: (member, request id).
    joiners: Vec<(u64, u64)>,
    /// Members' async senders waiting for room: (member, request id).
    room_watchers: Vec<(u64, u64)>,
    /// Members found with too many messages unread, to drop.
    unread: Vec<u64>,
    /// Async tasks waiting on local handles for an item (or the end), and
    /// for room (or the end).
    pub(crate) recv_wakers: Wakers,
    pub(crate) send_wakers: Wakers,
    /// Tasks to wake once the lock is released.
    pub(crate) to_wake: Vec<Waker>,
    /// Outboxes with messages queued, to flush once the lock is released.
    pub(crate) to_flush: Vec<Arc<Outbox>>,
    /// The next local handle's id.
    next_end: u64,
    next_key: u64,
    config: Config,
}

impl State {
    pub(crate) fn new(config: Config) -> Self {
        State {
            items: VecDeque::new(),
            closed: false,
            local_send: 0,
            local_recv: 0,
            local_getters: 0,
            local_waiting: 0,
            sleeping_getters: 0,
            lead: Lead::default(),
            unfinished: 0,
            members: HashMap::new(),
            held: 0,
            dropped: Vec::new(),
            wanting: VecDeque::new(),
            parked: VecDeque::new(),
            joiners: Vec::new(),
            room_watchers: Vec::new(),
            unread: Vec::new(),
            recv_wakers: Wakers::default(),
            send_wakers: Wakers::default(),
            to_wake: Vec::new(),
            to_flush: Vec::new(),
            next_end: 0,
            next_key: 0,
            config,
        }
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

    /// Whether puts must fail: closed, or nobody could ever get the item.
    pub(crate) fn refuses_puts(&self) -> bool {
        self.closed || self.receivers() == 0
    }

    /// Whether gets must fail: empty, and no item can ever come.
    pub(crate) fn drained(&self) -> bool {
        self.items.is_empty() && (self.closed || self.senders() == 0)
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
            || self.recv_wakers.len() > 0
            || self.send_wakers.len() > 0
    }

    /// Local threads and async tasks waiting for an item: the first items
    /// are kept for them rather than handed to members.
    fn local_waiters(&self) -> usize {
        self.local_getters + self.recv_wakers.len()
    }

    /// Adds an item whose put succeeded.
    pub(crate) fn accept(&mut self, frame: Frame) {
        self.items.push_back(frame);
        self.unfinished += 1;
    }

    /// Queues `msg` for member `key`; it leaves once the lock is released.
    /// A member that lets its messages pile up unread is dropped.
    fn post(&mut self, key: u64, msg: Down) {
        if let Some(m) = self.members.get(&key) {
            if !post(&mut self.to_flush, &m.outbox, msg) {
                self.unread.push(key);
            }
        }
    }

    fn reply(&mut self, key: u64, id: u64, reply: Reply) {
        self.post(key, Down::Reply { id, reply });
    }

    /// Brings everything up to date after a change: admits parked puts,
    /// hands items to members that asked, and wakes whoever can proceed.
    pub(crate) fn settle(&mut self, sig: &Signals) {
        loop {
            let mut changed = false;
            if self.refuses_puts() {
                for p in std::mem::take(&mut self.parked) {
                    self.free_slot(p.key);
                    self.reply(p.key, p.id, Reply::PutDisconnected);
                }
            }
            while self.has_room() {
                let Some(p) = self.parked.pop_front() else { break };
                self.accept(p.frame);
                self.free_slot(p.key);
                self.reply(p.key, p.id, Reply::PutOk);
                changed = true;
            }
            // Local getters already waiting get the first items; members
            // that asked get the rest, in turn.
            let keep = self.local_waiters();
            while self.items.len() > keep {
                let Some(key) = self.wanting.pop_front() else {
                    break;
                };
                let Some(m) = self.members.get_mut(&key) else {
                    continue;
                };
                let mut batch = Vec::new();
                let mut bytes = 0;
                while batch.len() < m.credit as usize && self.items.len() > keep {
                    let next = self.items.front().map_or(0, |f| f.len());
                    if !batch.is_empty() && bytes + next > BATCH_BYTES {
                        break;
                    }
                    bytes += next;
                    batch.extend(self.items.pop_front().map(Bytes));
                }
                m.credit -= batch.len() as u32;
                m.taken += batch.len() as u64;
                if m.counts_held() {
                    self.held += batch.len() as u64;
                }
                if !post(&mut self.to_flush, &m.outbox, Down::Items(batch)) {
                    self.unread.push(key);
                }
                if m.credit > 0 {
                    self.wanting.push_back(key);
                }
                changed = true;
            }
            if !changed {
                break;
            }
        }
        if self.receivers() == 0 && !self.items.is_empty() {
            // Nobody can ever get these: free them, and stop counting them.
            let dropped = self.items.len() as u64;
            self.items.clear();
            self.unfinished = self.unfinished.saturating_sub(dropped);
        }
        if self.drained() {
            for key in std::mem::take(&mut self.wanting) {
                if let Some(m) = self.members.get_mut(&key) {
                    m.credit = 0;
                    if !post(&mut self.to_flush, &m.outbox, Down::Drained) {
                        self.unread.push(key);
                    }
                }
            }
        }
        if self.unfinished == 0 && !self.joiners.is_empty() {
            for (key, id) in std::mem::take(&mut self.joiners) {
                self.free_slot(key);
                self.reply(key, id, Reply::Joined);
            }
        }
        // (A condition variable's notify costs a system call even with
        // nobody waiting.)
        if self.drained() || !self.items.is_empty() {
            if self.sleeping_getters > 0 {
                sig.readable.notify_all();
            }
            self.lead.item_or_end();
            if self.recv_wakers.len() > 0 {
                self.recv_wakers.take_into(&mut self.to_wake);
            }
        }
        if self.has_room() || self.refuses_puts() {
            if self.local_waiting > 0 {
                sig.writable.notify_all();
            }
            if self.send_wakers.len() > 0 {
                self.send_wakers.take_into(&mut self.to_wake);
            }
            if !self.room_watchers.is_empty() {
                for (key, id) in std::mem::take(&mut self.room_watchers) {
                    if let Some(m) = self.members.get_mut(&key) {
                        m.watching = false;
                    }
                    self.reply(key, id, Reply::Room);
                }
            }
        }
        if self.unfinished == 0 && self.local_waiting > 0 {
            sig.joined.notify_all();
        }
        for key in std::mem::take(&mut self.unread) {
            self.drop_member(key, Violation::new("it does not read its messages"), sig);
        }
    }

    /// Adds a member that writes to `outbox`; it is welcomed first. A queue
    /// that has as many members as it allows turns it away: the caller
    /// tells it why ([`Outbox::refuse`]) once the state is unlocked.
    pub(crate) fn add_member(&mut self, role: Role, outbox: Arc<Outbox>) -> Result<u64, String> {
        if self.members.len() >= self.config.max_members {
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
        let welcome = Down::Welcome(crate::wire::Welcome {
            capacity: self.config.capacity.map(|c| c as u64),
            max_message_size: self.config.max_message_size as u64,
            prefetch,
        });
        let _ = post(&mut self.to_flush, &outbox, welcome);
        self.members.insert(key, Member::new(role, prefetch, outbox));
        Ok(key)
    }

    /// Drops a member that broke the protocol: as if it had died, and its
    /// `up` channel is no longer read.
    pub(crate) fn drop_member(&mut self, key: u64, why: Violation, sig: &Signals) {
        if self.members.contains_key(&key) {
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
        m.outbox.close();
        self.held -= m.counted();
        self.wanting.retain(|&k| k != key);
        self.parked.retain(|p| p.key != key);
        self.joiners.retain(|&(k, _)| k != key);
        self.room_watchers.retain(|&(k, _)| k != key);
        self.unfinished = self.unfinished.saturating_sub(m.taken.saturating_sub(m.done));
        self.settle(sig);
    }

    /// Applies one request of member `key`, which had read `read` of the
    /// hub's messages and whose gets had taken `took` items when it sent
    /// it. A request that breaks the protocol drops the member.
    pub(crate) fn request<J>(&mut self, key: u64, read: u64, took: u64, up: Up<J>, sig: &Signals) {
        if let Err(why) = self.apply_request(key, read, took, up, sig) {
            self.drop_member(key, why, sig);
        }
        self.settle(sig);
    }

    fn apply_request<J>(
        &mut self,
        key: u64,
        read: u64,
        took: u64,
        up: Up<J>,
        sig: &Signals,
    ) -> Result<(), Violation> {
        let Some(m) = self.members.get_mut(&key) else {
            return Ok(());
        };
        if !m.outbox.read(read) {
            return Err(Violation::new(format!(
                "it said it read {read} messages, more than it was sent"
            )));
        }
        let before = m.counted();
        m.report(took)?;
        self.held -= before - m.counted();
        match up {
            Up::Put { id, frame, block } => {
                let frame = frame.0;
                let limit = self.config.max_message_size;
                let reply = if frame.len() > limit {
                    Reply::PutTooLarge {
                        len: frame.len() as u64,
                        limit: limit as u64,
                    }
                } else if self.refuses_puts() {
                    Reply::PutDisconnected
                } else if self.has_room() && self.parked.is_empty() {
                    self.accept(frame);
                    Reply::PutOk
                } else if block {
                    self.member_mut(key).take_slot()?;
                    self.parked.push_back(Parked { key, id, frame });
                    return Ok(());
                } else {
                    Reply::PutFull
                };
                self.reply(key, id, reply);
            }
            Up::CancelPut { id } => {
                if let Some(i) = self.parked.iter().position(|p| p.key == key && p.id == id) {
                    self.parked.remove(i);
                    self.member_mut(key).free_slot();
                    self.reply(key, id, Reply::PutCancelled);
                }
            }
            Up::Want { n } => {
                if self.drained() {
                    self.member_mut(key).credit = 0;
                    self.post(key, Down::Drained);
                } else {
                    let m = self.member_mut(key);
                    let was_wanting = m.credit > 0;
                    // Never more than it may hold.
                    m.credit = m.credit.saturating_add(n).min(m.prefetch.max(1));
                    if !was_wanting && m.credit > 0 {
                        self.wanting.push_back(key);
                    }
                }
            }
            Up::Unwant => {
                self.member_mut(key).credit = 0;
                self.wanting.retain(|&k| k != key);
                self.post(key, Down::Unwanted);
            }
            Up::WatchRoom { id } => {
                if self.has_room() || self.refuses_puts() {
                    self.reply(key, id, Reply::Room);
                } else {
                    let m = self.member_mut(key);
                    if m.watching {
                        return Err(Violation::new("it watched for room twice at once"));
                    }
                    m.watching = true;
                    self.room_watchers.push((key, id));
                }
            }
            Up::Len { id } => self.reply(key, id, Reply::Len(self.items.len() as u64)),
            Up::TaskDone { id } => {
                let ok = self.unfinished > 0;
                if ok {
                    self.unfinished -= 1;
                    self.member_mut(key).done += 1;
                }
                self.reply(key, id, Reply::Done(ok));
            }
            Up::Join { id } => {
                if self.unfinished == 0 {
                    self.reply(key, id, Reply::Joined);
                } else {
                    self.member_mut(key).take_slot()?;
                    self.joiners.push((key, id));
                }
            }
            Up::CancelJoin { id } => {
                if let Some(i) = self.joiners.iter().position(|&j| j == (key, id)) {
                    self.joiners.remove(i);
                    self.member_mut(key).free_slot();
                    self.reply(key, id, Reply::JoinCancelled);
                }
            }
            Up::Close { id } => {
                self.closed = true;
                self.reply(key, id, Reply::Closed);
            }
            Up::Return { frames } => {
                let limit = self.config.max_message_size;
                if let Some(f) = frames.iter().find(|f| f.0.len() > limit) {
                    return Err(Violation::new(format!(
                        "it gave back an item of {} bytes, past the limit of {limit}",
                        f.0.len()
                    )));
                }
                let m = self.member_mut(key);
                m.check_return(frames.len())?;
                let before = m.counted();
                m.taken -= frames.len() as u64;
                let after = m.counted();
                self.held -= before - after;
                for frame in frames.into_iter().rev() {
                    self.items.push_front(frame.0);
                }
            }
            // Handled by whoever holds the receiver set.
            Up::Adopt(_) => {}
        }
        let _ = sig;
        Ok(())
    }

    fn free_slot(&mut self, key: u64) {
        if let Some(m) = self.members.get_mut(&key) {
            m.free_slot();
        }
    }

    fn member_mut(&mut self, key: u64) -> &mut Member {
        self.members
            .get_mut(&key)
            .expect("requests come from known members")
    }
}

/// Queues `msg` in `outbox`, and remembers to flush it; false when the
/// member has let too many messages pile up unread.
#[must_use]
fn post(to_flush: &mut Vec<Arc<Outbox>>, outbox: &Arc<Outbox>, msg: Down) -> bool {
    let room = outbox.push(msg);
    if !to_flush.iter().any(|o| Arc::ptr_eq(o, outbox)) {
        to_flush.push(Arc::clone(outbox));
    }
    room
}
