//! [`LocalHandle`]: handles in the process that created the queue. They
//! work on the hub's state directly, with no message in between.

use std::{
    io,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use transport_core::Wait;

use transport_core::{Fill, RawSendError, sync::LockExt};

use super::{
    locked::LockedState,
    serve,
    shared::Hub,
    state::{Queued, Shared},
};
use crate::{
    config::Config,
    error::QueueError,
    outcome::{GetError, PutError},
    sys::{NewMember, Produced},
    wire::{Bytes, Item, QueueFrame, Role},
};

/// A handle in the creating process. It counts as a sender and/or receiver
/// for as long as it lives.
#[derive(Debug)]
pub(crate) struct LocalHandle {
    hub: Arc<Hub>,
    role: Role,
    /// This handle's id, under which its async wakers are filed.
    id: u64,
}

impl LocalHandle {
    pub(crate) fn new(hub: Arc<Hub>, role: Role) -> Self {
        let mut st = hub.lock();
        if role.sends() {
            st.local_send += 1;
        }
        if role.receives() {
            st.local_recv += 1;
        }
        let id = st.new_end();
        drop(st);
        LocalHandle { hub, role, id }
    }

    /// A handle on the same queue with another role.
    pub(crate) fn with_role(&self, role: Role) -> Self {
        LocalHandle::new(Arc::clone(&self.hub), role)
    }

    /// The queue's settings.
    pub(crate) fn config(&self) -> &Config {
        &self.hub.config
    }

    /// Has `fill` write an item (see [`Hub::produce`]).
    pub(crate) fn produce(&self, fill: &mut Fill<'_>) -> Result<Produced, RawSendError> {
        self.hub.produce(fill)
    }

    // Shared items are unreachable where slabs do not exist (their types
    // have no values).
    #[allow(unreachable_code)]
    pub(crate) fn put(&self, item: Produced, wait: Wait) -> Result<(), PutError> {
        let item: Queued = match item {
            Produced::Inline(frame) => Item::Inline(Bytes(frame)),
            Produced::Shared(written) => Item::Shared(Shared::own(written)),
        };
        let hub = &*self.hub;
        let mut st = hub.lock();
        loop {
            let refused = match st.put_refusal() {
                Some(why) => why,
                None if st.has_room() => {
                    st.accept(item);
                    st.settle(&hub.signals);
                    return Ok(());
                }
                None => match self.wait_for_members(st, &hub.signals.writable, wait) {
                    Some(locked) => {
                        st = locked;
                        continue;
                    }
                    None => {
                        st = hub.lock();
                        PutError::NotReady
                    }
                },
            };
            // The item never went in: its slab is free again.
            st.discard(item);
            return Err(refused);
        }
    }

    /// Waits on `cv` for something members may bring (room, joins): the
    /// hub thread must be reading their channels meanwhile.
    fn wait_for_members<'a>(
        &'a self,
        mut st: LockedState<'a>,
        cv: &std::sync::Condvar,
        wait: Wait,
    ) -> Option<LockedState<'a>> {
        st.local_waiting += 1;
        if st.reading.end_grace() {
            self.hub.signals.hub.notify_all();
        }
        match self.hub.wait(st, cv, wait) {
            Some(mut st) => {
                st.local_waiting -= 1;
                Some(st)
            }
            None => {
                self.hub.lock().local_waiting -= 1;
                None
            }
        }
    }

    pub(crate) fn get(&self, wait: Wait) -> Result<QueueFrame, GetError> {
        let hub = &*self.hub;
        let mut st = hub.lock();
        loop {
            if let Some(item) = st.items.pop_front() {
                st.settle(&hub.signals);
                if st.reading.running() && !st.others_wait() {
                    // Keep the members' channels free for this thread's
                    // next get a while.
                    st.reading.get_returned();
                }
                return match item {
                    Item::Inline(frame) => Ok(frame.0),
                    Item::Shared(shared) => {
                        drop(st);
                        Ok(self.copy_out(shared))
                    }
                };
            }
            if st.drained() {
                return Err(st.drained_error());
            }
            if wait.expired() {
                return Err(GetError::NotReady);
            }
            if st.reading.free() && st.has_members() {
                // Wait on the members' channels directly.
                st = serve::wait_on_members(hub, st, wait);
                continue;
            }
            st.local_getters += 1;
            st.sleeping_getters += 1;
            let woke = hub.wait(st, &hub.signals.readable, wait);
            st = match woke {
                Some(mut st) => {
                    st.local_getters -= 1;
                    st.sleeping_getters -= 1;
                    st
                }
                None => {
                    let mut st = hub.lock();
                    st.local_getters -= 1;
                    st.sleeping_getters -= 1;
                    return Err(GetError::NotReady);
                }
            };
        }
    }

    /// Copies a shared item out of its slab (with the state unlocked), and
    /// frees the slab. A member's slab that cannot be read (it was not what
    /// the hub checked it to be) gives an empty item, which fails
    /// validation.
    fn copy_out(&self, shared: Shared) -> QueueFrame {
        let limit = self.hub.config.max_message_size;
        let frame = shared
            .segment
            .copy_out(&mut self.hub.reader.lock_unpoisoned(), limit)
            .unwrap_or_default();
        let tag = shared.segment.tag();
        #[allow(
            clippy::drop_non_drop,
            reason = "unmapped here on Unix, before its slab goes back; a token on Windows"
        )]
        drop(shared.segment);
        self.hub.lock().release_slab(shared.from, tag);
        frame
    }

    pub(crate) fn len(&self) -> usize {
        self.hub.lock().items.len()
    }

    pub(crate) fn close(&self) {
        let mut st = self.hub.lock();
        st.closed = true;
        st.settle(&self.hub.signals);
    }

    pub(crate) fn task_done(&self) -> Result<(), QueueError> {
        let mut st = self.hub.lock();
        if st.unfinished == 0 {
            return Err(QueueError::TooManyTaskDone);
        }
        st.unfinished -= 1;
        st.settle(&self.hub.signals);
        Ok(())
    }

    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<(), QueueError> {
        let wait = deadline.map_or(Wait::Forever, Wait::Until);
        let mut st = self.hub.lock();
        while st.unfinished > 0 {
            st = self
                .wait_for_members(st, &self.hub.signals.joined, wait)
                .ok_or(QueueError::Timeout)?;
        }
        Ok(())
    }

    /// Ready once a get would not find the queue empty: an item is there,
    /// or the queue drained for good.
    pub(crate) fn poll_get(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.hub.lock();
        if !st.items.is_empty() || st.drained() {
            return Poll::Ready(Ok(()));
        }
        st.recv_wakers.register(self.id, cx.waker());
        if st.reading.end_grace() {
            self.hub.signals.hub.notify_all();
        }
        Poll::Pending
    }

    /// Ready once a put would not find the queue full: there is room, or
    /// puts fail for good.
    pub(crate) fn poll_put(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.hub.lock();
        if st.has_room() || st.refuses_puts() {
            return Poll::Ready(Ok(()));
        }
        st.send_wakers.register(self.id, cx.waker());
        if st.reading.end_grace() {
            self.hub.signals.hub.notify_all();
        }
        Poll::Pending
    }

    /// Makes the member a child opened (through this handle's hand-off)
    /// part of the queue.
    pub(crate) fn adopt(&self, new: NewMember) -> io::Result<()> {
        serve::adopt(&self.hub, new)
    }

    /// Starts the hub thread, which hand-offs need.
    pub(crate) fn ensure_hub(&self) -> io::Result<()> {
        serve::ensure_started(&self.hub)
    }
}

impl Clone for LocalHandle {
    fn clone(&self) -> Self {
        self.with_role(self.role)
    }
}

impl Drop for LocalHandle {
    fn drop(&mut self) {
        let mut st = self.hub.lock();
        if self.role.sends() {
            st.local_send -= 1;
        }
        if self.role.receives() {
            st.local_recv -= 1;
        }
        st.recv_wakers.unregister(self.id);
        st.send_wakers.unregister(self.id);
        st.settle(&self.hub.signals);
        let abandoned = st.abandoned();
        drop(st);
        if abandoned {
            serve::wake(&self.hub);
        }
    }
}
