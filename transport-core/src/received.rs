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
        if rkyv::access::<Archived<T>, rancor::Failure>(bytes).is_err() {
            return Err(InvalidMessage::new(bytes.len(), explain::<T>(bytes)));
        }
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

    /// Deserializes the message into an owned `T`, with a failure in the
    /// receive errors' vocabulary (what `recv_owned` gives).
    ///
    /// # Errors
    /// [`InvalidMessage`](crate::InvalidMessage) when a custom
    /// `Deserialize` impl of the message type fails (derived impls do not).
    pub fn owned(&self) -> Result<T, crate::error::InvalidMessage> {
        self.deserialize().map_err(|e| {
            crate::error::InvalidMessage::new(
                self.bytes().len(),
                <rancor::BoxedError as rancor::Source>::new(e),
            )
        })
    }
}

/// Why `bytes`, which failed validation as an archived `T`, are invalid:
/// they are validated again with an error type that keeps bytecheck's
/// message. Only rejected messages come here, so valid ones never pay for
/// building that error.
#[cold]
#[inline(never)]
fn explain<T: Message>(bytes: &[u8]) -> rancor::BoxedError {
    match rkyv::access::<Archived<T>, rancor::BoxedError>(bytes) {
        Err(reason) => reason,
        // The frame's bytes do not change while it is held (the `Frame`
        // contract), so the second check fails as the first did; this arm
        // only keeps a broken frame from passing as a valid message.
        Ok(_) => <rancor::BoxedError as rancor::Source>::new(Unexplained),
    }
}

/// The reason given if a second validation of rejected bytes passes.
#[derive(Debug)]
struct Unexplained;

impl fmt::Display for Unexplained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the bytes failed validation once and passed it when checked again")
    }
}

impl std::error::Error for Unexplained {}

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

#[cfg(test)]
mod tests {
    use rkyv::{Archive, Deserialize, Serialize, rancor};

    use crate::{RecvTimeoutError, local};

    #[derive(Archive, Serialize, Deserialize, Debug, PartialEq)]
    enum Shape {
        Circle(u32),
        Square(u32),
    }

    #[derive(Archive, Serialize, Deserialize, Debug, PartialEq)]
    struct Named {
        id: u32,
        name: String,
    }

    /// Sends `bytes` as one frame and returns the receiver's reason for
    /// rejecting it.
    fn rejection<T: crate::Message>(bytes: &[u8]) -> String {
        let (tx, rx) = local::unbounded::<T>().expect("a local channel");
        tx.send_bytes(bytes).expect("sending the bytes");
        match rx.recv_timeout(std::time::Duration::from_secs(5)) {
            Err(RecvTimeoutError::Invalid(e)) => {
                assert_eq!(e.len(), bytes.len());
                e.to_string()
            }
            Ok(_) => panic!("invalid bytes validated"),
            Err(e) => panic!("expected `Invalid`, got: {e}"),
        }
    }

    // The reason comes from bytecheck in every build profile: these tests
    // also run under `cargo test --release`, where rkyv's default error type
    // keeps no information.
    #[test]
    fn an_invalid_discriminant_is_named() {
        let mut bytes = rkyv::to_bytes::<rancor::Error>(&Shape::Square(5))
            .unwrap()
            .to_vec();
        // The root is the only object: its tag is the first byte.
        assert_eq!(bytes[0], 1);
        bytes[0] = 7;
        let reason = rejection::<Shape>(&bytes);
        assert!(
            reason.contains("invalid discriminant '7' for enum 'ArchivedShape'"),
            "{reason}"
        );
        assert!(!reason.contains("without error information"), "{reason}");
    }

    #[test]
    fn invalid_utf8_is_named() {
        let name = "a name long enough to be stored out of line";
        let mut bytes = rkyv::to_bytes::<rancor::Error>(&Named {
            id: 3,
            name: name.into(),
        })
        .unwrap()
        .to_vec();
        let at = bytes
            .windows(name.len())
            .position(|w| w == name.as_bytes())
            .expect("the name is in the archive");
        bytes[at + 2] = 0xFF;
        let reason = rejection::<Named>(&bytes);
        assert!(reason.contains("invalid UTF-8"), "{reason}");
    }
}
