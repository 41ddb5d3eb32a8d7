//! [`Serde`]: any serde type as a message (feature `serde`), encoded with
//! postcard straight into the backend's buffer.

use std::{fmt, marker::PhantomData};

use rkyv::{
    Archive, Deserialize, Place, Portable, Serialize,
    bytecheck::CheckBytes,
    rancor::{Fallible, Source},
    ser::{Positional, Writer},
    vec::{ArchivedVec, VecResolver},
};

/// A serde type as a message: `Sender<Serde<T>, _>` sends any
/// `T: Serialize`, and the receiver gets it back as an owned value with
/// [`recv_owned`](crate::Receiver::recv_owned) (or
/// [`Received::owned`](crate::Received::owned)).
///
/// ```
/// use transport_core::Serde;
///
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct Job {
///     id: u64,
///     tags: Vec<String>,
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (tx, rx) = transport_core::local::bounded::<Serde<Job>>(4)?;
/// tx.send(Serde(Job { id: 7, tags: vec!["urgent".into()] }))?;
/// let Serde(job) = rx.recv_owned()?;
/// assert_eq!(job, Job { id: 7, tags: vec!["urgent".into()] });
/// # Ok(())
/// # }
/// ```
///
/// The value is encoded with [postcard](https://docs.rs/postcard) by the
/// same [`FrameWriter`](crate::FrameWriter) that writes rkyv messages, so it
/// goes into the backend's buffer (a shared-memory slot, a stream's frame)
/// with no copy in between. The archive around it is a byte string, checked
/// as every message is; the bytes inside are then decoded with postcard,
/// and bytes that do not decode as a `T`, or that go on past its end, are
/// [`Invalid`](crate::RecvError::Invalid), never a panic.
///
/// rkyv stays the fast path: a `Serde` message is decoded into a new value
/// on every receive (no zero-copy view), and a type whose serde form nests
/// without end (a recursive enum) is decoded as deep as the peer's bytes
/// say, so the message size limit bounds that depth. `cargo xtask bench`
/// shows both on the 256-byte message (modes `serde` and `validated`).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serde<T>(pub T);

impl<T> Serde<T> {
    /// The value inside.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Serde<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Serde").field(&self.0).finish()
    }
}

impl<T> From<T> for Serde<T> {
    fn from(value: T) -> Self {
        Serde(value)
    }
}

/// The archived form of a [`Serde<T>`]: the postcard bytes of a `T`.
#[derive(Portable, CheckBytes)]
#[rkyv(crate = rkyv)]
#[bytecheck(crate = rkyv::bytecheck)]
#[repr(transparent)]
pub struct ArchivedSerde<T> {
    bytes: ArchivedVec<u8>,
    kind: PhantomData<fn() -> T>,
}

impl<T> ArchivedSerde<T> {
    /// The encoded bytes, as received.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    /// Decodes the value: all of the bytes must be one `T`.
    ///
    /// # Errors
    /// The bytes do not decode as a `T`, or do not end where it ends.
    pub fn decode(&self) -> Result<T, DecodeError>
    where
        T: serde::de::DeserializeOwned,
    {
        let (value, rest) = postcard::take_from_bytes(self.as_bytes()).map_err(DecodeError::Postcard)?;
        if rest.is_empty() {
            Ok(value)
        } else {
            Err(DecodeError::Trailing { extra: rest.len() })
        }
    }
}

impl<T> fmt::Debug for ArchivedSerde<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchivedSerde")
            .field("len", &self.as_bytes().len())
            .finish()
    }
}

/// Why the bytes of a [`Serde`] message were not a value.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError {
    /// postcard could not decode them as the type.
    Postcard(postcard::Error),
    /// A value decoded, and `extra` bytes were left after it.
    Trailing {
        /// How many bytes followed the value.
        extra: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Postcard(_) => f.write_str("serde message: the bytes are not a value of the type"),
            DecodeError::Trailing { extra } => {
                write!(f, "serde message: {extra} byte(s) follow the value")
            }
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Postcard(e) => Some(e),
            DecodeError::Trailing { .. } => None,
        }
    }
}

/// Where the postcard bytes went: their start and length.
#[derive(Debug)]
pub struct SerdeResolver {
    pos: usize,
    len: usize,
}

impl<T> Archive for Serde<T> {
    type Archived = ArchivedSerde<T>;
    type Resolver = SerdeResolver;

    fn resolve(&self, resolver: Self::Resolver, out: Place<Self::Archived>) {
        // SAFETY: `ArchivedSerde<T>` is `repr(transparent)` over
        // `ArchivedVec<u8>` (its other field is zero-sized), so a place for
        // one is a place for the other, with the same size and alignment.
        let bytes = unsafe { out.cast_unchecked::<ArchivedVec<u8>>() };
        ArchivedVec::<u8>::resolve_from_len(resolver.len, VecResolver::from_pos(resolver.pos), bytes);
    }
}

impl<T, S> Serialize<S> for Serde<T>
where
    T: serde::Serialize,
    S: Fallible + Writer<S::Error> + ?Sized,
    S::Error: Source,
{
    fn serialize(&self, serializer: &mut S) -> Result<Self::Resolver, S::Error> {
        let pos = serializer.pos();
        let mut out = Out {
            serializer,
            failed: None,
        };
        let encoded = postcard::serialize_with_flavor(&self.0, &mut out);
        if let Some(e) = out.failed.take() {
            return Err(e);
        }
        encoded.map_err(S::Error::new)?;
        let len = serializer.pos() - pos;
        Ok(SerdeResolver { pos, len })
    }
}

impl<T, D> Deserialize<Serde<T>, D> for ArchivedSerde<T>
where
    T: serde::de::DeserializeOwned,
    D: Fallible + ?Sized,
    D::Error: Source,
{
    fn deserialize(&self, _: &mut D) -> Result<Serde<T>, D::Error> {
        self.decode().map(Serde).map_err(D::Error::new)
    }
}

/// postcard's output, going to rkyv's writer; a write error is kept to be
/// returned as it was.
struct Out<'s, S: Fallible + ?Sized> {
    serializer: &'s mut S,
    failed: Option<S::Error>,
}

impl<S> postcard::ser_flavors::Flavor for &mut Out<'_, S>
where
    S: Fallible + Writer<S::Error> + ?Sized,
{
    type Output = ();

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.try_extend(&[data])
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        match self.serializer.write(data) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.failed = Some(e);
                Err(postcard::Error::SerializeBufferFull)
            }
        }
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RecvError, local};

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    struct Record {
        name: String,
        values: Vec<u32>,
        note: Option<String>,
    }

    fn record(i: u32) -> Record {
        Record {
            name: format!("record {i}"),
            values: (0..i).collect(),
            note: (i % 2 == 0).then(|| "even".to_owned()),
        }
    }

    #[test]
    fn values_round_trip_through_a_channel() {
        let (tx, rx) = local::bounded::<Serde<Record>>(64).expect("a local channel");
        for i in 0..50 {
            tx.send(Serde(record(i))).expect("sending");
        }
        for i in 0..50 {
            assert_eq!(rx.recv_owned().expect("receiving").into_inner(), record(i));
        }
    }

    #[test]
    fn bytes_that_are_not_a_value_are_invalid() {
        let (tx, rx) = local::bounded::<Serde<Record>>(8).expect("a local channel");
        // A well-formed archive (a byte string, the layout of every
        // `Serde`) whose bytes are not a `Record`: a name that is not UTF-8.
        let bogus = rkyv::to_bytes::<rkyv::rancor::Error>(&vec![3u8, 200, 1, 2]).expect("archiving");
        tx.send_bytes(&bogus).expect("sending raw bytes");
        match rx.recv_owned() {
            Err(RecvError::Invalid(e)) => {
                let text = e.to_string();
                assert!(text.contains("serde message"), "{text}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        // The channel stays usable.
        tx.send(Serde(record(3))).expect("sending");
        assert_eq!(rx.recv_owned().expect("receiving").0, record(3));
    }

    #[test]
    fn trailing_bytes_are_invalid() {
        let mut bytes = postcard::to_stdvec(&record(2)).expect("encoding");
        bytes.push(0);
        let archive = rkyv::to_bytes::<rkyv::rancor::Error>(&bytes).expect("archiving");
        let (tx, rx) = local::bounded::<Serde<Record>>(8).expect("a local channel");
        tx.send_bytes(&archive).expect("sending raw bytes");
        assert!(matches!(rx.recv_owned(), Err(RecvError::Invalid(_))));
    }

    #[test]
    fn the_size_limit_counts_the_encoded_bytes() {
        let config = crate::ChannelConfig {
            max_message_size: 64,
            ..crate::ChannelConfig::default()
        };
        let (tx, _rx) = local::channel::<Serde<Vec<u8>>>(&config).expect("a channel");
        match tx.send(Serde(vec![1u8; 1000])) {
            Err(crate::SendError::TooLarge { len, limit, .. }) => {
                assert!(len > 1000, "{len}");
                assert_eq!(limit, 64);
            }
            other => panic!("expected TooLarge, got {:?}", other.map_err(|e| e.to_string())),
        }
    }
}
