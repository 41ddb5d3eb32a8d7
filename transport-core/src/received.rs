//! The [`Received`] guard: a received message, read in place.

use std::{fmt, marker::PhantomData, ops::Deref};

use rkyv::{Archive, Archived, rancor};

use crate::{
    error::InvalidMessage,
    frame::{Frame, Stored},
    message::Message,
};

/// A received message, read in place.
///
/// It derefs to the archived form `T::Archived` with no copy and no
/// deserialization; [`deserialize`](Self::deserialize) gives an owned `T`.
/// The frame (the bytes, or the shared-memory slot that holds them) is held
/// until the guard is dropped.
pub struct Received<T: Archive, F> {
    stored: Stored<F>,
    _message: PhantomData<Reads<T>>,
}

/// The guard hands out `&Archived<T>`, so it is `Send`/`Sync` only where the
/// archived type is.
type Reads<T> = (fn() -> T, Box<Archived<T>>);

impl<T: Message, F: Frame> Received<T, F> {
    /// Validates `frame` as an archived `T` with bytecheck.
    pub(crate) fn validate(frame: F) -> Result<Self, InvalidMessage> {
        let stored = Stored::new(frame);
        let bytes = stored.bytes();
        rkyv::access::<Archived<T>, rancor::Error>(bytes)
            .map_err(|reason| InvalidMessage::new(bytes.len(), reason))?;
        Ok(Received {
            stored,
            _message: PhantomData,
        })
    }

    /// Wraps `frame` without validating it.
    ///
    /// # Safety
    /// The frame's bytes must be a valid archive of `T`, as written by
    /// rkyv's serializer with this workspace's format features.
    pub(crate) unsafe fn new_unchecked(frame: F) -> Self {
        Received {
            stored: Stored::new(frame),
            _message: PhantomData,
        }
    }

    /// Deserializes the message into an owned `T`.
    ///
    /// # Errors
    /// A custom `Deserialize` impl of the message type may fail; derived
    /// impls do not.
    pub fn deserialize(&self) -> Result<T, rancor::Error> {
        rkyv::deserialize::<T, rancor::Error>(&**self)
    }
}

impl<T: Archive, F: Frame> Received<T, F> {
    /// The message's bytes, as they arrived.
    pub fn bytes(&self) -> &[u8] {
        self.stored.bytes()
    }
}

impl<T: Archive, F: Frame> Deref for Received<T, F> {
    type Target = Archived<T>;

    fn deref(&self) -> &Archived<T> {
        // SAFETY: the guard is built either by `validate`, which checked these
        // bytes as an `Archived<T>` with bytecheck, or by `new_unchecked`,
        // whose caller promised they are valid. `Stored` made them 16-aligned,
        // and the `Frame` contract keeps them the same and unwritten for as
        // long as the guard holds the frame.
        unsafe { rkyv::access_unchecked::<Archived<T>>(self.stored.bytes()) }
    }
}

impl<T: Archive, F: Frame> fmt::Debug for Received<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Received")
            .field("message", &std::any::type_name::<T>())
            .field("len", &self.bytes().len())
            .finish()
    }
}
