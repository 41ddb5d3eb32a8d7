//! The [`Message`] bound and the [`FrameWriter`] that serializes a message
//! straight into a backend's destination buffer.

use std::mem::MaybeUninit;

use rkyv::{
    Archive, Deserialize, Serialize,
    api::high::{HighDeserializer, HighSerializer, HighValidator},
    bytecheck::CheckBytes,
    rancor,
    ser::{Positional, Writer, allocator::ArenaHandle},
    util::AlignedVec,
};

/// The alignment of every received buffer, and the largest alignment an
/// archived message may need.
pub const FRAME_ALIGN: usize = 16;

/// A type that can travel through a transport.
///
/// Any type that derives rkyv's three traits is a `Message`:
///
/// ```
/// #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
/// struct Job {
///     id: u64,
///     name: String,
/// }
///
/// fn assert_message<T: transport_core::Message>() {}
/// assert_message::<Job>();
/// ```
///
/// A type without the derives is refused with a note that says what to
/// add:
///
/// ```compile_fail,E0277
/// struct NotDerived(u64);
/// let (tx, rx) = transport_core::local::bounded::<NotDerived>(1)?;
/// ```
///
/// The bound asks that rkyv can serialize the type into a [`FrameWriter`],
/// that bytecheck can validate its archived form (so a receiver never trusts
/// bytes it did not check), and that the archived form can be deserialized
/// back into an owned value.
///
/// Validation is asked for with two error types. A receiver validates with
/// [`rancor::Failure`], which keeps nothing and costs nothing, and only when
/// that fails validates the rejected bytes again with
/// [`rancor::BoxedError`], so that the error says what was wrong with them
/// ("invalid UTF-8", "invalid discriminant '7' for enum 'ArchivedShape'") in
/// every build profile (`rancor::Error` keeps no information in release
/// builds), while valid messages are checked exactly as fast as before.
/// Derived `CheckBytes` impls are generic over the error type and satisfy
/// both as they are.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a message: it does not derive rkyv's `Archive`, `Serialize` and `Deserialize`",
    label = "not a message",
    note = "add `#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]` to `{Self}` (with `rkyv` as a dependency), or `#[rkyv(crate = transport_core::rkyv)]` under the derive to use transport-core's re-export"
)]
pub trait Message:
    Sized
    + Archive<
        Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Failure>>
                      + for<'a> CheckBytes<HighValidator<'a, rancor::BoxedError>>
                      + Deserialize<Self, HighDeserializer<rancor::Error>>,
    > + for<'a, 'w> Serialize<HighSerializer<FrameWriter<'w>, ArenaHandle<'a>, rancor::Error>>
{
}

impl<T> Message for T where
    T: Archive<
            Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Failure>>
                          + for<'a> CheckBytes<HighValidator<'a, rancor::BoxedError>>
                          + Deserialize<T, HighDeserializer<rancor::Error>>,
        > + for<'a, 'w> Serialize<HighSerializer<FrameWriter<'w>, ArenaHandle<'a>, rancor::Error>>
{
}

/// Where a [`FrameWriter`] puts the bytes.
enum Dest<'w> {
    /// Appended to an aligned vector, after the bytes it already held.
    Aligned { vec: &'w mut AlignedVec, base: usize },
    /// Appended to a plain vector, after the bytes it already held.
    Bytes { vec: &'w mut Vec<u8>, base: usize },
    /// Written into a fixed slice (a shared-memory slot).
    Slice(&'w mut [MaybeUninit<u8>]),
    /// Written into a fixed slice, and what does not fit into `spill`.
    Spill {
        slot: &'w mut [MaybeUninit<u8>],
        spill: &'w mut Vec<u8>,
    },
}

/// The rkyv writer that every backend hands to the serializer.
///
/// It appends to a growable buffer (for stream backends, after a frame
/// header the backend already wrote) or fills a fixed slice in place (for
/// shared memory), so a message is serialized exactly once, into the place it
/// is sent from.
///
/// Positions are counted from the start of the message, not of the buffer:
/// rkyv aligns its output by position, so the receiver only needs the
/// message itself to start on a [`FRAME_ALIGN`] boundary.
///
/// The writer never fails. Past its limit it stops storing bytes but keeps
/// counting, so [`FrameWriter::finish`] can report the exact length of a
/// message that was too large.
pub struct FrameWriter<'w> {
    dest: Dest<'w>,
    pos: usize,
    limit: usize,
}

impl std::fmt::Debug for FrameWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameWriter")
            .field("pos", &self.pos)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// A message did not fit: its full length and the limit it exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow {
    /// The length the message would have had.
    pub len: usize,
    /// The largest length allowed.
    pub limit: usize,
}

impl<'w> FrameWriter<'w> {
    /// Appends a message of at most `limit` bytes to `vec`.
    ///
    /// For the receiver's sake the message should start at a multiple of
    /// [`FRAME_ALIGN`] in `vec` when `vec` itself is what gets received.
    pub fn aligned(vec: &'w mut AlignedVec, limit: usize) -> Self {
        let base = vec.len();
        FrameWriter {
            dest: Dest::Aligned { vec, base },
            pos: 0,
            limit,
        }
    }

    /// Appends a message of at most `limit` bytes to `vec`, after whatever
    /// `vec` already holds (a frame header, earlier frames of a batch).
    pub fn bytes(vec: &'w mut Vec<u8>, limit: usize) -> Self {
        let base = vec.len();
        FrameWriter {
            dest: Dest::Bytes { vec, base },
            pos: 0,
            limit,
        }
    }

    /// Writes a message into `slot` in place; the limit is the slot's length.
    pub fn slice(slot: &'w mut [MaybeUninit<u8>]) -> Self {
        let limit = slot.len();
        FrameWriter {
            dest: Dest::Slice(slot),
            pos: 0,
            limit,
        }
    }

    /// Writes a message of at most `limit` bytes into `slot` in place, and
    /// the bytes past the slot's end into `spill` (emptied first).
    ///
    /// For a destination that may not have room for the whole message yet:
    /// a ring whose consumer has released only part of what the size limit
    /// needs. A message that fits the slot is written in place with no
    /// copy; one that does not is written there as far as it goes, and the
    /// caller copies the rest from `spill` once the room has come.
    pub fn slice_spilling(slot: &'w mut [MaybeUninit<u8>], spill: &'w mut Vec<u8>, limit: usize) -> Self {
        spill.clear();
        FrameWriter {
            dest: Dest::Spill { slot, spill },
            pos: 0,
            limit,
        }
    }

    /// The number of message bytes written so far (including any that did
    /// not fit).
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// The largest message this writer accepts.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Appends raw bytes (the `send_bytes` path).
    ///
    /// Inlined: rkyv writes a message a field at a time, mostly a few bytes
    /// of a length known where it is called, which then compile to plain
    /// stores instead of a call and a copy loop each.
    #[inline]
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        if end <= self.limit {
            match &mut self.dest {
                Dest::Aligned { vec, .. } => vec.extend_from_slice(bytes),
                Dest::Bytes { vec, .. } => vec.extend_from_slice(bytes),
                Dest::Slice(slot) => copy_into(&mut slot[self.pos..end], bytes),
                Dest::Spill { slot, spill } => Self::spill(slot, spill, self.pos, bytes),
            }
        }
        self.pos = end;
    }

    /// The part of [`write_bytes`](Self::write_bytes) for a spilling slot:
    /// what fits goes into the slot, the rest into the spill. Not cold: a
    /// ring with a backlog hands out spilling slots for every message.
    fn spill(slot: &mut [MaybeUninit<u8>], spill: &mut Vec<u8>, pos: usize, bytes: &[u8]) {
        let here = slot.len().saturating_sub(pos).min(bytes.len());
        if here > 0 {
            copy_into(&mut slot[pos..pos + here], &bytes[..here]);
        }
        spill.extend_from_slice(&bytes[here..]);
    }

    /// Ends the message: its length, or an [`Overflow`] if it exceeded the
    /// limit, in which case a growable buffer is put back as it was.
    pub fn finish(self) -> Result<usize, Overflow> {
        if self.pos <= self.limit {
            return Ok(self.pos);
        }
        let overflow = Overflow {
            len: self.pos,
            limit: self.limit,
        };
        self.abort();
        Err(overflow)
    }

    /// Drops whatever was written: a growable buffer is put back as it was
    /// before this writer was made.
    pub fn abort(self) {
        match self.dest {
            Dest::Aligned { vec, base } => vec.resize(base, 0),
            Dest::Bytes { vec, base } => vec.truncate(base),
            Dest::Slice(_) => {}
            Dest::Spill { spill, .. } => spill.clear(),
        }
    }

    /// Serializes `value` with rkyv into this writer.
    ///
    /// On error the writer holds a partial message: the caller must
    /// [`abort`](Self::abort) it.
    pub fn serialize<T: Message>(&mut self, value: &T) -> Result<(), SerializeError> {
        let inner = FrameWriter {
            dest: match &mut self.dest {
                Dest::Aligned { vec, base } => Dest::Aligned { vec, base: *base },
                Dest::Bytes { vec, base } => Dest::Bytes { vec, base: *base },
                Dest::Slice(slot) => Dest::Slice(slot),
                Dest::Spill { slot, spill } => Dest::Spill { slot, spill },
            },
            pos: self.pos,
            limit: self.limit,
        };
        let inner = rkyv::api::high::to_bytes_in::<FrameWriter<'_>, rancor::Error>(value, inner)
            .map_err(SerializeError)?;
        self.pos = inner.pos;
        Ok(())
    }
}

impl Positional for FrameWriter<'_> {
    #[inline]
    fn pos(&self) -> usize {
        self.pos
    }
}

impl<E> Writer<E> for FrameWriter<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), E> {
        self.write_bytes(bytes);
        Ok(())
    }
}

/// Copies `src` into `dst`, which has its length.
#[inline]
fn copy_into(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    // A loop the compiler turns into a copy (`write_copy_of_slice` is
    // newer than this workspace's minimum Rust).
    for (d, s) in dst.iter_mut().zip(src) {
        d.write(*s);
    }
}

/// rkyv could not serialize a message (a custom `Serialize` impl failed).
#[derive(Debug)]
pub struct SerializeError(rancor::Error);

impl std::fmt::Display for SerializeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "message could not be serialized: {}", self.0)
    }
}

impl std::error::Error for SerializeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_after_existing_bytes() {
        let mut vec = b"HEADER__".to_vec();
        let mut w = FrameWriter::bytes(&mut vec, 100);
        w.write_bytes(b"abc");
        assert_eq!(w.finish(), Ok(3));
        assert_eq!(vec, b"HEADER__abc");
    }

    #[test]
    fn overflow_reports_full_length_and_restores_buffer() {
        let mut vec = b"HD".to_vec();
        let mut w = FrameWriter::bytes(&mut vec, 4);
        w.write_bytes(b"abc");
        w.write_bytes(b"defgh");
        assert_eq!(w.finish(), Err(Overflow { len: 8, limit: 4 }));
        assert_eq!(vec, b"HD");
    }

    #[test]
    fn slice_is_filled_in_place() {
        let mut slot = [MaybeUninit::new(0u8); 8];
        let mut w = FrameWriter::slice(&mut slot);
        w.write_bytes(b"hi");
        assert_eq!(w.finish(), Ok(2));
        // SAFETY: the first two bytes were written just above.
        let head = unsafe { [slot[0].assume_init(), slot[1].assume_init()] };
        assert_eq!(&head, b"hi");
    }

    #[test]
    fn a_spilling_slice_keeps_what_does_not_fit_in_order() {
        let mut slot = [MaybeUninit::new(0u8); 4];
        let mut spill = b"stale".to_vec();
        let mut w = FrameWriter::slice_spilling(&mut slot, &mut spill, 10);
        w.write_bytes(b"ab");
        w.write_bytes(b"cdef");
        w.write_bytes(b"g");
        assert_eq!(w.finish(), Ok(7));
        // SAFETY: all four bytes of the slot were written just above.
        let head: Vec<u8> = slot.iter().map(|b| unsafe { b.assume_init() }).collect();
        assert_eq!(head, b"abcd");
        assert_eq!(spill, b"efg");

        let mut w = FrameWriter::slice_spilling(&mut slot, &mut spill, 6);
        w.write_bytes(b"0123456789");
        assert_eq!(w.finish(), Err(Overflow { len: 10, limit: 6 }));
        assert!(spill.is_empty(), "an overflow leaves nothing spilled");
    }

    #[test]
    fn positions_are_relative_to_the_message() {
        let mut vec = vec![0u8; 3];
        let mut w = FrameWriter::bytes(&mut vec, 1 << 20);
        w.serialize(&(1u64, String::from("x"))).unwrap();
        let len = w.finish().unwrap();
        let mut aligned = AlignedVec::<16>::new();
        aligned.extend_from_slice(&vec[3..]);
        assert_eq!(aligned.len(), len);
        let back = rkyv::access::<rkyv::Archived<(u64, String)>, rancor::Error>(&aligned).unwrap();
        assert_eq!(back.0, 1);
        assert_eq!(back.1, "x");
    }
}
