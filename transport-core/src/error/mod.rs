//! Errors, one type per operation and blocking mode, in crossbeam's
//! vocabulary plus what inter-process transports add.
//!
//! Send errors give the message back. Messages are lower-case and name what
//! failed and why; operating-system causes come back from
//! [`source()`](std::error::Error::source).

mod handoff;
mod invalid;
mod recv;
mod select;
mod send;
mod setup;
mod view;

pub use handoff::{FromEnvError, HandoffError, OpenError};
pub use invalid::{InvalidMessage, MalformedFrame};
pub use recv::{RecvError, RecvTimeoutError, TryRecvError};
pub use select::{ReadyError, ReadyTimeoutError, TryReadyError};
pub use send::{SendError, SendTimeoutError, TrySendError};
pub use setup::CreateError;
