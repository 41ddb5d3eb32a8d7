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
    wire::{Bytes, QueueFrame, Reply, Up},
};

impl Link {
    pub(crate) fn put(&self, frame: QueueFrame, wait: Wait) -> Result<(), PutError> {
        let block = wait != Wait::Never;
        if block {
            match self.take_slot(wait.deadline()) {
                Ok(()) => {}
                Err(Waited::Timeout) => return Err(PutError::NotReady),
                Err(Waited::Gone) => return Err(PutError::Disconnected),
            }
        }
        let done = self.put_in_slot(frame, wait, block);
        if block {
            self.free_slot();
        }
        done
    }

    fn put_in_slot(&self, frame: QueueFrame, wait: Wait, block: bool) -> Result<(), PutError> {
        let (id, read, took) = {
            let mut st = self.lock();
            (st.next_id(), st.read, st.took)
        };
        let up = Up::Put {
            id,
            frame: Bytes(frame),
            block,
        };
        if !self.send_unlocked(read, took, up) {
            return Err(PutError::Disconnected);
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
            Err(Waited::Gone) => return Err(PutError::Disconnected),
            Err(Waited::Timeout) if !block => return Err(PutError::Disconnected),
            Err(Waited::Timeout) => self.withdraw_put(id)?,
        };
        match reply {
            Reply::PutOk => Ok(()),
            Reply::PutFull | Reply::PutCancelled => Err(PutError::NotReady),
            Reply::PutClosed => Err(PutError::Closed),
            Reply::PutTooLarge { len, limit } => Err(PutError::TooLarge {
                len: len as usize,
                limit: limit as usize,
            }),
            _ => Err(PutError::Disconnected),
        }
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
