//! [`PipeEnd`], the two-way end of a pipe, and its one-way views
//! [`PipeSender`] and [`PipeReceiver`].

use std::{fmt, mem::ManuallyDrop, process::Command, sync::Arc, time::Duration};

use transport_core::{
    Handoff, HandoffError, OpenError, SendError, SendTimeoutError,
    backend::{Fill, RawReceiver, RawRecvError, RawSendError, RawSender, Wait},
};

use crate::{inbound::PipeFrame, off_worker::blocking, outbound::DIRECT_BYTES, shared::Shared, sys::Socket};

/// One end of a pipe: it sends to the other end and receives from it.
///
/// This is the raw, untyped end; most code uses it through
/// [`Connection`](crate::Connection) (typed two-way),
/// [`Sender`](crate::Sender) or [`Receiver`](crate::Receiver). An end is
/// not `Clone`: a pipe has exactly two ends, and handing one to a child
/// ([`Handoff::prepare`]) moves it there.
///
/// Dropping an end first writes any messages still in its backlog (see
/// [the coalescing notes](crate#coalescing)), waiting at most its *linger*
/// ([`DEFAULT_LINGER`](crate::DEFAULT_LINGER), 10 s, unless
/// [`set_linger`](Self::set_linger) changed it) for a peer that does not
/// read, then closes it: the other end receives what was sent, then
/// `Disconnected`. What the linger did not let out is dropped (a message
/// cut short by it is not delivered: the peer sees `Disconnected`).
/// [`close`](Self::close) closes with a wait of your choice and says whether
/// everything went out.
///
/// # Async readiness
/// With the `tokio` feature the end implements
/// [`PollRecv`](transport_core::backend::PollRecv) and
/// [`PollSend`](transport_core::backend::PollSend) (see [the crate
/// documentation](crate#async-readiness)). It also exposes its
/// operating-system object: on Unix `AsFd`/`AsRawFd` (a non-blocking
/// `AF_UNIX` stream socket); on Windows `AsHandle`/`AsRawHandle` (a
/// named-pipe handle opened for overlapped I/O). Do not read or write it
/// yourself, or the framing breaks.
///
/// # Portability
/// | | Linux | macOS | Windows |
/// |---|---|---|---|
/// | object | `socketpair(AF_UNIX, SOCK_STREAM)` | the same | named pipe, random name, one instance, connected at creation |
/// | hand-off | inherited descriptor, claimed by the first child spawned (`pre_exec` clears close-on-exec in that child only) | the same | the child duplicates the handle out of the parent (`DuplicateHandle`), once |
/// | no `SIGPIPE` | `MSG_NOSIGNAL` | `SO_NOSIGPIPE` | not applicable |
/// | peer gone | end of stream | the same | broken pipe, reported as the end of stream |
/// | kernel buffer | about 200 KiB (`net.core.wmem_default`) | 8 KiB by default | 64 KiB, set at creation |
/// | waits while blocked writing | `poll` on read and write | the same | overlapped write, checked for incoming bytes every millisecond |
/// | async readiness (`tokio` feature) | tokio's reactor (`AsyncFd`, `epoll`) | the same (`kqueue`) | zero-byte overlapped read, waited on by the system thread pool (`RegisterWaitForSingleObject`) |
pub struct PipeEnd {
    shared: Arc<Shared>,
}

impl fmt::Debug for PipeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeEnd")
            .field("socket", &self.shared.sock)
            .field("max_message_size", &self.shared.limit)
            .finish_non_exhaustive()
    }
}

impl PipeEnd {
    pub(crate) fn new(sock: Socket, limit: usize) -> Self {
        PipeEnd {
            shared: Arc::new(Shared::new(sock, limit)),
        }
    }

    /// The socket, for the native handle traits (`sys/handles.rs`).
    #[allow(
        dead_code,
        reason = "used by the native handle traits where the system has them"
    )]
    pub(crate) fn socket(&self) -> &Socket {
        &self.shared.sock
    }

    /// Whether a message (or the end of the stream, or an error) is ready
    /// to be received, waiting at most `timeout` for one (Python's
    /// `Connection.poll`). A zero timeout does not wait.
    ///
    /// # Errors
    /// An operating-system error while reading.
    pub fn poll(&self, timeout: Duration) -> std::io::Result<bool> {
        self.shared.poll(Wait::timeout(timeout))
    }

    /// Waits until every message sent so far is written to the operating
    /// system (sends in a burst may still be in the end's backlog), as long
    /// as that takes.
    ///
    /// # Errors
    /// [`SendError::Disconnected`] when the other end is gone (what was
    /// left could not be delivered), [`SendError::Io`] on an
    /// operating-system error.
    pub fn flush(&self) -> Result<(), SendError<()>> {
        loop {
            return match self.shared.flush(Wait::Forever) {
                Ok(()) => Ok(()),
                Err(RawSendError::NotReady) => continue,
                Err(RawSendError::Io(source)) => Err(SendError::Io { msg: (), source }),
                Err(_) => Err(SendError::Disconnected(())),
            };
        }
    }

    /// As [`flush`](Self::flush), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] when the backlog was not all written
    /// in time (the peer does not read fast enough; nothing is lost, the
    /// end keeps writing), otherwise as [`flush`](Self::flush).
    pub fn flush_timeout(&self, timeout: Duration) -> Result<(), SendTimeoutError<()>> {
        timed(self.shared.flush(Wait::timeout(timeout)))
    }

    /// Closes the end, first writing its backlog for at most `timeout`:
    /// the same as dropping it with a linger of `timeout`, but it says
    /// whether everything sent went out.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] when the time ran out with messages
    /// still in the backlog (they are dropped), otherwise as
    /// [`flush`](Self::flush).
    pub fn close(self, timeout: Duration) -> Result<(), SendTimeoutError<()>> {
        let shared = self.take_shared();
        timed(blocking(|| shared.close(timeout)))
    }

    /// How long dropping this end waits for its backlog to be written,
    /// at most: [`DEFAULT_LINGER`](crate::DEFAULT_LINGER) unless set.
    pub fn linger(&self) -> Duration {
        self.shared.linger()
    }

    /// Sets how long dropping (or handing off) this end waits, at most, for
    /// its backlog to be written to a peer that does not read. Zero drops
    /// the backlog at once; `Duration::MAX` waits as long as the peer
    /// lives, as a blocking send would.
    pub fn set_linger(&self, linger: Duration) {
        self.shared.set_linger(linger);
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Gives up the shared state without running `Drop` (nothing is
    /// written or closed yet).
    fn take_shared(self) -> Arc<Shared> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used again and never dropped, so the `Arc`
        // is moved out of it exactly once.
        unsafe { std::ptr::read(&this.shared) }
    }

    /// The socket, for the hand-off to a child: the backlog is written
    /// first, within the linger.
    fn into_socket(self) -> Result<Socket, HandoffError> {
        if self.shared.lock_in().holds_data() {
            return Err(HandoffError::Unsupported {
                what: "a pipe end holding received bytes that were not yet read",
            });
        }
        let linger = self.shared.linger();
        let shared = self.take_shared();
        if let Err(e) = blocking(|| shared.close(linger)) {
            let source = match e {
                RawSendError::Io(source) => source,
                RawSendError::NotReady => std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("its backlog was not written within its linger of {linger:?}"),
                ),
                _ => std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "its peer is gone, with messages not yet written",
                ),
            };
            return Err(HandoffError::Io {
                what: "a pipe end".into(),
                source,
            });
        }
        match Arc::try_unwrap(shared) {
            Ok(shared) => Ok(shared.sock),
            // The flusher was joined and the end is not `Clone`, so the
            // state has no other owner; say so rather than panic.
            Err(_) => Err(HandoffError::Unsupported {
                what: "a pipe end still in use by another thread",
            }),
        }
    }

    fn prepare_as(self, cmd: &mut Command) -> Result<String, HandoffError> {
        let limit = self.shared.limit;
        let sock = self.into_socket()?;
        let payload = sock.handoff(cmd).map_err(|source| HandoffError::Io {
            what: "a pipe end".into(),
            source,
        })?;
        Ok(format!("limit={limit};{payload}"))
    }

    fn open_as(payload: &str) -> Result<Self, OpenError> {
        let (limit, rest) = payload
            .strip_prefix("limit=")
            .and_then(|p| p.split_once(';'))
            .ok_or_else(|| OpenError::malformed(format!("expected `limit=N;...`, found `{payload}`")))?;
        let limit: usize = limit
            .parse()
            .map_err(|_| OpenError::malformed(format!("the limit `{limit}` is not a number")))?;
        Ok(PipeEnd::new(Socket::open(rest)?, limit))
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        // Closing writes what is still queued, waiting up to the linger for
        // the peer to read it: not on a tokio worker's back (see `blocking`).
        let linger = self.shared.linger();
        let _ = blocking(|| self.shared.close(linger));
    }
}

/// A bounded flush's outcome, as the typed error callers know.
fn timed(result: Result<(), RawSendError>) -> Result<(), SendTimeoutError<()>> {
    match result {
        Ok(()) => Ok(()),
        Err(RawSendError::NotReady) => Err(SendTimeoutError::Timeout(())),
        Err(RawSendError::Io(source)) => Err(SendTimeoutError::Io { msg: (), source }),
        Err(_) => Err(SendTimeoutError::Disconnected(())),
    }
}

impl RawSender for PipeEnd {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        self.shared.send_frame(wait, fill)
    }

    fn max_message_size(&self) -> usize {
        self.shared.limit
    }

    fn send_bytes(&self, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        // A non-blocking send copies even a large frame into the backlog,
        // so that it is `Full` exactly when the backlog is (what async
        // readiness tracks), not also when the socket is.
        if bytes.len() >= DIRECT_BYTES && wait != Wait::Never {
            return self.shared.send_large(bytes, wait);
        }
        self.shared.send_frame(wait, &mut |w| {
            w.write_bytes(bytes);
            Ok(())
        })
    }
}

impl RawReceiver for PipeEnd {
    type Frame = PipeFrame;

    fn recv_frame(&self, wait: Wait) -> Result<PipeFrame, RawRecvError> {
        self.shared.recv_frame(wait)
    }
}

/// The ends' `Handoff::child_watch`: what the system layer does once told
/// the child (`sys::WATCH_CHILD`; on Windows it releases the parent's copy
/// of an end the child exits without taking, on Unix it closes the
/// parent's copy of the end the child has claimed), if it does anything.
const CHILD_WATCH: Option<fn(&str, &std::process::Child)> = match crate::sys::WATCH_CHILD {
    Some(_) => Some(watch_child),
    None => None,
};

/// See [`CHILD_WATCH`]: the payload without its `limit=N;`.
fn watch_child(payload: &str, child: &std::process::Child) {
    let rest = payload.split_once(';').map_or(payload, |(_, rest)| rest);
    if let Some(watch) = crate::sys::WATCH_CHILD {
        // Without the watch the end behaves as before: its peer sees the
        // child go once the child has taken it.
        let _ = watch(rest, child);
    }
}

impl Handoff for PipeEnd {
    const KIND: &'static str = "pipe.end";

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.prepare_as(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        Self::open_as(payload)
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        CHILD_WATCH
    }
}

/// The sending end of a one-way pipe (Python's `Pipe(duplex=False)`).
///
/// A view of a [`PipeEnd`] that only sends; see there for closing,
/// coalescing, readiness and portability.
#[derive(Debug)]
pub struct PipeSender(pub(crate) PipeEnd);

/// The receiving end of a one-way pipe.
///
/// A view of a [`PipeEnd`] that only receives; see there for closing,
/// readiness and portability.
#[derive(Debug)]
pub struct PipeReceiver(pub(crate) PipeEnd);

impl PipeSender {
    /// As [`PipeEnd::flush`].
    ///
    /// # Errors
    /// As [`PipeEnd::flush`].
    pub fn flush(&self) -> Result<(), SendError<()>> {
        self.0.flush()
    }

    /// As [`PipeEnd::flush_timeout`].
    ///
    /// # Errors
    /// As [`PipeEnd::flush_timeout`].
    pub fn flush_timeout(&self, timeout: Duration) -> Result<(), SendTimeoutError<()>> {
        self.0.flush_timeout(timeout)
    }

    /// As [`PipeEnd::close`].
    ///
    /// # Errors
    /// As [`PipeEnd::close`].
    pub fn close(self, timeout: Duration) -> Result<(), SendTimeoutError<()>> {
        self.0.close(timeout)
    }

    /// As [`PipeEnd::linger`].
    pub fn linger(&self) -> Duration {
        self.0.linger()
    }

    /// As [`PipeEnd::set_linger`].
    pub fn set_linger(&self, linger: Duration) {
        self.0.set_linger(linger);
    }
}

impl PipeReceiver {
    /// As [`PipeEnd::poll`].
    ///
    /// # Errors
    /// As [`PipeEnd::poll`].
    pub fn poll(&self, timeout: Duration) -> std::io::Result<bool> {
        self.0.poll(timeout)
    }
}

impl RawSender for PipeSender {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        self.0.send_frame(wait, fill)
    }

    fn max_message_size(&self) -> usize {
        self.0.max_message_size()
    }

    fn send_bytes(&self, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        self.0.send_bytes(bytes, wait)
    }
}

impl RawReceiver for PipeReceiver {
    type Frame = PipeFrame;

    fn recv_frame(&self, wait: Wait) -> Result<PipeFrame, RawRecvError> {
        self.0.recv_frame(wait)
    }
}

impl Handoff for PipeSender {
    const KIND: &'static str = "pipe.sender";

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.0.prepare_as(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        PipeEnd::open_as(payload).map(PipeSender)
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        CHILD_WATCH
    }
}

impl Handoff for PipeReceiver {
    const KIND: &'static str = "pipe.receiver";

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.0.prepare_as(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        PipeEnd::open_as(payload).map(PipeReceiver)
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        CHILD_WATCH
    }
}
