//! [`MemberState`]: what the threads of a member process share about their
//! membership (items received, answers, who waits), filled from the hub's
//! messages on the `down` channel.

use std::{
    collections::{HashMap, VecDeque},
    task::Waker,
};

use transport_core::sync::WakerList;

use crate::wire::{Down, Item, QueueFrame, Reply, Welcome};

/// How many tickets of shared items it copied out a member gathers before
/// it gives them back to the hub on their own (it also gives back what it
/// holds with its next request of any kind). One message, and one wake-up
/// of the hub's reader, per batch instead of per item: a worker taking
/// large items one by one otherwise wakes the hub once for each. Meanwhile
/// the items' producers have fewer than that many of their slabs held back
/// by this member; a producer with no free slab sends inline.
pub(crate) const RELEASE_BATCH: usize = 4;

/// What the member's threads share.
#[derive(Debug, Default)]
pub(crate) struct MemberState {
    /// Items received and not yet taken by a get.
    pub(crate) items: VecDeque<QueueFrame>,
    /// Items asked for and not yet received.
    pub(crate) outstanding: u32,
    /// An `Unwant` was sent and its answer has not arrived.
    pub(crate) unwanting: bool,
    /// Answers to requests, by id.
    pub(crate) replies: HashMap<u64, Reply>,
    /// The hub answered a want with "drained": `Some(closed)`.
    pub(crate) drained: Option<bool>,
    /// The hub is gone.
    pub(crate) gone: bool,
    next_id: u64,
    /// The async tasks waiting for an item (or the end), and those waiting
    /// for room (or the end), by handle.
    pub(crate) recv_wakers: WakerList,
    pub(crate) send_wakers: WakerList,
    /// The request id of the outstanding `WatchRoom`, if any.
    pub(crate) watching: Option<u64>,
    /// The hub said there was room, and no poll has used that yet.
    pub(crate) room: bool,
    /// The member was polled for an item: its non-blocking gets keep the
    /// item they asked for instead of withdrawing the request.
    pub(crate) async_claim: bool,
    /// How many of the hub's messages were read (the welcome included);
    /// every request reports it.
    pub(crate) read: u64,
    /// The hub's first message, once read: its welcome, or what came
    /// instead.
    pub(crate) greeting: Option<Result<Welcome, Greeting>>,
    /// Items its gets took (every request says so).
    pub(crate) took: u64,
    /// Bytes its gets took since it last asked for items.
    pub(crate) took_bytes: usize,
    /// Its requests waiting at the hub: puts that may park, and joins (at
    /// most the hub's limit; more threads wait here for a slot).
    pub(crate) pending: usize,
    /// Threads waiting on the condition variable.
    pub(crate) sleepers: usize,
    /// Tickets of shared items copied out, not yet given back to the hub
    /// (fewer than [`RELEASE_BATCH`]).
    copied: Vec<u64>,
}

/// What the hub said instead of a welcome.
#[derive(Debug, Clone)]
pub(crate) enum Greeting {
    /// It turned the member away.
    Refused { already_used: bool, reason: String },
    /// Something this protocol does not start with.
    Unexpected(String),
}

impl MemberState {
    /// Files one message of the hub's (its shared items copied out
    /// already). Returns the tags of this process's slabs the hub says are
    /// free again.
    pub(crate) fn file(&mut self, msg: Down) -> Vec<u64> {
        self.read += 1;
        if self.greeting.is_none() {
            self.greeting = Some(match msg {
                Down::Welcome(welcome) => Ok(welcome),
                Down::Refused { already_used, reason } => Err(Greeting::Refused { already_used, reason }),
                other => Err(Greeting::Unexpected(format!("{other:?}"))),
            });
            return Vec::new();
        }
        match msg {
            Down::Items(items) => {
                self.outstanding = self.outstanding.saturating_sub(items.len() as u32);
                self.items.extend(items.into_iter().map(|item| match item {
                    Item::Inline(b) => b.0,
                    Item::Shared(no) => match no {},
                }));
            }
            Down::Released { tags } => return tags,
            Down::Drained { closed } => {
                self.drained = Some(closed);
                self.outstanding = 0;
            }
            Down::Unwanted => {
                self.outstanding = 0;
                self.unwanting = false;
            }
            Down::Reply {
                id,
                reply: Reply::Room,
            } => {
                if self.watching == Some(id) {
                    self.watching = None;
                    self.room = true;
                }
            }
            Down::Reply { id, reply } => {
                self.replies.insert(id, reply);
            }
            Down::Welcome(_) | Down::Refused { .. } => {}
        }
        Vec::new()
    }

    /// Keeps the tickets of shared items just copied out; the batch to
    /// give back to the hub once [`RELEASE_BATCH`] have gathered.
    pub(crate) fn copied_out(&mut self, tickets: Vec<u64>) -> Option<Vec<u64>> {
        self.copied.extend(tickets);
        (self.copied.len() >= RELEASE_BATCH).then(|| std::mem::take(&mut self.copied))
    }

    /// Every ticket kept back, to give back with a request the member sends
    /// anyway.
    pub(crate) fn take_copied(&mut self) -> Option<Vec<u64>> {
        (!self.copied.is_empty()).then(|| std::mem::take(&mut self.copied))
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Whether a get could make progress without waiting: an item, the
    /// end, or nothing asked for (so the get would ask).
    pub(crate) fn recv_ready(&self) -> bool {
        !self.items.is_empty()
            || self.drained.is_some()
            || self.gone
            || (self.outstanding == 0 && !self.unwanting)
    }

    /// The wakers of the tasks that can make progress now, to be woken once
    /// the lock is released.
    pub(crate) fn ready_wakers(&mut self) -> Vec<Waker> {
        let mut wake = Vec::new();
        if self.recv_ready() {
            self.recv_wakers.take_all_into(&mut wake);
        }
        if self.room || self.gone {
            self.send_wakers.take_all_into(&mut wake);
        }
        wake
    }

    /// Every waker, whatever it waits for (a task that can no longer count
    /// on a reading thread polls again).
    pub(crate) fn all_wakers(&mut self) -> Vec<Waker> {
        let mut wake = self.recv_wakers.take_all();
        self.send_wakers.take_all_into(&mut wake);
        wake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_go_back_in_batches() {
        let mut st = MemberState::default();
        assert_eq!(st.take_copied(), None);
        for n in 0..RELEASE_BATCH as u64 - 1 {
            assert_eq!(st.copied_out(vec![n]), None, "ticket {n} went back alone");
        }
        let batch = st.copied_out(vec![100, 101]).expect("a full batch goes back");
        let mut want: Vec<u64> = (0..RELEASE_BATCH as u64 - 1).collect();
        want.extend([100, 101]);
        assert_eq!(batch, want);
        assert_eq!(st.take_copied(), None, "a batch that went back is not kept");
        assert_eq!(st.copied_out(Vec::new()), None);
        assert_eq!(st.copied_out(vec![7]), None);
        assert_eq!(st.take_copied(), Some(vec![7]), "a request takes what is kept");
        assert_eq!(st.take_copied(), None);
    }
}
