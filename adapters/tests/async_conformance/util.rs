//! What the async cases share: the runtime, bounded waits, channels.

use std::{future::Future, time::Duration};

use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, Message, RecvError, SendTimeoutError, Transport,
    backend::{PollRecv, PollSend},
    conformance::{Item, LONG},
};

/// A backend the async API can drive.
pub trait AsyncTransport: Transport<Sender: PollSend, Receiver: PollRecv> {}

impl<T: Transport<Sender: PollSend, Receiver: PollRecv>> AsyncTransport for T {}

/// Runs `f` on a tokio runtime of its own (each process, or child thread,
/// has one).
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

/// Awaits `f`, failing the case if it takes longer than [`LONG`].
pub async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(LONG, f).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: nothing within {LONG:?}"),
    }
}

/// An async channel of `M` over backend `T`.
pub fn channel<T: Transport, M>(
    config: &ChannelConfig,
) -> (AsyncSender<M, T::Sender>, AsyncReceiver<M, T::Receiver>) {
    let (tx, rx) = T::channel(config).unwrap_or_else(|e| panic!("creating a `{}` channel: {e}", T::NAME));
    (AsyncSender::from_raw(tx), AsyncReceiver::from_raw(rx))
}

/// Panics unless the next receive says `Disconnected` within [`LONG`].
pub async fn expect_disconnected<M: Message, R: PollRecv>(rx: &mut AsyncReceiver<M, R>) {
    match within("waiting for `Disconnected`", rx.recv()).await {
        Err(RecvError::Disconnected) => {}
        Err(e) => panic!("expected the channel to be disconnected, got: {e}"),
        Ok(_) => panic!("expected the channel to be disconnected, got a message"),
    }
}

/// Sends items of `producer` with `send` (a `send_timeout` of some end)
/// until it reports `Disconnected`, within a minute. `Timeout` (a full
/// buffer nobody drains) is allowed on the way, and so are sends a buffer
/// still accepts.
pub async fn send_until_disconnected<F>(producer: u32, mut send: F)
where
    F: AsyncFnMut(Item, Duration) -> Result<(), SendTimeoutError<Item>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut seq = 0;
    while tokio::time::Instant::now() < deadline {
        match send(Item::new(producer, seq), Duration::from_millis(200)).await {
            Ok(()) | Err(SendTimeoutError::Timeout(_)) => seq += 1,
            Err(SendTimeoutError::Disconnected(item)) => {
                assert_eq!(
                    item,
                    Item::new(producer, seq),
                    "`Disconnected` gives the message back"
                );
                return;
            }
            Err(e) => panic!("sending to a departed receiver: expected `Disconnected`, got: {e}"),
        }
    }
    panic!("sending to a departed receiver did not report `Disconnected` within a minute");
}

/// Panics on a role a case does not have.
pub fn unknown_role(role: &str) -> ! {
    panic!("this case has no child role `{role}`")
}
