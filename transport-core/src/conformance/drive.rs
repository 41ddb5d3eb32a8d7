//! [`Drive`]: how a case reaches the API it checks. The cases the two
//! drivers share are written once, generic over a `Drive`: the blocking
//! driver ([`Blocking`](super::Blocking)) runs them through
//! [`Sender`](crate::Sender) and [`Receiver`](crate::Receiver), the async
//! driver in `transport-adapters`' tests through its `AsyncSender` and
//! `AsyncReceiver` (`Stream`, `Sink`) on a tokio runtime of the process's
//! (or child thread's) own.
//!
//! A receive waits at most [`LONG`] (it then says `Timeout`), and an async
//! send still waiting for room after [`LONG`] fails the case; a blocking
//! `send` waits as that API does, where a case has a peer that drains or
//! leaves.

use std::time::{Duration, Instant};

use crate::{
    ChannelConfig, Duplex, Handoff, Message, RawReceiver, Received, RecvTimeoutError, SendError,
    SendTimeoutError, Transport, TryRecvError, TrySendError,
};

/// How long a parent waits for one message before the case fails. Long,
/// because it only bounds a hang; a passing run never waits this long.
pub const LONG: Duration = Duration::from_secs(60);

/// What a receiver of backend `T` holds a received frame in.
pub type FrameOf<T> = <<T as Transport>::Receiver as RawReceiver>::Frame;

/// What a two-way end of backend `T` holds a received frame in.
pub type EndFrameOf<T> = <<T as Duplex>::End as RawReceiver>::Frame;

/// One driver of the suite: the ends of a one-way channel of backend `T`
/// and the operations the shared cases make on them. Each operation says
/// what it is in either API.
pub trait Drive<T: Transport> {
    /// The sending end of a channel of `M`.
    type Tx<M: Message + 'static>: Handoff + Send + 'static;
    /// The receiving end of a channel of `M`.
    type Rx<M: Message + 'static>: Handoff + Send + 'static;

    /// A channel of `M`.
    ///
    /// # Panics
    /// If the backend cannot create it.
    fn channel<M: Message + 'static>(config: &ChannelConfig) -> (Self::Tx<M>, Self::Rx<M>);

    /// Another sender of the same channel, made through the raw end (which
    /// every backend has, generic code over any backend included); `None`
    /// where the backend is not multi-producer.
    fn try_clone_tx<M: Message + 'static>(tx: &Self::Tx<M>) -> Option<Self::Tx<M>>;

    /// Another receiver of the same channel, as [`try_clone_tx`](Self::try_clone_tx).
    fn try_clone_rx<M: Message + 'static>(rx: &Self::Rx<M>) -> Option<Self::Rx<M>>;

    /// Sends `msg`, waiting for room (`send`, `send().await`).
    ///
    /// # Panics
    /// If an async send is still waiting after [`LONG`].
    fn send<M: Message + 'static, B: std::borrow::Borrow<M>>(
        tx: &mut Self::Tx<M>,
        msg: B,
    ) -> Result<(), SendError<B>>;

    /// Sends `msg` if there is room now (`try_send`, in both APIs).
    fn try_send<M: Message + 'static, B: std::borrow::Borrow<M>>(
        tx: &mut Self::Tx<M>,
        msg: B,
    ) -> Result<(), TrySendError<B>>;

    /// Sends `msg`, waiting at most `timeout` for room (each API's own
    /// `send_timeout`).
    fn send_timeout<M: Message + 'static, B: std::borrow::Borrow<M>>(
        tx: &mut Self::Tx<M>,
        msg: B,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<B>>;

    /// Sends `msg`, giving up at `deadline`: `send_deadline`, and in the
    /// async API `send().await` under a timer, whose future is dropped
    /// unfinished at the deadline.
    fn send_deadline<'m, M: Message + 'static>(
        tx: &mut Self::Tx<M>,
        msg: &'m M,
        deadline: Instant,
    ) -> Result<(), SendTimeoutError<&'m M>>;

    /// Sends raw bytes as one frame (`send_bytes`, `send_bytes().await`).
    ///
    /// # Panics
    /// As [`send`](Self::send).
    fn send_bytes<'b, M: Message + 'static>(
        tx: &mut Self::Tx<M>,
        bytes: &'b [u8],
    ) -> Result<(), SendError<&'b [u8]>>;

    /// Sends every item in order, then lets the sender go: `send` each and
    /// drop the sender, and in the async API the sender as a `Sink`
    /// (`send_all`, then `close`).
    ///
    /// # Panics
    /// If a send fails, or an async one is still waiting after
    /// [`LONG`].
    fn send_all<M: Message + 'static>(tx: Self::Tx<M>, items: impl IntoIterator<Item = M>);

    /// The next message, waiting at most [`LONG`]
    /// (`recv_timeout`, `recv().await` under a timer).
    fn recv<M: Message + 'static>(rx: &mut Self::Rx<M>) -> Result<Received<M, FrameOf<T>>, RecvTimeoutError>;

    /// The next message if there is one now (`try_recv`, in both APIs).
    fn try_recv<M: Message + 'static>(rx: &mut Self::Rx<M>) -> Result<Received<M, FrameOf<T>>, TryRecvError>;

    /// The next message, waiting at most `timeout` (each API's own
    /// `recv_timeout`).
    fn recv_timeout<M: Message + 'static>(
        rx: &mut Self::Rx<M>,
        timeout: Duration,
    ) -> Result<Received<M, FrameOf<T>>, RecvTimeoutError>;

    /// The next message, giving up at `deadline`: `recv_deadline`, and in
    /// the async API `recv().await` under a timer, whose future is dropped
    /// unfinished at the deadline.
    fn recv_deadline<M: Message + 'static>(
        rx: &mut Self::Rx<M>,
        deadline: Instant,
    ) -> Result<Received<M, FrameOf<T>>, RecvTimeoutError>;

    /// The next frame as raw bytes, waiting at most [`LONG`]
    /// (`recv_bytes_timeout`, `recv_bytes().await` under a timer).
    fn recv_bytes<M: Message + 'static>(rx: &mut Self::Rx<M>) -> Result<FrameOf<T>, RecvTimeoutError>;

    /// Hands each message to `each` until the channel is disconnected, and
    /// says how many came: `recv_timeout` until `Disconnected`, and in the
    /// async API the receiver as a `Stream` until it ends (at `Closed` too).
    ///
    /// # Panics
    /// On any other error, or when nothing comes within
    /// [`LONG`].
    fn recv_until_disconnected<M: Message + 'static>(
        rx: &mut Self::Rx<M>,
        each: impl FnMut(Received<M, FrameOf<T>>),
    ) -> u64;
}

/// A driver's two-way ends ([`Duplex`] backends): a connection carrying `M`
/// both ways, and what the shared two-way cases do with it.
pub trait DriveDuplex<T: Duplex> {
    /// One end of a two-way connection of `M`.
    type End<M: Message + 'static>: Handoff + Send + 'static;

    /// The two ends of a connection.
    ///
    /// # Panics
    /// If the backend cannot create them.
    fn pair<M: Message + 'static>() -> (Self::End<M>, Self::End<M>);

    /// Sends `msg`, waiting for room, as [`Drive::send`].
    ///
    /// # Panics
    /// As [`Drive::send`].
    fn send<M: Message + 'static, B: std::borrow::Borrow<M>>(
        end: &Self::End<M>,
        msg: B,
    ) -> Result<(), SendError<B>>;

    /// Sends `msg`, waiting at most `timeout`, as [`Drive::send_timeout`].
    fn send_timeout<M: Message + 'static, B: std::borrow::Borrow<M>>(
        end: &Self::End<M>,
        msg: B,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<B>>;

    /// The next message, waiting at most [`LONG`], as
    /// [`Drive::recv`].
    fn recv<M: Message + 'static>(end: &Self::End<M>)
    -> Result<Received<M, EndFrameOf<T>>, RecvTimeoutError>;
}
