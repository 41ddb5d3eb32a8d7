//! Handles in the process that created the queue: they work on the hub's
//! state directly, with no message in between.

use std::{
    io,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use transport_core::Wait;

use crate::{
    hub::{Locked, Shared},
    op::{GetError, OpError, PutError},
    sys::NewMember,
    wire::{Frame, Role},
};

/// A handle in the creating process. It counts as a sender and/or receiver
/// for as long as it lives.
#[derive(Debug)]
pub(crate) struct LocalHandle {
    shared: Arc<Shared>,
    role: Role,
    /// This handle's id, under which its async wakers are filed.
    id: u64,
}

impl LocalHandle {
    pub(crate) fn new(shared: Arc<Shared>, role: Role) -> Self {
        let mut st = shared.lock();
        if role.sends() {
            st.local_send += 1;
        }
        if role.receives() {
            st.local_recv += 1;
        }
        let id = st.new_end();
        drop(st);
        LocalHandle { shared, role, id }
    }

    /// A handle on the same queue with another role.
    pub(crate) fn with_role(&self, role: Role) -> Self {
        LocalHandle::new(Arc::clone(&self.shared), role)
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn put(&self, frame: Frame, wait: Wait) -> Result<(), PutError> {
        let shared = &*self.shared;
        let mut st = shared.lock();
        loop {
            if st.refuses_puts() {
                return Err(PutError::Disconnected);
            }
            if st.has_room() {
                st.accept(frame);
                st.settle(&shared.signals);
                return Ok(());
            }
            st = self
                .wait_for_members(st, &shared.signals.writable, wait)
                .ok_or(PutError::NotReady)?;
        }
    }

    /// Waits on `cv` for something members may bring (room, joins): the
    /// hub thread must be reading their channels meanwhile.
    fn wait_for_members<'a>(
        &'a self,
        mut st: Locked<'a>,
        cv: &std::sync::Condvar,
        wait: Wait,
    ) -> Option<Locked<'a>> {
        st.local_waiting += 1;
        if st.lead.end_grace() {
            self.shared.signals.hub.notify_all();
        }
        match st.wait(cv, wait) {
            Some(mut st) => {
                st.local_waiting -= 1;
                Some(st)
            }
            None => {
                self.shared.lock().local_waiting -= 1;
                None
            }
        }
    }

    pub(crate) fn get(&self, wait: Wait) -> Result<Frame, GetError> {
        let shared = &*self.shared;
        let mut st = shared.lock();
        loop {
            if let Some(frame) = st.items.pop_front() {
                st.settle(&shared.signals);
                if st.lead.running() && !st.others_wait() {
                    // Keep the members' channels free for this thread's
                    // next get a while.
                    st.lead.get_returned();
                }
                return Ok(frame);
            }
            if st.drained() {
                return Err(GetError::Disconnected);
            }
            if wait.expired() {
                return Err(GetError::NotReady);
            }
            if st.lead.free() && st.has_members() {
                // Wait on the members' channels directly.
                st = shared.lead(st, wait);
                continue;
            }
            st.local_getters += 1;
            st.sleeping_getters += 1;
            let woke = st.wait(&shared.signals.readable, wait);
            st = match woke {
                Some(mut st) => {
                    st.local_getters -= 1;
                    st.sleeping_getters -= 1;
                    st
                }
                None => {
                    let mut st = shared.lock();
                    st.local_getters -= 1;
                    st.sleeping_getters -= 1;
                    return Err(GetError::NotReady);
                }
            };
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shared.lock().items.len()
    }

    pub(crate) fn close(&self) {
        let mut st = self.shared.lock();
        st.closed = true;
        st.settle(&self.shared.signals);
    }

    pub(crate) fn task_done(&self) -> Result<(), OpError> {
        let mut st = self.shared.lock();
        if st.unfinished == 0 {
            return Err(OpError::TooManyTaskDone);
        }
        st.unfinished -= 1;
        st.settle(&self.shared.signals);
        Ok(())
    }

    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<(), OpError> {
        let wait = deadline.map_or(Wait::Forever, Wait::Until);
        let mut st = self.shared.lock();
        while st.unfinished > 0 {
            st = self
                .wait_for_members(st, &self.shared.signals.joined, wait)
                .ok_or(OpError::Timeout)?;
        }
        Ok(())
    }

    /// Ready once a get would not find the queue empty: an item is there,
    /// or the queue drained for good.
    pub(crate) fn poll_get(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.shared.lock();
        if !st.items.is_empty() || st.drained() {
            return Poll::Ready(Ok(()));
        }
        st.recv_wakers.register(self.id, cx.waker());
        if st.lead.end_grace() {
            self.shared.signals.hub.notify_all();
        }
        Poll::Pending
    }

    /// Ready once a put would not find the queue full: there is room, or
    /// puts fail for good.
    pub(crate) fn poll_put(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.shared.lock();
        if st.has_room() || st.refuses_puts() {
            return Poll::Ready(Ok(()));
        }
        st.send_wakers.register(self.id, cx.waker());
        if st.lead.end_grace() {
            self.shared.signals.hub.notify_all();
        }
        Poll::Pending
    }

    /// Makes the member a child opened (through this handle's hand-off)
    /// part of the queue.
    pub(crate) fn adopt(&self, new: NewMember) -> std::io::Result<()> {
        self.shared.adopt(new)
    }

    /// Starts the hub thread, which hand-offs need.
    pub(crate) fn ensure_hub(&self) -> std::io::Result<()> {
        self.shared.ensure_hub()
    }
}

impl Clone for LocalHandle {
    fn clone(&self) -> Self {
        self.with_role(self.role)
    }
}

impl Drop for LocalHandle {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if self.role.sends() {
            st.local_send -= 1;
        }
        if self.role.receives() {
            st.local_recv -= 1;
        }
        st.recv_wakers.remove(self.id);
        st.send_wakers.remove(self.id);
        st.settle(&self.shared.signals);
        let abandoned = st.abandoned();
        drop(st);
        if abandoned {
            self.shared.wake_hub();
        }
    }
}
