//! One handle on a queue, wherever it is, and the three raw ends built on
//! it: [`QueueSender`] and [`QueueReceiver`] (the `Transport` view) and
//! [`QueueEnd`] (under a [`Queue`](crate::Queue)).

use std::{
    io,
    process::Command,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use transport_core::{
    Fill, Handoff, HandoffError, OpenError, PollRecv, PollSend, RawReceiver, RawRecvError, RawSendError,
    RawSender, Wait, fill_aligned,
};

use crate::{
    handoff,
    local::LocalHandle,
    op::{GetError, OpError, PutError},
    remote::Remote,
    sys::NewMember,
    wire::{Frame, Role},
};

/// A handle in the creating process or in another one.
#[derive(Debug)]
pub(crate) enum Handle {
    Local(LocalHandle),
    Remote(Arc<Remote>),
}

impl Handle {
    pub(crate) fn put(&self, frame: Frame, wait: Wait) -> Result<(), PutError> {
        match self {
            Handle::Local(h) => h.put(frame, wait),
            Handle::Remote(h) => h.put(frame, wait),
        }
    }

    pub(crate) fn get(&self, wait: Wait) -> Result<Frame, GetError> {
        match self {
            Handle::Local(h) => h.get(wait),
            Handle::Remote(h) => h.get(wait),
        }
    }

    fn poll_get(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Handle::Local(h) => h.poll_get(cx),
            Handle::Remote(h) => h.poll_get(cx),
        }
    }

    fn poll_put(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Handle::Local(h) => h.poll_put(cx),
            Handle::Remote(h) => h.poll_put(cx),
        }
    }

    pub(crate) fn len(&self) -> Result<usize, OpError> {
        match self {
            Handle::Local(h) => Ok(h.len()),
            Handle::Remote(h) => h.len(),
        }
    }

    pub(crate) fn close(&self) -> Result<(), OpError> {
        match self {
            Handle::Local(h) => {
                h.close();
                Ok(())
            }
            Handle::Remote(h) => h.close(),
        }
    }

    pub(crate) fn task_done(&self) -> Result<(), OpError> {
        match self {
            Handle::Local(h) => h.task_done(),
            Handle::Remote(h) => h.task_done(),
        }
    }

    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<(), OpError> {
        match self {
            Handle::Local(h) => h.join(deadline),
            Handle::Remote(h) => h.join(deadline),
        }
    }

    pub(crate) fn max_message_size(&self) -> usize {
        match self {
            Handle::Local(h) => h.shared().config.max_message_size,
            Handle::Remote(h) => usize::try_from(h.welcome().max_message_size).unwrap_or(usize::MAX),
        }
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        match self {
            Handle::Local(h) => h.shared().config.capacity,
            Handle::Remote(h) => h
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
            Handle::Remote(h) => Handle::Remote(Arc::clone(h)),
        }
    }

    pub(crate) fn adopt(&self, new: NewMember) -> std::io::Result<()> {
        match self {
            Handle::Local(h) => h.adopt(new),
            Handle::Remote(h) => h.adopt(new),
        }
    }

    pub(crate) fn ensure_hub(&self) -> std::io::Result<()> {
        match self {
            Handle::Local(h) => h.ensure_hub(),
            Handle::Remote(_) => Ok(()),
        }
    }

    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        let frame = fill_aligned(self.max_message_size(), fill)?;
        self.put(frame, wait).map_err(Into::into)
    }

    fn recv_frame(&self, wait: Wait) -> Result<Frame, RawRecvError> {
        self.get(wait).map_err(Into::into)
    }
}

/// Defines a raw end type over a [`Handle`] with a fixed role.
macro_rules! raw_end {
    ($(#[$doc:meta])* $name:ident, $role:expr, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            pub(crate) handle: Handle,
        }

        impl $name {
            pub(crate) fn new(handle: Handle) -> Self {
                $name { handle }
            }
        }

        impl Clone for $name {
            fn clone(&self) -> Self {
                $name { handle: self.handle.with_role($role) }
            }
        }

        impl Handoff for $name {
            const KIND: &'static str = $kind;

            fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
                handoff::prepare(self.handle, $role, cmd)
            }

            fn open(payload: &str) -> Result<Self, OpenError> {
                Remote::open(payload, $role).map(|r| $name::new(Handle::Remote(Arc::new(r))))
            }
        }
    };
}

raw_end!(
    /// The sending end of a queue, for the `Transport` view: it may only
    /// put, and counts only as a sender.
    ///
    /// Clones share the queue; each may be handed to a child process.
    ///
    /// # Portability
    /// As [`Queue`](crate::Queue).
    QueueSender, Role::Send, "queue.sender"
);

raw_end!(
    /// The receiving end of a queue, for the `Transport` view: it may only
    /// get, and counts only as a receiver. In a process other than the
    /// creator it prefetches up to
    /// [`DEFAULT_RECEIVER_PREFETCH`](crate::DEFAULT_RECEIVER_PREFETCH) items
    /// (see [`Builder::receiver_prefetch`](crate::Builder::receiver_prefetch)).
    ///
    /// # Portability
    /// As [`Queue`](crate::Queue).
    QueueReceiver, Role::Recv, "queue.receiver"
);

raw_end!(
    /// The raw end under a [`Queue`](crate::Queue): it may put and get, and
    /// counts as both a sender and a receiver.
    ///
    /// # Portability
    /// As [`Queue`](crate::Queue).
    QueueEnd, Role::Both, "queue.end"
);

macro_rules! raw_sender {
    ($name:ident) => {
        impl RawSender for $name {
            fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
                self.handle.send_frame(wait, fill)
            }

            fn max_message_size(&self) -> usize {
                self.handle.max_message_size()
            }

            fn try_clone(&self) -> Option<Self> {
                Some(self.clone())
            }
        }

        impl PollSend for $name {
            fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.handle.poll_put(cx)
            }
        }
    };
}

macro_rules! raw_receiver {
    ($name:ident) => {
        impl RawReceiver for $name {
            type Frame = Frame;

            fn recv_frame(&self, wait: Wait) -> Result<Frame, RawRecvError> {
                self.handle.recv_frame(wait)
            }

            fn try_clone(&self) -> Option<Self> {
                Some(self.clone())
            }
        }

        impl PollRecv for $name {
            fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.handle.poll_get(cx)
            }
        }
    };
}

raw_sender!(QueueSender);
raw_sender!(QueueEnd);
raw_receiver!(QueueReceiver);
raw_receiver!(QueueEnd);
