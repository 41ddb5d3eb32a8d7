//! A member's gets (code of a process other than the creator): items the
//! hub sent ahead (a receiver's prefetch) are taken from the inbox; a get
//! that finds none asks the hub, and a handle that takes one item per get
//! withdraws its request if its wait runs out.

use std::{
    io,
    task::{Context, Poll},
    time::Instant,
};

use transport_core::Wait;

use super::{
    inbox::Waited,
    link::{Link, REPLY_BOUND},
    state::MemberState,
};
use crate::{outcome::GetError, wire::QueueFrame, wire::Up};

/// A prefetching member asks for more items once it has taken this many
/// since it last asked (or half its prefetch, if that is fewer).
pub(crate) const TOP_UP_STEP: u32 = 64;

/// ... or once its gets took this many bytes since it last asked: with
/// large items a small prefetch window (a bounded queue's capacity) would
/// otherwise learn of freed room only in bursts, and a producer wait for
/// it.
pub(crate) const TOP_UP_BYTES: usize = 256 << 10;

impl Link {
    /// Asks for more items when a prefetching member has taken
    /// [`TOP_UP_STEP`] items (or half its prefetch), or [`TOP_UP_BYTES`],
    /// since it last asked. Asking often keeps the hub's count of what the
    /// member has read recent, so the hub can send items at once rather
    /// than through its writer thread, and of what its gets took, so a
    /// bounded queue's room shows up soon.
    fn top_up(&self, st: &mut MemberState) {
        let prefetch = self.welcome.prefetch;
        if prefetch > 1 && !st.unwanting {
            let have = st.items.len() as u32 + st.outstanding;
            let by_count = have <= prefetch - (prefetch / 2).min(TOP_UP_STEP);
            let by_bytes = st.took_bytes >= TOP_UP_BYTES && have < prefetch;
            if by_count || by_bytes {
                let n = prefetch - have;
                if self.send(st, Up::Want { n }) {
                    st.outstanding += n;
                    st.took_bytes = 0;
                }
            }
        }
    }

    pub(crate) fn get(&self, wait: Wait) -> Result<QueueFrame, GetError> {
        let prefetch = self.welcome.prefetch.max(1);
        let mut st = self.lock();
        loop {
            if let Some(frame) = st.items.pop_front() {
                st.took += 1;
                st.took_bytes += frame.len();
                self.top_up(&mut st);
                return Ok(frame);
            }
            if st.gone {
                return Err(GetError::Disconnected);
            }
            if let Some(closed) = st.drained.take() {
                // One "drained" answers one want; the next get asks again,
                // in case items came back from a member that left.
                return Err(if closed {
                    GetError::Closed
                } else {
                    GetError::Disconnected
                });
            }
            if st.outstanding == 0 && !st.unwanting {
                if !self.send(&mut st, Up::Want { n: prefetch }) {
                    return Err(GetError::Disconnected);
                }
                st.outstanding = prefetch;
            }
            let (guard, waited) = self.wait_for(st, wait.deadline(), |m| {
                (!m.items.is_empty() || m.drained.is_some() || (m.outstanding == 0 && !m.unwanting))
                    .then_some(())
            });
            st = guard;
            match waited {
                Ok(()) => continue,
                Err(Waited::Gone) => return Err(GetError::Disconnected),
                Err(Waited::Timeout) => {}
            }
            if prefetch > 1 || st.outstanding == 0 || (st.async_claim && wait == Wait::Never) {
                return Err(GetError::NotReady);
            }
            return self.withdraw_want(st);
        }
    }

    /// A handle that asks for one item only while a get waits withdraws its
    /// request once the wait ran out. An item the hub sent before it saw
    /// the withdrawal is taken after all.
    fn withdraw_want(&self, mut st: std::sync::MutexGuard<'_, MemberState>) -> Result<QueueFrame, GetError> {
        if !self.send(&mut st, Up::Unwant) {
            return Err(GetError::Disconnected);
        }
        st.unwanting = true;
        let (mut st, waited) = self.wait_for(st, Some(Instant::now() + REPLY_BOUND), |m| {
            (!m.items.is_empty() || !m.unwanting).then_some(())
        });
        if let Some(frame) = st.items.pop_front() {
            st.took += 1;
            return Ok(frame);
        }
        match waited {
            Ok(()) => Err(GetError::NotReady),
            Err(_) => Err(GetError::Disconnected),
        }
    }

    /// Ready once a get would not wait: an item is here, or the queue
    /// drained or is gone. Until then the member asks for items as a get
    /// would, and keeps asking: its non-blocking gets no longer withdraw
    /// the request (a task's future may be dropped and polled again). The
    /// task is filed as handle `key`'s.
    pub(crate) fn poll_get(&self, key: u64, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let prefetch = self.welcome.prefetch.max(1);
        let mut st = self.lock();
        st.async_claim = true;
        let idle = st.items.is_empty() && st.drained.is_none() && !st.gone;
        if st.outstanding == 0 && !st.unwanting && idle {
            if !self.send(&mut st, Up::Want { n: prefetch }) {
                return Poll::Ready(Ok(()));
            }
            st.outstanding = prefetch;
        }
        if !st.items.is_empty() || st.drained.is_some() || st.gone {
            return Poll::Ready(Ok(()));
        }
        st.recv_wakers.register(key, cx.waker());
        self.inbox
            .ensure_reader(&mut st)
            .map_or_else(|e| Poll::Ready(Err(e)), |()| Poll::Pending)
    }
}
