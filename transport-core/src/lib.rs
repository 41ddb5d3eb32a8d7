//! The core of the transport workspace: the [`Transport`] traits, zero-copy
//! [rkyv] messages, errors, hand-off of endpoints to child processes,
//! an in-process [`local`] backend, and (behind the `conformance` feature)
//! the suite every backend must pass.
//!
//! Messages are any type that derives rkyv's `Archive`, `Serialize` and
//! `Deserialize`. A [`Sender`] serializes each message once, straight into
//! the backend's buffer; a [`Receiver`] validates it with bytecheck and
//! gives a [`Received`] guard that reads it in place:
//!
//! ```
//! use transport_core::local;
//!
//! #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, PartialEq)]
//! struct Job {
//!     id: u64,
//!     name: String,
//! }
//!
//! let (tx, rx) = local::bounded::<Job>(16);
//! tx.send(Job { id: 7, name: "resize".into() }).unwrap();
//!
//! let job = rx.recv().unwrap(); // validated, not copied
//! assert_eq!(job.id, 7);
//! assert_eq!(job.name.as_str(), "resize");
//! assert_eq!(job.deserialize().unwrap(), Job { id: 7, name: "resize".into() });
//!
//! drop(tx);
//! assert!(rx.recv().unwrap_err().is_disconnected());
//! ```
//!
//! Backends (`transport-queue`, `transport-pipe`, `transport-shm`)
//! implement [`RawSender`], [`RawReceiver`] and [`Handoff`] on their ends
//! and [`Transport`] on a marker type. This crate has no operating-system
//! code.
#![deny(missing_docs)]

mod connection;
pub mod error;
mod frame;
mod handoff;
pub mod local;
mod message;
mod raw;
pub mod ready;
mod received;
mod receiver;
mod sender;
pub mod sync;
mod transport;
mod wait;

#[cfg(feature = "conformance")]
pub mod conformance;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use connection::Connection;
pub use error::{
    CreateError, FromEnvError, HandoffError, InvalidMessage, MalformedFrame, OpenError, RecvError,
    RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use frame::Frame;
pub use handoff::{CommandExt, ENV_PREFIX, Handoff, env_var, from_env, open_token};
pub use message::{FRAME_ALIGN, FrameWriter, Message, Overflow, SerializeError};
pub use raw::{Fill, RawReceiver, RawRecvError, RawSendError, RawSender, fill_aligned};
pub use ready::{PollRecv, PollSend};
pub use received::Received;
pub use receiver::{Iter, Receiver, TryIter};
pub use sender::Sender;
pub use transport::{Capabilities, ChannelConfig, DEFAULT_MAX_MESSAGE_SIZE, Duplex, Readiness, Transport};
pub use wait::Wait;

/// The rkyv crate this workspace is built with, so users derive with the
/// same version and format features.
pub use rkyv;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
