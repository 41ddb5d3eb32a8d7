//! Applying one member's request to the queue's state, on the hub's side.
//! A request that breaks the protocol drops the member (see
//! [`super::membership`] for the limits).

use super::state::{Parked, Queued, Shared, Signals, State};
use crate::{
    sys::Received,
    wire::{Bytes, Down, Item, Reply, Up, Violation},
};

impl State {
    /// Applies one request of member `key`, which had read `read` of the
    /// hub's messages and whose gets had taken `took` items when it sent
    /// it. A request that breaks the protocol drops the member.
    pub(crate) fn request<J>(&mut self, key: u64, read: u64, took: u64, up: Up<J, Received>, sig: &Signals) {
        let applied = self
            .take_report(key, read, took)
            .and_then(|known| if known { self.apply(key, up) } else { Ok(()) });
        if let Err(why) = applied {
            self.drop_member(key, why, sig);
        }
        self.settle(sig);
    }

    /// Takes what every request reports: how many of the hub's messages
    /// the member read, and how many items its gets took. False for a
    /// member the hub no longer knows (its request is ignored).
    fn take_report(&mut self, key: u64, read: u64, took: u64) -> Result<bool, Violation> {
        let Some(m) = self.members.get_mut(&key) else {
            return Ok(false);
        };
        if !m.outbox.read(read) {
            return Err(Violation::new(format!(
                "it said it read {read} messages, more than it was sent"
            )));
        }
        let before = m.counted();
        m.report(took)?;
        self.held -= before - m.counted();
        Ok(true)
    }

    fn apply<J>(&mut self, key: u64, up: Up<J, Received>) -> Result<(), Violation> {
        match up {
            Up::Put { id, frame, block } => self.put_from(key, id, Item::Inline(frame), block)?,
            Up::PutShared { id, segment, block } => self.put_shared(key, id, segment, block)?,
            Up::Release { tickets } => self.released(key, tickets)?,
            Up::CancelPut { id } => self.cancel_put(key, id),
            Up::Want { n } => self.want(key, n),
            Up::Unwant => self.unwant(key),
            Up::WatchRoom { id } => self.watch_room(key, id)?,
            Up::Len { id } => self.reply(key, id, Reply::Len(self.items.len() as u64)),
            Up::TaskDone { id } => self.task_done_from(key, id),
            Up::Join { id } => self.join_from(key, id)?,
            Up::CancelJoin { id } => self.cancel_join(key, id),
            Up::Close { id } => {
                self.closed = true;
                self.reply(key, id, Reply::Closed);
            }
            Up::Return { frames } => self.take_back(key, frames)?,
            // Handled by whoever holds the receiver set.
            Up::Adopt(_) => {}
        }
        Ok(())
    }

    /// A put of an item in the member's slab.
    // Where slabs do not exist (their types have no values), this is never
    // reached.
    #[allow(unreachable_code, unused_variables)]
    fn put_shared(&mut self, key: u64, id: u64, segment: Received, block: bool) -> Result<(), Violation> {
        self.put_from(key, id, Item::Shared(Shared::theirs(segment, key)), block)
    }

    /// A put: in if there is room (and no parked put is ahead of it),
    /// parked if it may wait, refused otherwise. A shared item that goes in
    /// or is parked counts against the member's slabs; a refused one is the
    /// member's again at once.
    fn put_from(&mut self, key: u64, id: u64, item: Queued, block: bool) -> Result<(), Violation> {
        let len = item.len_with(|s| s.segment.len());
        let shared = matches!(item, Item::Shared(_));
        let limit = self.config.max_message_size;
        let reply = if len > limit {
            Reply::PutTooLarge {
                len: len as u64,
                limit: limit as u64,
            }
        } else if let Some(why) = self.put_refusal() {
            Self::refusal_reply(&why)
        } else if self.has_room() && self.parked.is_empty() {
            if shared {
                self.member_mut(key).take_slab()?;
            }
            self.accept(item);
            Reply::PutOk
        } else if block {
            let m = self.member_mut(key);
            m.take_slot()?;
            if shared {
                m.take_slab()?;
            }
            self.parked.push_back(Parked { key, id, item });
            return Ok(());
        } else {
            Reply::PutFull
        };
        self.reply(key, id, reply);
        Ok(())
    }

    /// Withdraws a parked put, if it is still parked.
    fn cancel_put(&mut self, key: u64, id: u64) {
        if let Some(i) = self.parked.iter().position(|p| p.key == key && p.id == id) {
            let parked = self.parked.remove(i);
            let m = self.member_mut(key);
            m.free_slot();
            if matches!(parked.map(|p| p.item), Some(Item::Shared(_))) {
                m.slabs = m.slabs.saturating_sub(1);
            }
            self.reply(key, id, Reply::PutCancelled);
        }
    }

    /// The member may take `n` more items (never more than it may hold).
    fn want(&mut self, key: u64, n: u32) {
        if self.drained() {
            self.member_mut(key).credit = 0;
            let closed = self.closed;
            self.post(key, Down::Drained { closed });
            return;
        }
        let m = self.member_mut(key);
        let was_wanting = m.credit > 0;
        m.credit = m.credit.saturating_add(n).min(m.prefetch.max(1));
        if !was_wanting && m.credit > 0 {
            self.wanting.push_back(key);
        }
    }

    /// The member takes no more items until it asks again.
    fn unwant(&mut self, key: u64) {
        self.member_mut(key).credit = 0;
        self.wanting.retain(|&k| k != key);
        self.post(key, Down::Unwanted);
    }

    /// Answers at once if a put could go in (or would fail for good);
    /// otherwise once that changes.
    fn watch_room(&mut self, key: u64, id: u64) -> Result<(), Violation> {
        if self.has_room() || self.refuses_puts() {
            self.reply(key, id, Reply::Room);
            return Ok(());
        }
        let m = self.member_mut(key);
        if m.watching {
            return Err(Violation::new("it watched for room twice at once"));
        }
        m.watching = true;
        self.room_watchers.push((key, id));
        Ok(())
    }

    fn task_done_from(&mut self, key: u64, id: u64) {
        let ok = self.unfinished > 0;
        if ok {
            self.unfinished -= 1;
            self.member_mut(key).done += 1;
        }
        self.reply(key, id, Reply::Done(ok));
    }

    /// Answers once every item put was marked done (at once if it is).
    fn join_from(&mut self, key: u64, id: u64) -> Result<(), Violation> {
        if self.unfinished == 0 {
            self.reply(key, id, Reply::Joined);
        } else {
            self.member_mut(key).take_slot()?;
            self.joiners.push((key, id));
        }
        Ok(())
    }

    fn cancel_join(&mut self, key: u64, id: u64) {
        if let Some(i) = self.joiners.iter().position(|&j| j == (key, id)) {
            self.joiners.remove(i);
            self.member_mut(key).free_slot();
            self.reply(key, id, Reply::JoinCancelled);
        }
    }

    /// Items the member had prefetched and gives back as it leaves: first
    /// in the queue again, in their order.
    fn take_back(&mut self, key: u64, frames: Vec<Bytes>) -> Result<(), Violation> {
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
            self.items.push_front(Item::Inline(frame));
        }
        Ok(())
    }
}
