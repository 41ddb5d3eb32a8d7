//! [`NamedEnd`]: one end of a connection made by a
//! [`Listener`](crate::Listener) or a [`Client`](crate::Client), and
//! [`PeerCreds`], who is at the other end.

use std::{fmt, time::Duration};

use transport_core::backend::{Fill, RawReceiver, RawRecvError, RawSendError, RawSender, Wait};

use super::stream_end::StreamEnd;
use crate::{PipeEnd, PipeFrame, python::frame::Framing};

/// Who is at the other end of a connection, as the operating system says
/// (`SO_PEERCRED` on Linux, `getpeereid` on the BSDs and macOS). Both are
/// `None` on TCP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerCreds {
    /// The peer's effective user id.
    pub uid: Option<u32>,
    /// The peer's process id, where the system gives it (Linux).
    pub pid: Option<u32>,
}

/// How the end moves its bytes.
pub(crate) enum Link {
    /// The pipe's own end (this crate's framing): coalescing, async
    /// readiness, everything a pipe end does.
    Pipe(PipeEnd),
    /// Framing on a plain stream (Python's framing).
    Stream(Box<StreamEnd>),
}

/// One end of a named connection: the raw end behind
/// [`Connection`](crate::NamedConnection) and
/// [`PyConnection`](crate::PyConnection).
///
/// With this crate's framing ([`Options::new`](crate::Options::new)) it is
/// a [`PipeEnd`] on the accepted socket, with the same coalescing,
/// `Disconnected` and async readiness; with Python's framing it frames each
/// message as Python's `Connection.send_bytes` does (on Unix, gathering
/// the messages sent while the socket is full into larger writes), and has async
/// readiness of its own (feature `tokio`; on Windows over TCP and over a
/// message-mode named pipe too).
pub struct NamedEnd {
    link: Link,
    peer: PeerCreds,
    /// How long a blocking receive looks before it sleeps.
    spin: Duration,
}

impl fmt::Debug for NamedEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("NamedEnd");
        match &self.link {
            Link::Pipe(end) => d.field("pipe", end),
            Link::Stream(end) => d.field("stream", end),
        };
        d.field("peer", &self.peer).field("spin", &self.spin).finish()
    }
}

impl NamedEnd {
    pub(crate) fn pipe(end: PipeEnd, peer: PeerCreds, spin: Duration) -> Self {
        NamedEnd {
            link: Link::Pipe(end),
            peer,
            spin,
        }
    }

    pub(crate) fn stream(end: StreamEnd, peer: PeerCreds, spin: Duration) -> Self {
        NamedEnd {
            link: Link::Stream(Box::new(end)),
            peer,
            spin,
        }
    }

    /// How the end moves its bytes, for the native handle traits
    /// (`sys/handles.rs`).
    #[allow(
        dead_code,
        reason = "used by the native handle traits where the system has them"
    )]
    pub(crate) fn link(&self) -> &Link {
        &self.link
    }

    /// Receives as `recv` does with `wait`, after looking without sleeping
    /// for up to the spin time (within the deadline): a message that comes
    /// meanwhile costs no wake-up.
    fn spin_then(
        &self,
        wait: Wait,
        recv: impl Fn(Wait) -> Result<PipeFrame, RawRecvError>,
    ) -> Result<PipeFrame, RawRecvError> {
        if wait != Wait::Never && !self.spin.is_zero() {
            let start = std::time::Instant::now();
            let until = match wait.remaining() {
                Some(left) => start + self.spin.min(left),
                None => start + self.spin,
            };
            loop {
                match recv(Wait::Never) {
                    Err(RawRecvError::NotReady) if std::time::Instant::now() < until => {
                        std::hint::spin_loop()
                    }
                    Err(RawRecvError::NotReady) => break,
                    done => return done,
                }
            }
        }
        recv(wait)
    }

    /// Who is at the other end.
    pub fn peer(&self) -> PeerCreds {
        self.peer
    }

    /// The framing on the wire.
    pub fn framing(&self) -> Framing {
        match &self.link {
            Link::Pipe(_) => Framing::Native,
            Link::Stream(s) => s.framing(),
        }
    }

    /// Whether a message (or the end of the stream, or an error) is ready
    /// to be received, waiting at most `timeout` (Python's
    /// `Connection.poll`). A zero timeout does not wait.
    ///
    /// # Errors
    /// An operating-system error while reading.
    pub fn poll(&self, timeout: Duration) -> std::io::Result<bool> {
        match &self.link {
            Link::Pipe(end) => end.poll(timeout),
            Link::Stream(end) => end.poll(Wait::timeout(timeout)),
        }
    }

    /// Receives the next message if it is at most `max` bytes long
    /// (Python's `recv_bytes(maxlength)`). With Python's framing a longer
    /// message is refused before it is read, and the connection cannot be
    /// read any further (as in Python); with this crate's framing it was
    /// already read, and is dropped.
    ///
    /// # Errors
    /// As [`RawReceiver::recv_frame`]; `TooLarge` with `max` as the limit.
    pub fn recv_frame_max(&self, wait: Wait, max: usize) -> Result<PipeFrame, RawRecvError> {
        match &self.link {
            Link::Pipe(end) => {
                let frame = self.spin_then(wait, |w| end.recv_frame(w))?;
                if frame.len() > max {
                    return Err(RawRecvError::TooLarge {
                        len: frame.len(),
                        limit: max,
                    });
                }
                Ok(frame)
            }
            Link::Stream(end) => self.spin_then(wait, |w| end.recv_max(w, max)),
        }
    }
}

impl RawSender for NamedEnd {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        match &self.link {
            Link::Pipe(end) => end.send_frame(wait, fill),
            Link::Stream(end) => end.send_frame(wait, fill),
        }
    }

    fn max_message_size(&self) -> usize {
        match &self.link {
            Link::Pipe(end) => end.max_message_size(),
            Link::Stream(end) => end.limit(),
        }
    }

    fn send_bytes(&self, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        match &self.link {
            Link::Pipe(end) => end.send_bytes(bytes, wait),
            Link::Stream(end) => end.send_bytes(bytes, wait),
        }
    }
}

impl RawReceiver for NamedEnd {
    type Frame = PipeFrame;

    fn recv_frame(&self, wait: Wait) -> Result<PipeFrame, RawRecvError> {
        match &self.link {
            Link::Pipe(end) => self.spin_then(wait, |w| end.recv_frame(w)),
            Link::Stream(end) => self.spin_then(wait, |w| end.recv_max(w, end.limit())),
        }
    }
}

/// Async readiness (feature `tokio`): the pipe end's for this crate's
/// framing; for Python's, the stream end's (see `stream_end.rs`): a
/// receive is ready once a whole message (at most the end's limit, or one
/// past it, refused) is read, a send once the end's backlog has room (the
/// socket, where the end has no backlog).
#[cfg(feature = "tokio")]
mod ready {
    use std::{
        io,
        task::{Context, Poll},
    };

    use transport_core::backend::{PollRecv, PollSend};

    use super::{Link, NamedEnd};

    impl PollRecv for NamedEnd {
        fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            match &self.link {
                Link::Pipe(end) => end.poll_recv_ready(cx),
                Link::Stream(end) => end.poll_ready(cx, end.limit()),
            }
        }
    }

    impl PollSend for NamedEnd {
        fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            match &self.link {
                Link::Pipe(end) => end.poll_send_ready(cx),
                Link::Stream(end) => end.poll_send_ready(cx),
            }
        }
    }
}
