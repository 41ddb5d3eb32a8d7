//! The raw ends: [`NatsSender`] and [`NatsReceiver`], for either delivery
//! mode, with their hand-off and async readiness.

use std::{
    fmt, io,
    process::Command,
    task::{Context, Poll},
};

use transport_core::{
    Handoff, HandoffError, OpenError,
    backend::{Fill, PollRecv, PollSend, RawReceiver, RawRecvError, RawSendError, RawSender, Wait},
};

use crate::{
    alo::{AloReceiver, AloSender},
    amo::{AmoReceiver, AmoSender},
    base::{Base, Origin, Token},
    client::Client,
    frame::NatsFrame,
    names::Names,
    options::{Delivery, Options},
    roster::Role,
};

/// The sending end of a NATS channel (either delivery mode).
///
/// Cloning it ([`RawSender::try_clone`]) makes another sender on the same
/// channel with its own identity; each sender's messages arrive in the
/// order it sent them.
pub struct NatsSender {
    inner: SenderKind,
}

enum SenderKind {
    AtMostOnce(AmoSender),
    AtLeastOnce(AloSender),
}

/// The receiving end of a NATS channel (either delivery mode).
///
/// Cloning it ([`RawReceiver::try_clone`]) makes another competing
/// receiver: each message goes to one of them.
pub struct NatsReceiver {
    inner: ReceiverKind,
}

enum ReceiverKind {
    AtMostOnce(AmoReceiver),
    AtLeastOnce(AloReceiver),
}

fn open_error(what: &str, e: io::Error) -> OpenError {
    OpenError::io(what.to_owned(), e)
}

impl NatsSender {
    pub(crate) fn make(
        client: &Client,
        names: &Names,
        options: &Options,
        id: Option<String>,
        origin: Origin,
        anonymous: bool,
    ) -> io::Result<NatsSender> {
        let base = Base::new(client, names, options, Role::Sender, id, origin, anonymous);
        let inner = match options.delivery {
            Delivery::AtMostOnce => SenderKind::AtMostOnce(AmoSender::open(base)?),
            Delivery::AtLeastOnce => SenderKind::AtLeastOnce(AloSender::open(base)),
        };
        Ok(NatsSender { inner })
    }

    fn base(&self) -> &Base {
        match &self.inner {
            SenderKind::AtMostOnce(s) => &s.base,
            SenderKind::AtLeastOnce(s) => &s.base,
        }
    }

    /// The channel's name on the server.
    pub fn name(&self) -> &str {
        &self.base().names.name
    }

    /// The channel's delivery mode.
    pub fn delivery(&self) -> Delivery {
        self.base().options.delivery
    }
}

impl NatsReceiver {
    pub(crate) fn make(
        client: &Client,
        names: &Names,
        options: &Options,
        id: Option<String>,
        origin: Origin,
        anonymous: bool,
    ) -> io::Result<NatsReceiver> {
        Self::make_with(client, names, options, id, origin, anonymous, false)
    }

    /// `explicit`: a queue's receiver, whose messages are acknowledged by
    /// `task_done` rather than by dropping them.
    pub(crate) fn make_with(
        client: &Client,
        names: &Names,
        options: &Options,
        id: Option<String>,
        origin: Origin,
        anonymous: bool,
        explicit: bool,
    ) -> io::Result<NatsReceiver> {
        let base = Base::new(client, names, options, Role::Receiver, id, origin, anonymous);
        let inner = match options.delivery {
            Delivery::AtMostOnce => ReceiverKind::AtMostOnce(AmoReceiver::open(base)?),
            Delivery::AtLeastOnce => ReceiverKind::AtLeastOnce(AloReceiver::open(base, explicit)?),
        };
        Ok(NatsReceiver { inner })
    }

    pub(crate) fn is_explicit(&self) -> bool {
        matches!(&self.inner, ReceiverKind::AtLeastOnce(r) if r.is_explicit())
    }

    pub(crate) fn task_done(&self) -> Result<(), crate::QueueError> {
        match &self.inner {
            ReceiverKind::AtLeastOnce(r) => r.task_done(),
            ReceiverKind::AtMostOnce(_) => Err(crate::QueueError::NeedsAtLeastOnce { what: "task_done" }),
        }
    }

    pub(crate) fn base_ref(&self) -> &Base {
        self.base()
    }

    fn base(&self) -> &Base {
        match &self.inner {
            ReceiverKind::AtMostOnce(r) => &r.base,
            ReceiverKind::AtLeastOnce(r) => &r.base,
        }
    }

    /// The channel's name on the server.
    pub fn name(&self) -> &str {
        &self.base().names.name
    }

    /// The channel's delivery mode.
    pub fn delivery(&self) -> Delivery {
        self.base().options.delivery
    }

    /// How many deliveries this receiver did not hand to its caller
    /// because another receiver has or may have them: messages delivered
    /// again whose processed markers say they were finished
    /// ([`Options::deduplicate`]), and deliveries held unread for half the
    /// ack wait or more (the server delivers those again, to whoever asks).
    pub fn duplicates_skipped(&self) -> u64 {
        match &self.inner {
            ReceiverKind::AtLeastOnce(r) => r.skipped(),
            ReceiverKind::AtMostOnce(_) => 0,
        }
    }
}

/// Another sender is another publisher on the same subject; making one
/// needs the server (`try_clone` is `None` without it).
impl transport_core::MultiProducer for NatsSender {}

/// Another receiver is another member of the stream's consumer group;
/// making one needs the server (`try_clone` is `None` without it).
impl transport_core::MultiConsumer for NatsReceiver {}

impl RawSender for NatsSender {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        match &self.inner {
            SenderKind::AtMostOnce(s) => s.send_frame(wait, fill),
            SenderKind::AtLeastOnce(s) => s.send_frame(wait, fill),
        }
    }

    fn max_message_size(&self) -> usize {
        match &self.inner {
            SenderKind::AtMostOnce(s) => s.max_message_size(),
            SenderKind::AtLeastOnce(s) => s.max_message_size(),
        }
    }

    fn try_clone(&self) -> Option<Self> {
        let b = self.base();
        NatsSender::make(
            &b.client,
            &b.names,
            &b.options,
            None,
            Origin::HandedOff,
            b.anonymous,
        )
        .ok()
    }
}

impl RawReceiver for NatsReceiver {
    type Frame = NatsFrame;

    fn recv_frame(&self, wait: Wait) -> Result<NatsFrame, RawRecvError> {
        match &self.inner {
            ReceiverKind::AtMostOnce(r) => r.recv_frame(wait),
            ReceiverKind::AtLeastOnce(r) => r.recv_frame(wait),
        }
    }

    fn try_clone(&self) -> Option<Self> {
        let b = self.base();
        let explicit = self.is_explicit();
        NatsReceiver::make_with(
            &b.client,
            &b.names,
            &b.options,
            None,
            Origin::HandedOff,
            b.anonymous,
            explicit,
        )
        .ok()
    }
}

impl PollSend for NatsSender {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let base = self.base();
        base.signal.register(cx.waker());
        let ready = match &self.inner {
            SenderKind::AtMostOnce(s) => s.poll_ready(),
            // A JetStream send waits for the server's answer within the
            // call; there is nothing to wait for before it.
            SenderKind::AtLeastOnce(_) => true,
        };
        if ready { Poll::Ready(Ok(())) } else { Poll::Pending }
    }
}

impl PollRecv for NatsReceiver {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.base().signal.register(cx.waker());
        let ready = match &self.inner {
            ReceiverKind::AtMostOnce(r) => r.poll_ready(),
            ReceiverKind::AtLeastOnce(r) => r.poll_ready(),
        };
        if ready { Poll::Ready(Ok(())) } else { Poll::Pending }
    }
}

impl Handoff for NatsSender {
    const KIND: &'static str = "nats.sender";

    fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
        Ok(match self.inner {
            SenderKind::AtMostOnce(s) => s.hand_off(),
            SenderKind::AtLeastOnce(s) => s.hand_off(),
        })
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        let token = Token::parse(payload)?;
        let client = token.client()?;
        NatsSender::make(
            &client,
            &token.names,
            &token.options,
            Some(token.id),
            Origin::HandedOff,
            token.anonymous,
        )
        .map_err(|e| open_error("a nats sender", e))
    }
}

impl Handoff for NatsReceiver {
    const KIND: &'static str = "nats.receiver";

    fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
        Ok(match self.inner {
            ReceiverKind::AtMostOnce(r) => r.hand_off(),
            ReceiverKind::AtLeastOnce(r) => {
                let explicit = r.is_explicit();
                let token = r.hand_off();
                if explicit {
                    format!("{token} explicit=1")
                } else {
                    token
                }
            }
        })
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        let token = Token::parse(payload)?;
        let client = token.client()?;
        NatsReceiver::make_with(
            &client,
            &token.names,
            &token.options,
            Some(token.id),
            Origin::HandedOff,
            token.anonymous,
            token.explicit,
        )
        .map_err(|e| open_error("a nats receiver", e))
    }
}

impl fmt::Debug for NatsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.base();
        f.debug_struct("NatsSender")
            .field("channel", &b.names.name)
            .field("delivery", &b.options.delivery)
            .field("id", &b.id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NatsReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.base();
        f.debug_struct("NatsReceiver")
            .field("channel", &b.names.name)
            .field("delivery", &b.options.delivery)
            .field("id", &b.id)
            .finish_non_exhaustive()
    }
}
