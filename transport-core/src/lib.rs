#![doc = include_str!("../README.md")]
//!
//! # For backend authors
//! Backends (`transport-queue`, `transport-pipe`, `transport-shm`,
//! `transport-nats`) implement the traits of [`backend`] on their ends,
//! [`Handoff`] so the ends reach child processes, and [`Transport`] on a
//! marker type. This crate has no operating-system code.
//!
//! # Features
//! - `conformance`: the generic conformance suite every backend
//!   instantiates in its tests (the `conformance` module, `conformance_tests!`);
//!   turns on `serde`, whose case it runs.
//! - `serde`: `Serde<T>`, so that any serde type travels as a
//!   message (encoded with postcard), received as an owned value.
//! - `tracing`: events through the `tracing` crate on hand-off and open
//!   (and, since the backends' own `tracing` features turn this one on,
//!   their events too); none per message. Off, they cost nothing.
//! - `fuzzing`: hooks for the fuzz targets of the project's `fuzz/`
//!   folder; not for applications.
#![deny(missing_docs)]

pub mod backend;
mod channel;
mod connection;
pub mod error;
pub mod fingerprint;
mod frame;
mod handoff;
mod iter;
pub mod local;
mod message;
mod occupancy;
mod paired;
mod raw;
mod ready;
mod received;
mod receiver;
pub mod select;
mod sender;
#[cfg(feature = "serde")]
mod serde_message;
mod shape;
pub mod sync;
mod trace;
mod transport;
mod versioned;
mod wait;

#[cfg(feature = "conformance")]
pub mod conformance;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use channel::{Channel, channel};
pub use connection::Connection;
pub use error::{
    CreateError, FromEnvError, HandoffError, InvalidMessage, MalformedFrame, OpenError, ReadyError,
    ReadyTimeoutError, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryReadyError, TryRecvError,
    TrySendError,
};
pub use handoff::{CommandExt, ENV_PREFIX, Handoff, env_var, from_env, open_token, spawned};
pub use iter::{IntoIter, Iter, TimeoutIter, TryIter};
pub use message::{Message, SerializeError};
pub use occupancy::Occupancy;
pub use paired::{Paired, PairedEnd};
pub use received::Received;
pub use receiver::Receiver;
pub use select::{Select, Selectable, wait};
pub use sender::Sender;
#[cfg(feature = "serde")]
pub use serde_message::{ArchivedSerde, DecodeError, Serde, SerdeResolver};
pub use shape::{MultiConsumer, MultiProducer};
pub use transport::{Capabilities, ChannelConfig, DEFAULT_MAX_MESSAGE_SIZE, Duplex, Readiness, Transport};
pub use versioned::Versioned;

// The backend-author API at its first paths, for backends written before
// it moved to `backend`: hidden from the docs, which name `backend::`.
#[doc(hidden)]
pub use backend::{
    FRAME_ALIGN, Fill, Frame, FrameWriter, Overflow, PollRecv, PollSend, RawReceiver, RawRecvError,
    RawSendError, RawSender, Wait, fill_aligned,
};

/// The rkyv crate this crate is built with. A crate that derives its
/// messages through this path, without a dependency on `rkyv` of its own,
/// says so with `#[rkyv(crate = transport_core::rkyv)]` on each type.
pub use rkyv;

/// What the macros of this and the backend crates use.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "tracing")]
    pub use tracing;
}
