//! [`Blocking`]: the suite's blocking driver, which runs the shared cases
//! through [`Sender`], [`Receiver`] and [`Connection`].

use std::{
    borrow::Borrow,
    time::{Duration, Instant},
};

use crate::{
    ChannelConfig, Connection, Duplex, Message, RawReceiver, RawSender, Received, Receiver, RecvTimeoutError,
    SendError, SendTimeoutError, Sender, Transport, TryRecvError, TrySendError,
};

use super::drive::{Drive, DriveDuplex, EndFrameOf, FrameOf, LONG};

/// The blocking driver: each operation of [`Drive`] is the blocking API's
/// call of the same name (a receive's bound, [`LONG`], is its
/// `recv_timeout`).
#[derive(Debug, Clone, Copy)]
pub struct Blocking;

impl<T: Transport> Drive<T> for Blocking {
    type Tx<M: Message + 'static> = Sender<M, T::Sender>;
    type Rx<M: Message + 'static> = Receiver<M, T::Receiver>;

    fn channel<M: Message + 'static>(config: &ChannelConfig) -> (Self::Tx<M>, Self::Rx<M>) {
        let (tx, rx) = T::channel(config).unwrap_or_else(|e| panic!("creating a `{}` channel: {e}", T::NAME));
        (Sender::from_raw(tx), Receiver::from_raw(rx))
    }

    fn try_clone_tx<M: Message + 'static>(tx: &Self::Tx<M>) -> Option<Self::Tx<M>> {
        tx.raw().try_clone().map(Sender::from_raw)
    }

    fn try_clone_rx<M: Message + 'static>(rx: &Self::Rx<M>) -> Option<Self::Rx<M>> {
        rx.raw().try_clone().map(Receiver::from_raw)
    }

    fn send<M: Message + 'static, B: Borrow<M>>(tx: &mut Self::Tx<M>, msg: B) -> Result<(), SendError<B>> {
        tx.send(msg)
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
        tx.send_timeout(msg, timeout)
    }

    fn send_deadline<'m, M: Message + 'static>(
        tx: &mut Self::Tx<M>,
        msg: &'m M,
        deadline: Instant,
    ) -> Result<(), SendTimeoutError<&'m M>> {
        tx.send_deadline(msg, deadline)
    }

    fn send_bytes<'b, M: Message + 'static>(
        tx: &mut Self::Tx<M>,
        bytes: &'b [u8],
    ) -> Result<(), SendError<&'b [u8]>> {
        tx.send_bytes(bytes)
    }

    fn send_all<M: Message + 'static>(tx: Self::Tx<M>, items: impl IntoIterator<Item = M>) {
        for (n, item) in items.into_iter().enumerate() {
            tx.send(item).unwrap_or_else(|e| panic!("sending item {n}: {e}"));
        }
    }

    fn recv<M: Message + 'static>(rx: &mut Self::Rx<M>) -> Result<Received<M, FrameOf<T>>, RecvTimeoutError> {
        rx.recv_timeout(LONG)
    }

    fn try_recv<M: Message + 'static>(rx: &mut Self::Rx<M>) -> Result<Received<M, FrameOf<T>>, TryRecvError> {
        rx.try_recv()
    }

    fn recv_timeout<M: Message + 'static>(
        rx: &mut Self::Rx<M>,
        timeout: Duration,
    ) -> Result<Received<M, FrameOf<T>>, RecvTimeoutError> {
        rx.recv_timeout(timeout)
    }

    fn recv_deadline<M: Message + 'static>(
        rx: &mut Self::Rx<M>,
        deadline: Instant,
    ) -> Result<Received<M, FrameOf<T>>, RecvTimeoutError> {
        rx.recv_deadline(deadline)
    }

    fn recv_bytes<M: Message + 'static>(rx: &mut Self::Rx<M>) -> Result<FrameOf<T>, RecvTimeoutError> {
        rx.recv_bytes_timeout(LONG)
    }

    fn recv_until_disconnected<M: Message + 'static>(
        rx: &mut Self::Rx<M>,
        mut each: impl FnMut(Received<M, FrameOf<T>>),
    ) -> u64 {
        let mut count = 0;
        loop {
            match rx.recv_timeout(LONG) {
                Ok(msg) => each(msg),
                Err(RecvTimeoutError::Disconnected) => return count,
                Err(e) => panic!("receiving message {count}: {e}"),
            }
            count += 1;
        }
    }
}

impl<T: Duplex> DriveDuplex<T> for Blocking {
    type End<M: Message + 'static> = Connection<M, M, T::End>;

    fn pair<M: Message + 'static>() -> (Self::End<M>, Self::End<M>) {
        let (a, b) = T::duplex(&ChannelConfig::default())
            .unwrap_or_else(|e| panic!("creating a `{}` duplex pair: {e}", T::NAME));
        (Connection::from_raw(a), Connection::from_raw(b))
    }

    fn send<M: Message + 'static, B: Borrow<M>>(end: &Self::End<M>, msg: B) -> Result<(), SendError<B>> {
        end.send(msg)
    }

    fn send_timeout<M: Message + 'static, B: Borrow<M>>(
        end: &Self::End<M>,
        msg: B,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<B>> {
        end.send_timeout(msg, timeout)
    }

    fn recv<M: Message + 'static>(
        end: &Self::End<M>,
    ) -> Result<Received<M, EndFrameOf<T>>, RecvTimeoutError> {
        end.recv_timeout(LONG)
    }
}
