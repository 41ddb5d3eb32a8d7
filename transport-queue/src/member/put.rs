//! A member's puts (code of a process other than the creator): each is
//! acknowledged by the hub before it returns, so a put that returned is in
//! the queue.

use std::{
    io,
    task::{Context, Poll},
    time::Instant,
};

use transport_core::Wait;

use super::{
    inbox::Waited,
    link::{Link, REPLY_BOUND},
};
use crate::{
    outcome::PutError,
    sys::{NewMember, Produced, Written},
    wire::{Bytes, Reply, Up},
};

impl Link {
    pub(crate) fn put(&self, item: Produced, wait: Wait) -> Result<(), PutError> {
        let block = wait != Wait::Never;
        if block {
            match self.take_slot(wait.deadline()) {
                Ok(()) => {}
                Err(Waited::Timeout) => return Err(PutError::NotReady),
                Err(Waited::Gone) => return Err(PutError::Disconnected),
            }
        }
        let done = self.put_in_slot(item, wait, block);
        if block {
            self.free_slot();
        }
        done
    }

    /// Puts `item` and waits for the hub's answer. A shared item's slab is
    /// this process's again unless the put went in (the hub says when the
    /// consumer is done with it).
    fn put_in_slot(&self, item: Produced, wait: Wait, block: bool) -> Result<(), PutError> {
        let (tag, result) = match item {
            Produced::Inline(frame) => (
                None,
                self.put_up(wait, block, |id| Up::Put {
                    id,
                    frame: Bytes(frame),
                    block,
                }),
            ),
            Produced::Shared(written) => {
                let tag = written.slab_tag();
                (
                    Some(tag),
                    self.put_up(wait, block, |id| Up::PutShared {
                        id,
                        segment: written,
                        block,
                    }),
                )
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err((e, answered)) => {
                // Only an answer says the hub gave up the item: a hub that
                // went silent may have handed the slab on.
                if let (Some(tag), true, Some(pool)) = (tag, answered, self.inbox.pool()) {
                    pool.give_back(tag);
                }
                Err(e)
            }
        }
    }

    /// Sends the put `make` builds and waits for the answer; an error says
    /// whether the hub answered.
    fn put_up(
        &self,
        wait: Wait,
        block: bool,
        make: impl FnOnce(u64) -> Up<NewMember, Written>,
    ) -> Result<(), (PutError, bool)> {
        let (id, read, took) = {
            let mut st = self.lock();
            (st.next_id(), st.read, st.took)
        };
        if !self.send_unlocked(read, took, make(id)) {
            return Err((PutError::Disconnected, false));
        }
        let deadline = if block {
            wait.deadline()
        } else {
            Some(Instant::now() + REPLY_BOUND)
        };
        let (st, waited) = self.wait_for(self.lock(), deadline, |m| m.replies.remove(&id));
        drop(st);
        let reply = match waited {
            Ok(reply) => reply,
            Err(Waited::Gone) => return Err((PutError::Disconnected, false)),
            Err(Waited::Timeout) if !block => return Err((PutError::Disconnected, false)),
            Err(Waited::Timeout) => self.withdraw_put(id).map_err(|e| (e, false))?,
        };
        let refused = match reply {
            Reply::PutOk => return Ok(()),
            Reply::PutFull | Reply::PutCancelled => PutError::NotReady,
            Reply::PutClosed => PutError::Closed,
            Reply::PutTooLarge { len, limit } => PutError::TooLarge {
                len: len as usize,
                limit: limit as usize,
            },
            Reply::PutDisconnected => PutError::Disconnected,
            _ => return Err((PutError::Disconnected, false)),
        };
        Err((refused, true))
    }

    /// Withdraws a parked put whose wait ran out; it may have got in
    /// meanwhile. The hub's answer.
    fn withdraw_put(&self, id: u64) -> Result<Reply, PutError> {
        let mut st = self.lock();
        if !self.send(&mut st, Up::CancelPut { id }) {
            return Err(PutError::Disconnected);
        }
        drop(st);
        self.answer(id).map_err(|_| PutError::Disconnected)
    }

    /// Ready once a put would not find the queue full: the hub said there
    /// was room (it answers a watch as soon as there is), or the queue is
    /// gone. An unbounded queue is always ready. The task is filed as
    /// handle `key`'s.
    pub(crate) fn poll_put(&self, key: u64, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.lock();
        if st.gone || self.welcome.capacity.is_none() {
            return Poll::Ready(Ok(()));
        }
        if st.room {
            st.room = false;
            return Poll::Ready(Ok(()));
        }
        if st.watching.is_none() {
            let id = st.next_id();
            if !self.send(&mut st, Up::WatchRoom { id }) {
                return Poll::Ready(Ok(()));
            }
            st.watching = Some(id);
        }
        st.send_wakers.register(key, cx.waker());
        self.inbox
            .ensure_reader(&mut st)
            .map_or_else(|e| Poll::Ready(Err(e)), |()| Poll::Pending)
    }
}
