//! The shared-memory backend of the transport workspace.
#![deny(missing_docs)]

pub mod channel;
mod error;
mod liveness;
mod segment;
mod sys;

pub use channel::{Shm, ShmBusyPoll, ShmConfig, ShmMpsc, ShmReceiver, ShmSender, ShmUntrusted, WaitMode};
pub use error::SegmentError;
pub use segment::cleanup_stale;
