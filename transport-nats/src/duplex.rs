//! [`NatsEnd`]: one end of a two-way connection, a sender on one channel
//! and a receiver on the other.
//!
//! The issue of a `Pipe` over NATS is flow control: core NATS drops what a
//! slow subscriber cannot take. Each direction is a channel of its own with
//! the delivery mode's flow control (at most once: the receiver's credit
//! bounds what the sender has in flight), so two ends that both send
//! without reading block on credit instead of losing messages; and since
//! each end's receiver keeps reading its client's buffer while it waits,
//! neither blocks the other's credit reports. Request/reply (NATS's own
//! `request`) would give one answer per request and no stream either way;
//! a pipe carries both.

use std::{
    borrow::Cow,
    fmt,
    process::Command,
    task::{Context, Poll},
};

use transport_core::{
    Handoff, HandoffError, OpenError,
    backend::{Fill, PollRecv, PollSend, RawReceiver, RawRecvError, RawSendError, RawSender, Wait},
};

use crate::{
    end::{NatsReceiver, NatsSender},
    frame::NatsFrame,
};

/// The separator of the two tokens in a two-way end's token.
const SEPARATOR: &str = " ;; ";

/// One end of a two-way NATS connection.
pub struct NatsEnd {
    tx: NatsSender,
    rx: NatsReceiver,
}

impl NatsEnd {
    pub(crate) fn new(tx: NatsSender, rx: NatsReceiver) -> Self {
        NatsEnd { tx, rx }
    }

    /// The sending half.
    pub fn sender(&self) -> &NatsSender {
        &self.tx
    }

    /// The receiving half.
    pub fn receiver(&self) -> &NatsReceiver {
        &self.rx
    }
}

impl fmt::Debug for NatsEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsEnd")
            .field("tx", &self.tx)
            .field("rx", &self.rx)
            .finish()
    }
}

impl RawSender for NatsEnd {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        self.tx.send_frame(wait, fill)
    }

    fn max_message_size(&self) -> usize {
        self.tx.max_message_size()
    }
}

impl RawReceiver for NatsEnd {
    type Frame = NatsFrame;

    fn recv_frame(&self, wait: Wait) -> Result<NatsFrame, RawRecvError> {
        self.rx.recv_frame(wait)
    }
}

impl PollSend for NatsEnd {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.tx.poll_send_ready(cx)
    }
}

impl PollRecv for NatsEnd {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.rx.poll_recv_ready(cx)
    }
}

impl Handoff for NatsEnd {
    const KIND: &'static str = "nats.end";

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        let tx = self.tx.prepare(cmd)?;
        let rx = self.rx.prepare(cmd)?;
        Ok(format!("{tx}{SEPARATOR}{rx}"))
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        let (tx, rx) = payload
            .split_once(SEPARATOR)
            .ok_or_else(|| OpenError::malformed("a two-way end has two tokens"))?;
        Ok(NatsEnd {
            tx: NatsSender::open(tx)?,
            rx: NatsReceiver::open(rx)?,
        })
    }

    fn message_type() -> Option<Cow<'static, str>> {
        None
    }
}
