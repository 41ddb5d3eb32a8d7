//! The outcomes of one put or get on either kind of handle (in the
//! creating process or in another one), before they are mapped to
//! transport-core's raw errors.

use transport_core::{RawRecvError, RawSendError};

/// Why a put did not happen.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PutError {
    /// Full until the wait ran out.
    NotReady,
    /// The queue was closed.
    Closed,
    /// Every receiver is gone, or the queue itself is gone.
    Disconnected,
    /// Past the queue's message size limit.
    TooLarge { len: usize, limit: usize },
}

/// Why a get gave no item.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GetError {
    /// Empty until the wait ran out.
    NotReady,
    /// Empty, and closed.
    Closed,
    /// Empty for good (no sender left), or the queue itself is gone.
    Disconnected,
}

impl From<PutError> for RawSendError {
    fn from(e: PutError) -> Self {
        match e {
            PutError::NotReady => RawSendError::NotReady,
            PutError::Closed => RawSendError::Closed,
            PutError::Disconnected => RawSendError::Disconnected,
            PutError::TooLarge { len, limit } => RawSendError::TooLarge { len, limit },
        }
    }
}

impl From<GetError> for RawRecvError {
    fn from(e: GetError) -> Self {
        match e {
            GetError::NotReady => RawRecvError::NotReady,
            GetError::Closed => RawRecvError::Closed,
            GetError::Disconnected => RawRecvError::Disconnected,
        }
    }
}
