//! What the async cases share: the runtime, bounded waits, channels.

use std::future::Future;

use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    ChannelConfig, Message, RecvError, Transport,
    backend::{PollRecv, PollSend},
    conformance::LONG,
};

/// A backend the async API can drive.
pub trait AsyncTransport: Transport<Sender: PollSend, Receiver: PollRecv> {}

impl<T: Transport<Sender: PollSend, Receiver: PollRecv>> AsyncTransport for T {}

thread_local! {
    /// The tokio runtime of this thread: each process, and each child
    /// thread, has one, which every operation of a case runs on.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
}

/// Runs `f` to its end on this thread's tokio runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(f))
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

/// Panics on a role a case does not have.
pub fn unknown_role(role: &str) -> ! {
    panic!("this case has no child role `{role}`")
}
