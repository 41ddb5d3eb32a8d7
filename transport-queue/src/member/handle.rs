//! [`MemberHandle`]: one handle on a queue in a process other than the
//! creator. The handles of one process share one [`Link`] (one membership);
//! each has a key of its own under which its async tasks wait.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

use transport_core::{Fill, OpenError, RawSendError, Wait};

use super::link::Link;
use crate::{
    error::QueueError,
    outcome::{GetError, PutError},
    sys::{NewMember, Produced},
    wire::{QueueFrame, Role, Welcome},
};

/// Numbers the handles of this process (their async tasks are filed under
/// it).
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

/// A queue handle in a process other than the creator's.
#[derive(Debug)]
pub(crate) struct MemberHandle {
    link: Arc<Link>,
    key: u64,
}

impl Clone for MemberHandle {
    fn clone(&self) -> Self {
        MemberHandle::new(Arc::clone(&self.link))
    }
}

impl MemberHandle {
    fn new(link: Arc<Link>) -> Self {
        MemberHandle {
            link,
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Joins the queue through the hand-off the token `payload` names.
    pub(crate) fn open(payload: &str, role: Role) -> Result<MemberHandle, OpenError> {
        Link::open(payload, role).map(|link| MemberHandle::new(Arc::new(link)))
    }

    pub(crate) fn welcome(&self) -> Welcome {
        self.link.welcome()
    }

    pub(crate) fn produce(&self, fill: &mut Fill<'_>) -> Result<Produced, RawSendError> {
        self.link.produce(fill)
    }

    pub(crate) fn put(&self, item: Produced, wait: Wait) -> Result<(), PutError> {
        self.link.put(item, wait)
    }

    pub(crate) fn get(&self, wait: Wait) -> Result<QueueFrame, GetError> {
        self.link.get(wait)
    }

    pub(crate) fn poll_get(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.link.poll_get(self.key, cx)
    }

    pub(crate) fn poll_put(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.link.poll_put(self.key, cx)
    }

    pub(crate) fn len(&self) -> Result<usize, QueueError> {
        self.link.len()
    }

    pub(crate) fn close(&self) -> Result<(), QueueError> {
        self.link.close()
    }

    pub(crate) fn task_done(&self) -> Result<(), QueueError> {
        self.link.task_done()
    }

    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<(), QueueError> {
        self.link.join(deadline)
    }

    pub(crate) fn adopt(&self, new: NewMember) -> io::Result<()> {
        self.link.adopt(new)
    }
}

impl Drop for MemberHandle {
    fn drop(&mut self) {
        // Its tasks wait no more.
        let mut st = self.link.lock();
        st.recv_wakers.unregister(self.key);
        st.send_wakers.unregister(self.key);
    }
}
