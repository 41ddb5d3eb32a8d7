//! [`Link`]: a member's connection to the hub, shared by every handle of
//! the queue in this process (code of a process other than the creator):
//! its [`Inbox`] (its state and channels) and what it learnt when it
//! joined. The
//! requests that are not puts or gets are here; [`super::join`],
//! [`super::put`] and [`super::get`] hold the rest.

use std::{
    io,
    sync::{Arc, MutexGuard},
    time::{Duration, Instant},
};

use transport_core::{Fill, RawSendError, fill_aligned};

use super::{
    inbox::{Inbox, Waited},
    state::MemberState,
};
use crate::{
    error::QueueError,
    sys::{NewMember, Produced, Written},
    wire::{Bytes, RETURN_BYTES, Reply, Up, Welcome},
};

/// How long the hub may take to answer a request before it counts as gone.
/// It answers at once unless its process is stopped or overloaded.
pub(crate) const REPLY_BOUND: Duration = Duration::from_secs(60);

/// How long past the caller's own deadline a member waits for the hub to
/// answer the withdrawal of a put or a join that ran out of time.
pub(crate) const REPLY_GRACE: Duration = Duration::from_secs(1);

/// A member's requests that wait at the hub at once, at most (the hub's
/// limit, see [`crate::hub::membership`]).
const MAX_PENDING: usize = 32;

/// A queue handle's connection to the hub, in a process other than the
/// creator's.
#[derive(Debug)]
pub(crate) struct Link {
    pub(super) inbox: Arc<Inbox>,
    pub(super) welcome: Welcome,
}

impl Link {
    pub(super) fn new(inbox: Arc<Inbox>, welcome: Welcome) -> Self {
        Link { inbox, welcome }
    }

    /// The largest item the queue takes.
    pub(crate) fn limit(&self) -> usize {
        usize::try_from(self.welcome.max_message_size).unwrap_or(usize::MAX)
    }

    /// Has `fill` write an item: into one of this process's slabs where it
    /// has them (it stays there if it is large), into bytes of its own
    /// otherwise.
    pub(crate) fn produce(&self, fill: &mut Fill<'_>) -> Result<Produced, RawSendError> {
        match self.inbox.pool() {
            Some(pool) => pool.produce(self.limit(), fill),
            None => fill_aligned(self.limit(), fill).map(Produced::Inline),
        }
    }

    pub(crate) fn welcome(&self) -> Welcome {
        self.welcome
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, MemberState> {
        self.inbox.lock()
    }

    /// Sends to the hub; false (and the member marked gone) if it is gone.
    pub(super) fn send(&self, st: &mut MemberState, up: Up<NewMember, Written>) -> bool {
        self.inbox.send(st, up)
    }

    /// Sends to the hub without holding the member's lock (for items,
    /// which may be large).
    pub(super) fn send_unlocked(&self, read: u64, took: u64, up: Up<NewMember, Written>) -> bool {
        self.inbox.send_unlocked(read, took, up)
    }

    pub(super) fn wait_for<'a, R>(
        &'a self,
        st: MutexGuard<'a, MemberState>,
        deadline: Option<Instant>,
        ready: impl FnMut(&mut MemberState) -> Option<R>,
    ) -> (MutexGuard<'a, MemberState>, Result<R, Waited>) {
        self.inbox.wait_for(st, deadline, ready)
    }

    /// Sends a request and waits for its answer until `deadline`.
    fn request(
        &self,
        make: impl FnOnce(u64) -> Up<NewMember, Written>,
        deadline: Option<Instant>,
    ) -> Result<(u64, Reply), Waited> {
        let mut st = self.lock();
        let id = st.next_id();
        if !self.send(&mut st, make(id)) {
            return Err(Waited::Gone);
        }
        let (_st, reply) = self.wait_for(st, deadline, |m| m.replies.remove(&id));
        reply.map(|r| (id, r))
    }

    /// Waits at most [`REPLY_GRACE`] for the answer to the withdrawal of
    /// request `id`, whose caller's time ran out.
    pub(super) fn answer(&self, id: u64) -> Result<Reply, Waited> {
        let st = self.lock();
        self.wait_for(st, Some(Instant::now() + REPLY_GRACE), |m| m.replies.remove(&id))
            .1
    }

    /// Takes a slot for a request that may wait at the hub, waiting (as
    /// `deadline` allows) while this process has the most there already.
    pub(super) fn take_slot(&self, deadline: Option<Instant>) -> Result<(), Waited> {
        let st = self.lock();
        let (mut st, got) = self.wait_for(st, deadline, |m| (m.pending < MAX_PENDING).then_some(()));
        got?;
        st.pending += 1;
        Ok(())
    }

    pub(super) fn free_slot(&self) {
        let mut st = self.lock();
        st.pending -= 1;
        self.inbox.notify(&st);
    }

    fn gone_or_late(w: Waited) -> QueueError {
        match w {
            Waited::Gone => QueueError::Disconnected,
            Waited::Timeout => QueueError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the queue did not answer within {REPLY_BOUND:?}"),
            )),
        }
    }

    pub(crate) fn len(&self) -> Result<usize, QueueError> {
        match self.request(|id| Up::Len { id }, Some(Instant::now() + REPLY_BOUND)) {
            Ok((_, Reply::Len(n))) => Ok(n as usize),
            Ok(_) => Err(QueueError::Disconnected),
            Err(w) => Err(Self::gone_or_late(w)),
        }
    }

    pub(crate) fn close(&self) -> Result<(), QueueError> {
        match self.request(|id| Up::Close { id }, Some(Instant::now() + REPLY_BOUND)) {
            Ok(_) => Ok(()),
            Err(w) => Err(Self::gone_or_late(w)),
        }
    }

    pub(crate) fn task_done(&self) -> Result<(), QueueError> {
        match self.request(|id| Up::TaskDone { id }, Some(Instant::now() + REPLY_BOUND)) {
            Ok((_, Reply::Done(true))) => Ok(()),
            Ok((_, Reply::Done(false))) => Err(QueueError::TooManyTaskDone),
            Ok(_) => Err(QueueError::Disconnected),
            Err(w) => Err(Self::gone_or_late(w)),
        }
    }

    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<(), QueueError> {
        match self.take_slot(deadline) {
            Ok(()) => {}
            Err(Waited::Timeout) => return Err(QueueError::Timeout),
            Err(Waited::Gone) => return Err(QueueError::Disconnected),
        }
        let joined = self.join_in_slot(deadline);
        self.free_slot();
        joined
    }

    fn join_in_slot(&self, deadline: Option<Instant>) -> Result<(), QueueError> {
        let mut st = self.lock();
        let id = st.next_id();
        if !self.send(&mut st, Up::Join { id }) {
            return Err(QueueError::Disconnected);
        }
        let (mut st, waited) = self.wait_for(st, deadline, |m| m.replies.remove(&id));
        match waited {
            Ok(_) => Ok(()),
            Err(Waited::Gone) => Err(QueueError::Disconnected),
            Err(Waited::Timeout) => {
                // Withdraw the join; the hub answers `Joined` if every item
                // was done meanwhile, `JoinCancelled` otherwise.
                if !self.send(&mut st, Up::CancelJoin { id }) {
                    return Err(QueueError::Disconnected);
                }
                drop(st);
                match self.answer(id) {
                    Ok(Reply::Joined) => Ok(()),
                    Ok(_) => Err(QueueError::Timeout),
                    Err(w) => Err(Self::gone_or_late(w)),
                }
            }
        }
    }

    /// Adds a child of this process, which opened a hand-off of this
    /// member's queue, as a member of its own.
    pub(crate) fn adopt(&self, new: NewMember) -> io::Result<()> {
        let (read, took) = {
            let st = self.lock();
            (st.read, st.took)
        };
        if self.send_unlocked(read, took, Up::Adopt(new)) {
            Ok(())
        } else {
            Err(io::Error::other("the queue is gone"))
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Give back what was prefetched and not taken, so nothing is lost
        // when a receiver leaves: first stop further deliveries, then hand
        // back everything that arrived before the hub saw that.
        let mut st = self.lock();
        if st.gone {
            return;
        }
        if st.outstanding > 0 || st.unwanting {
            if !st.unwanting && !self.send(&mut st, Up::Unwant) {
                return;
            }
            st.unwanting = true;
            let (guard, _) = self.wait_for(st, Some(Instant::now() + REPLY_BOUND), |m| {
                (!m.unwanting).then_some(())
            });
            st = guard;
        }
        // In messages of at most `RETURN_BYTES` of items (or one item).
        while !st.items.is_empty() {
            let mut frames = Vec::new();
            let mut bytes = 0;
            while let Some(next) = st.items.front() {
                let cost = next.len() + 16;
                if !frames.is_empty() && bytes + cost > RETURN_BYTES {
                    break;
                }
                bytes += cost;
                frames.extend(st.items.pop_front().map(Bytes));
            }
            if !self.send(&mut st, Up::Return { frames }) {
                return;
            }
        }
    }
}
