//! The parent's end of a trial, used through the blocking API or through
//! transport-adapters' async API (one tokio call per receive or send, so
//! the wait goes through the backend's `PollRecv` / `PollSend` readiness).

use std::time::Duration;

use transport_adapters::{AsyncReceiver, AsyncSender};
use transport_core::{
    PollRecv, PollSend, RawReceiver, RawSender, Receiver, RecvTimeoutError, SendTimeoutError, Sender,
};

use crate::message::Msg;

/// Which API the parent uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `Receiver::recv_timeout`, `Sender::send_timeout`.
    Blocking,
    /// `AsyncReceiver::recv_timeout`, `AsyncSender::send_timeout`, on a
    /// current-thread tokio runtime.
    Async,
}

impl Api {
    /// The name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Api::Blocking => "blocking",
            Api::Async => "async",
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting a tokio runtime: {e}"))
}

/// A received message: its number field, and whether it is intact.
pub struct Got {
    /// The number the message carries.
    pub seq: u64,
    /// Whether the whole message is as it was sent.
    pub intact: bool,
}

/// The parent's receiving end.
pub enum Rx<R> {
    Blocking(Receiver<Msg, R>),
    Async(tokio::runtime::Runtime, AsyncReceiver<Msg, R>),
}

impl<R: RawReceiver + PollRecv> Rx<R> {
    pub fn new(raw: R, api: Api) -> Result<Self, String> {
        Ok(match api {
            Api::Blocking => Rx::Blocking(Receiver::from_raw(raw)),
            Api::Async => Rx::Async(runtime()?, AsyncReceiver::from_raw(raw)),
        })
    }

    /// Receives one message, waiting at most `wait`.
    pub fn recv_timeout(&mut self, wait: Duration) -> Result<Got, RecvTimeoutError> {
        let got = |msg: &crate::message::ArchivedMsg| Got {
            seq: msg.seq.to_native(),
            intact: msg.intact_seq().is_some(),
        };
        match self {
            Rx::Blocking(rx) => rx.recv_timeout(wait).map(|m| got(&m)),
            Rx::Async(rt, rx) => rt.block_on(rx.recv_timeout(wait)).map(|m| got(&m)),
        }
    }
}

/// The parent's sending end.
pub enum Tx<S> {
    Blocking(Sender<Msg, S>),
    Async(tokio::runtime::Runtime, AsyncSender<Msg, S>),
}

impl<S: RawSender + PollSend> Tx<S> {
    pub fn new(raw: S, api: Api) -> Result<Self, String> {
        Ok(match api {
            Api::Blocking => Tx::Blocking(Sender::from_raw(raw)),
            Api::Async => Tx::Async(runtime()?, AsyncSender::from(Sender::from_raw(raw))),
        })
    }

    /// Sends message `seq`, waiting at most `wait` for room.
    pub fn send_timeout(&mut self, seq: u64, wait: Duration) -> Result<(), SendTimeoutError<Msg>> {
        match self {
            Tx::Blocking(tx) => tx.send_timeout(Msg::new(seq), wait),
            Tx::Async(rt, tx) => rt.block_on(tx.send_timeout(Msg::new(seq), wait)),
        }
    }
}
