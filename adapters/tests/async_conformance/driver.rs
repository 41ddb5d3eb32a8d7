//! [`Async`]: the suite's async driver, which runs the cases the case table
//! shares (written once, in `transport_core::conformance`) through
//! `AsyncSender`, `AsyncReceiver` and `AsyncConnection`: each operation
//! awaits the async API on this thread's tokio runtime, bounded by a timer.

use std::{
    borrow::Borrow,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt, stream};
use transport_adapters::{AsyncConnection, AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, Message, RawReceiver, RawSender, Received, RecvTimeoutError, SendError, SendTimeoutError,
    TryRecvError, TrySendError,
    conformance::{Drive, DriveDuplex, EndFrameOf, FrameOf, Harness, Item, LONG, fill},
};

use crate::{
    duplex::AsyncDuplex,
    util::{AsyncTransport, block_on, channel, within},
};

/// The async driver: `send().await`, `recv().await` and the rest, the
/// `Sink` and the `Stream` (see each operation of [`Drive`]).
#[derive(Debug, Clone, Copy)]
pub struct Async;

/// The async ends of a channel of [`Item`]s over backend `T`.
pub type ItemEnds<T> = (
    AsyncSender<Item, <T as transport_core::Transport>::Sender>,
    AsyncReceiver<Item, <T as transport_core::Transport>::Receiver>,
);

/// A channel of capacity 4 filled through the async ends with items of
/// `producer` until `Full`, and how many went in; `None` (the case skipped,
/// saying `why`) where the backend has no bounded channels.
pub fn filled<T: AsyncTransport>(h: &Harness, producer: u32, why: &str) -> Option<(ItemEnds<T>, u64)> {
    if !T::capabilities().bounded {
        h.skip(why);
        return None;
    }
    let (mut tx, rx) = channel::<T, Item>(&ChannelConfig::bounded(4));
    let sent = fill::<T, Async>(&mut tx, producer);
    Some(((tx, rx), sent))
}

/// `receiving` (an async receive) as a receive bounded by `deadline`: the
/// future is dropped unfinished there, and the receive says `Timeout`.
async fn until<G>(
    deadline: Instant,
    receiving: impl Future<Output = Result<G, transport_core::RecvError>>,
) -> Result<G, RecvTimeoutError> {
    match tokio::time::timeout_at(deadline.into(), receiving).await {
        Ok(received) => received.map_err(RecvTimeoutError::from),
        Err(_) => Err(RecvTimeoutError::Timeout),
    }
}

impl<T: AsyncTransport> Drive<T> for Async {
    type Tx<M: Message + 'static> = AsyncSender<M, T::Sender>;
    type Rx<M: Message + 'static> = AsyncReceiver<M, T::Receiver>;

    fn channel<M: Message + 'static>(config: &ChannelConfig) -> (Self::Tx<M>, Self::Rx<M>) {
        channel::<T, M>(config)
    }

    fn try_clone_tx<M: Message + 'static>(tx: &Self::Tx<M>) -> Option<Self::Tx<M>> {
        tx.get_ref().raw().try_clone().map(AsyncSender::from_raw)
    }

    fn try_clone_rx<M: Message + 'static>(rx: &Self::Rx<M>) -> Option<Self::Rx<M>> {
        rx.get_ref().raw().try_clone().map(AsyncReceiver::from_raw)
    }

    fn send<M: Message + 'static, B: Borrow<M>>(tx: &mut Self::Tx<M>, msg: B) -> Result<(), SendError<B>> {
        // `SinkExt::send` would take a `&mut` receiver first.
        block_on(within("sending", AsyncSender::send(tx, msg)))
    }

    fn try_send<M: Message + 'static, B: Borrow<M>>(
        tx: &mut Self::Tx<M>,
        msg: B,
    ) -> Result<(), TrySendError<B>> {
        tx.try_send(msg)
    }

    fn send_timeout<M: Message + 'static, B: Borrow<M>>(
        tx: &mut Self::Tx<M>,
        msg: B,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<B>> {
        block_on(tx.send_timeout(msg, timeout))
    }

    fn send_deadline<'m, M: Message + 'static>(
        tx: &mut Self::Tx<M>,
        msg: &'m M,
        deadline: Instant,
    ) -> Result<(), SendTimeoutError<&'m M>> {
        block_on(tx.send_deadline(msg, deadline))
    }

    fn send_bytes<'b, M: Message + 'static>(
        tx: &mut Self::Tx<M>,
        bytes: &'b [u8],
    ) -> Result<(), SendError<&'b [u8]>> {
        block_on(within("sending raw bytes", tx.send_bytes(bytes)))
    }

    fn send_all<M: Message + 'static>(mut tx: Self::Tx<M>, items: impl IntoIterator<Item = M>) {
        block_on(async {
            let mut items = stream::iter(items.into_iter().map(Ok));
            within("sending through the `Sink`", tx.send_all(&mut items))
                .await
                .unwrap_or_else(|e| panic!("sending every item through the `Sink`: {e}"));
            within("closing the `Sink`", SinkExt::<M>::close(&mut tx))
                .await
                .unwrap_or_else(|e| panic!("closing the `Sink`: {e}"));
        });
    }

    fn recv<M: Message + 'static>(rx: &mut Self::Rx<M>) -> Result<Received<M, FrameOf<T>>, RecvTimeoutError> {
        block_on(until(Instant::now() + LONG, rx.recv()))
    }

    fn try_recv<M: Message + 'static>(rx: &mut Self::Rx<M>) -> Result<Received<M, FrameOf<T>>, TryRecvError> {
        rx.try_recv()
    }

    fn recv_timeout<M: Message + 'static>(
        rx: &mut Self::Rx<M>,
        timeout: Duration,
    ) -> Result<Received<M, FrameOf<T>>, RecvTimeoutError> {
        block_on(rx.recv_timeout(timeout))
    }

    fn recv_deadline<M: Message + 'static>(
        rx: &mut Self::Rx<M>,
        deadline: Instant,
    ) -> Result<Received<M, FrameOf<T>>, RecvTimeoutError> {
        block_on(rx.recv_deadline(deadline))
    }

    fn recv_bytes<M: Message + 'static>(rx: &mut Self::Rx<M>) -> Result<FrameOf<T>, RecvTimeoutError> {
        block_on(until(Instant::now() + LONG, rx.recv_bytes()))
    }

    fn recv_until_disconnected<M: Message + 'static>(
        rx: &mut Self::Rx<M>,
        mut each: impl FnMut(Received<M, FrameOf<T>>),
    ) -> u64 {
        block_on(async {
            let mut count = 0;
            // The stream ends where a receive would say `Disconnected`.
            while let Some(received) = within("reading the `Stream`", rx.next()).await {
                each(received.unwrap_or_else(|e| panic!("receiving message {count}: {e}")));
                count += 1;
            }
            count
        })
    }
}

impl<T: AsyncDuplex> DriveDuplex<T> for Async {
    type End<M: Message + 'static> = AsyncConnection<M, M, T::End>;

    fn pair<M: Message + 'static>() -> (Self::End<M>, Self::End<M>) {
        let (a, b) = T::duplex(&ChannelConfig::default())
            .unwrap_or_else(|e| panic!("creating a `{}` duplex pair: {e}", T::NAME));
        (AsyncConnection::from_raw(a), AsyncConnection::from_raw(b))
    }

    fn send<M: Message + 'static, B: Borrow<M>>(end: &Self::End<M>, msg: B) -> Result<(), SendError<B>> {
        block_on(within("sending", end.send(msg)))
    }

    fn send_timeout<M: Message + 'static, B: Borrow<M>>(
        end: &Self::End<M>,
        msg: B,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<B>> {
        block_on(end.send_timeout(msg, timeout))
    }

    fn recv<M: Message + 'static>(
        end: &Self::End<M>,
    ) -> Result<Received<M, EndFrameOf<T>>, RecvTimeoutError> {
        block_on(until(Instant::now() + LONG, end.recv()))
    }
}
