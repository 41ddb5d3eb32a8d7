//! The `queue` backend: Python's `multiprocessing.Queue` across processes,
//! on ipc-channel (docs to come).
#![deny(missing_docs)]

mod builder;
mod config;
mod error;
mod handle;
mod handoff;
mod hub;
mod local;
mod op;
mod queue;
mod remote;
mod transport;
mod wire;

pub use builder::Builder;
pub use config::{DEFAULT_QUEUE_PREFETCH, DEFAULT_RECEIVER_PREFETCH};
pub use error::QueueError;
pub use handle::{QueueEnd, QueueReceiver, QueueSender};
pub use handoff::HANDOFF_TIMEOUT;
pub use queue::{Queue, Receiver, Sender, bounded, unbounded};
pub use transport::QueueTransport;
pub use wire::Frame;

/// The largest message the backend carries: ipc-channel's Windows pipes
/// cap a message at 4 GiB, and a message carries a small header.
pub const MAX_MESSAGE_SIZE: usize = (u32::MAX as usize) - (1 << 16);
