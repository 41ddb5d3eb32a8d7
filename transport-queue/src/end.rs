//! The raw ends of a queue: [`QueueSender`] and [`QueueReceiver`] (the
//! `Transport` view) and [`QueueEnd`] (under a [`Queue`](crate::Queue)),
//! each a [`Handle`] with a fixed role.

use std::{
    io,
    process::Command,
    task::{Context, Poll},
};

use transport_core::{
    Fill, Handoff, HandoffError, Occupancy, OpenError, PollRecv, PollSend, RawReceiver, RawRecvError,
    RawSendError, RawSender, Wait,
};

use crate::{
    handle::Handle,
    handoff,
    member::handle::MemberHandle,
    wire::{QueueFrame, Role},
};

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
                MemberHandle::open(payload, $role).map(|h| $name::new(Handle::Member(h)))
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
        impl transport_core::MultiProducer for $name {}

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

            fn occupancy(&self) -> Option<Occupancy> {
                self.handle.occupancy()
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
        impl transport_core::MultiConsumer for $name {}

        impl RawReceiver for $name {
            type Frame = QueueFrame;

            fn recv_frame(&self, wait: Wait) -> Result<QueueFrame, RawRecvError> {
                self.handle.recv_frame(wait)
            }

            fn try_clone(&self) -> Option<Self> {
                Some(self.clone())
            }

            fn occupancy(&self) -> Option<Occupancy> {
                self.handle.occupancy()
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
