//! [`Handle`]: one handle on a queue, wherever it is: in the creating
//! process (the hub's [`LocalHandle`]) or in another one (a member's
//! [`MemberHandle`]). The raw ends ([`crate::end`]) are built on it.

use std::{
    io,
    task::{Context, Poll},
    time::Instant,
};

use transport_core::{Fill, RawRecvError, RawSendError, Wait};

use crate::{
    error::QueueError,
    hub::local::LocalHandle,
    member::handle::MemberHandle,
    outcome::{GetError, PutError},
    sys::{NewMember, Produced},
    wire::{QueueFrame, Role},
};

/// A handle in the creating process or in another one.
#[derive(Debug)]
pub(crate) enum Handle {
    Local(LocalHandle),
    Member(MemberHandle),
}

impl Handle {
    pub(crate) fn put(&self, item: Produced, wait: Wait) -> Result<(), PutError> {
        match self {
            Handle::Local(h) => h.put(item, wait),
            Handle::Member(h) => h.put(item, wait),
        }
    }

    /// Has `fill` write an item where this handle's puts send it from.
    fn produce(&self, fill: &mut Fill<'_>) -> Result<Produced, RawSendError> {
        match self {
            Handle::Local(h) => h.produce(fill),
            Handle::Member(h) => h.produce(fill),
        }
    }

    pub(crate) fn get(&self, wait: Wait) -> Result<QueueFrame, GetError> {
        match self {
            Handle::Local(h) => h.get(wait),
            Handle::Member(h) => h.get(wait),
        }
    }

    pub(crate) fn poll_get(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Handle::Local(h) => h.poll_get(cx),
            Handle::Member(h) => h.poll_get(cx),
        }
    }

    pub(crate) fn poll_put(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Handle::Local(h) => h.poll_put(cx),
            Handle::Member(h) => h.poll_put(cx),
        }
    }

    pub(crate) fn len(&self) -> Result<usize, QueueError> {
        match self {
            Handle::Local(h) => Ok(h.len()),
            Handle::Member(h) => h.len(),
        }
    }

    pub(crate) fn close(&self) -> Result<(), QueueError> {
        match self {
            Handle::Local(h) => {
                h.close();
                Ok(())
            }
            Handle::Member(h) => h.close(),
        }
    }

    pub(crate) fn task_done(&self) -> Result<(), QueueError> {
        match self {
            Handle::Local(h) => h.task_done(),
            Handle::Member(h) => h.task_done(),
        }
    }

    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<(), QueueError> {
        match self {
            Handle::Local(h) => h.join(deadline),
            Handle::Member(h) => h.join(deadline),
        }
    }

    pub(crate) fn max_message_size(&self) -> usize {
        match self {
            Handle::Local(h) => h.config().max_message_size,
            Handle::Member(h) => usize::try_from(h.welcome().max_message_size).unwrap_or(usize::MAX),
        }
    }

    /// The items in the queue and its bound, for the raw ends'
    /// `occupancy`; `None` when a member cannot reach the creating process.
    pub(crate) fn occupancy(&self) -> Option<transport_core::Occupancy> {
        let len = self.len().ok()?;
        Some(transport_core::Occupancy::new(len, self.capacity()))
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        match self {
            Handle::Local(h) => h.config().capacity,
            Handle::Member(h) => h
                .welcome()
                .capacity
                .map(|c| usize::try_from(c).unwrap_or(usize::MAX)),
        }
    }

    /// Another handle on the same queue that may do what `role` allows. In
    /// another process, handles of one process share one membership.
    pub(crate) fn with_role(&self, role: Role) -> Handle {
        match self {
            Handle::Local(h) => Handle::Local(h.with_role(role)),
            Handle::Member(h) => Handle::Member(h.clone()),
        }
    }

    /// Makes the member a child opened (through this handle's hand-off)
    /// part of the queue.
    pub(crate) fn adopt(&self, new: NewMember) -> io::Result<()> {
        match self {
            Handle::Local(h) => h.adopt(new),
            Handle::Member(h) => h.adopt(new),
        }
    }

    /// Starts the hub thread in the creating process, which hand-offs need.
    pub(crate) fn ensure_hub(&self) -> io::Result<()> {
        match self {
            Handle::Local(h) => h.ensure_hub(),
            Handle::Member(_) => Ok(()),
        }
    }

    pub(crate) fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        let item = self.produce(fill)?;
        self.put(item, wait).map_err(Into::into)
    }

    pub(crate) fn recv_frame(&self, wait: Wait) -> Result<QueueFrame, RawRecvError> {
        self.get(wait).map_err(Into::into)
    }
}
