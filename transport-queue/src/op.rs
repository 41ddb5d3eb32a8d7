//! The outcomes of one put or get on either kind of handle, before they are
//! mapped to transport-core's raw errors.

use transport_core::{RawRecvError, RawSendError};

pub(crate) use crate::error::QueueError as OpError;

/// Why a put did not happen.
#[derive(Debug)]
pub(crate) enum PutError {
    /// Full until the wait ran out.
    NotReady,
    /// Closed, every receiver is gone, or the queue itself is gone.
    Disconnected,
    /// Past the queue's message size limit.
    TooLarge { len: usize, limit: usize },
}

/// Why a get gave no item.
#[derive(Debug)]
pub(crate) enum GetError {
    /// Empty until the wait ran out.
    NotReady,
    /// Empty for good, or the queue itself is gone.
    Disconnected,
}

impl From<PutError> for RawSendError {
    fn from(e: PutError) -> Self {
        match e {
            PutError::NotReady => RawSendError::NotReady,
            PutError::Disconnected => RawSendError::Disconnected,
            PutError::TooLarge { len, limit } => RawSendError::TooLarge { len, limit },
        }
    }
}

impl From<GetError> for RawRecvError {
    fn from(e: GetError) -> Self {
        match e {
            GetError::NotReady => RawRecvError::NotReady,
            GetError::Disconnected => RawRecvError::Disconnected,
        }
    }
}
