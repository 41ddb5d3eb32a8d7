//! The [`Message`] bound and the [`FrameWriter`] that serializes a message
//! straight into a backend's destination buffer.

use std::{marker::PhantomData, mem::MaybeUninit};

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

/// Where a [`FrameWriter`] puts the bytes that its direct room (its `at`
/// and `room`) does not take, and how it ends.
enum Dest<'w> {
    /// Appended to an aligned vector, after the bytes it already held.
    Aligned { vec: &'w mut AlignedVec, base: usize },
    /// Appended to a plain vector, after the bytes it already held.
    Bytes { vec: &'w mut Vec<u8>, base: usize },
    /// Written into a fixed slice (a shared-memory slot), which is the
    /// direct room.
    Slice(PhantomData<&'w mut [MaybeUninit<u8>]>),
    /// Written into a fixed slice (the direct room), and what does not fit
    /// into the spill.
    Spill(&'w mut Vec<u8>),
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
///
/// rkyv writes a message a field at a time, a few bytes each. Every write
/// that fits the writer's *direct room* (the slot, or the vector's spare
/// capacity) is one bounds check and one copy, whatever the destination;
/// only a write past it (a vector that must grow, a slot that spills, the
/// limit) takes the slower path that knows the destination. A vector's
/// length covers what was written once the writer is finished or dropped.
pub struct FrameWriter<'w> {
    /// Message position 0 in the destination: `room` bytes from here are
    /// this writer's to write, for `'w` (the slot; or the vector's buffer
    /// from `base` to its capacity).
    at: *mut u8,
    /// Invariant: at most `limit`.
    room: usize,
    /// Invariant: while at most `limit`, every byte of `[0, pos)` has been
    /// written (at `at`, or for a spill, its first `room` bytes there and
    /// the rest in the spill).
    pos: usize,
    limit: usize,
    dest: Dest<'w>,
}

// SAFETY: a writer is a unique borrow of its destination (the raw pointer
// points into the slot or vector it borrows mutably for `'w`), as `Send`
// and `Sync` as those `&mut` borrows are.
unsafe impl Send for FrameWriter<'_> {}
// SAFETY: as for `Send`: shared access to a writer gives no access to its
// bytes (every method that reads or writes them takes `&mut self`).
unsafe impl Sync for FrameWriter<'_> {}

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
        let room = (vec.capacity() - base).min(limit);
        // SAFETY: `base` is the vector's length, within its allocation (or
        // zero on a dangling pointer).
        let at = unsafe { vec.as_mut_ptr().add(base) };
        FrameWriter {
            at,
            room,
            pos: 0,
            limit,
            dest: Dest::Aligned { vec, base },
        }
    }

    /// Appends a message of at most `limit` bytes to `vec`, after whatever
    /// `vec` already holds (a frame header, earlier frames of a batch).
    pub fn bytes(vec: &'w mut Vec<u8>, limit: usize) -> Self {
        let base = vec.len();
        let room = (vec.capacity() - base).min(limit);
        let at = vec.spare_capacity_mut().as_mut_ptr().cast::<u8>();
        FrameWriter {
            at,
            room,
            pos: 0,
            limit,
            dest: Dest::Bytes { vec, base },
        }
    }

    /// Writes a message into `slot` in place; the limit is the slot's length.
    pub fn slice(slot: &'w mut [MaybeUninit<u8>]) -> Self {
        let limit = slot.len();
        FrameWriter {
            at: slot.as_mut_ptr().cast::<u8>(),
            room: limit,
            pos: 0,
            limit,
            dest: Dest::Slice(PhantomData),
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
            at: slot.as_mut_ptr().cast::<u8>(),
            room: slot.len().min(limit),
            pos: 0,
            limit,
            dest: Dest::Spill(spill),
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
    /// of a length known where it is called, which then compile to a
    /// compare and plain stores instead of a call and a copy loop each.
    #[inline]
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        if end <= self.room {
            // SAFETY: `[pos, end)` lies within the direct room, which this
            // writer may write (see the fields), and `bytes` cannot overlap
            // it: the destination is mutably borrowed by the writer.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.at.add(self.pos), bytes.len()) };
            self.pos = end;
        } else {
            self.write_past_room(bytes);
        }
    }

    /// The part of [`write_bytes`](Self::write_bytes) past the direct room:
    /// past the limit nothing is stored; a vector grows (and the room with
    /// it); a slot writes what fits and spills the rest. Not cold: a ring
    /// with a backlog hands out spilling slots for every message.
    #[inline(never)]
    fn write_past_room(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        if end > self.limit {
            self.pos = end;
            return;
        }
        match &mut self.dest {
            // The room of a slice is its whole limit: not reached.
            Dest::Slice(_) => {}
            Dest::Spill(spill) => {
                let here = self.room.saturating_sub(self.pos).min(bytes.len());
                if here > 0 {
                    // SAFETY: `[pos, pos + here)` lies within the direct
                    // room (`here` is at most `room - pos`), not overlapping
                    // `bytes` (as in `write_bytes`).
                    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.at.add(self.pos), here) };
                }
                spill.extend_from_slice(&bytes[here..]);
            }
            Dest::Bytes { vec, base } => {
                // SAFETY: `[0, pos)` of the message is written (`pos` is
                // within the limit), at `base` in the vector's buffer, all
                // within its capacity: the length may cover it, so that
                // growing the buffer keeps it.
                unsafe { vec.set_len(*base + self.pos) };
                vec.reserve(bytes.len());
                self.room = (vec.capacity() - *base).min(self.limit);
                // SAFETY: `base` is within the (new) allocation.
                self.at = unsafe { vec.as_mut_ptr().add(*base) };
            }
            Dest::Aligned { vec, base } => {
                // SAFETY: as for `Bytes`.
                unsafe { vec.set_len(*base + self.pos) };
                vec.reserve(bytes.len());
                self.room = (vec.capacity() - *base).min(self.limit);
                // SAFETY: `base` is within the (new) allocation.
                self.at = unsafe { vec.as_mut_ptr().add(*base) };
            }
        }
        if matches!(self.dest, Dest::Bytes { .. } | Dest::Aligned { .. }) {
            // SAFETY: the vector grew to hold `end` message bytes (`end` is
            // within the limit, so within the new room), not overlapping
            // `bytes` (as in `write_bytes`).
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.at.add(self.pos), bytes.len()) };
        }
        self.pos = end;
    }

    /// Ends the message: its length, or an [`Overflow`] if it exceeded the
    /// limit, in which case a growable buffer is put back as it was.
    pub fn finish(self) -> Result<usize, Overflow> {
        if self.pos <= self.limit {
            // Dropping the writer sets a vector's length.
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
    pub fn abort(mut self) {
        // Dropping the writer then keeps nothing of the message.
        self.pos = 0;
        if let Dest::Spill(spill) = &mut self.dest {
            spill.clear();
        }
    }

    /// Serializes `value` with rkyv into this writer.
    ///
    /// On error the writer holds a partial message: the caller must
    /// [`abort`](Self::abort) it.
    pub fn serialize<T: Message>(&mut self, value: &T) -> Result<(), SerializeError> {
        let inner = FrameWriter {
            at: self.at,
            room: self.room,
            pos: self.pos,
            limit: self.limit,
            dest: match &mut self.dest {
                Dest::Aligned { vec, base } => Dest::Aligned { vec, base: *base },
                Dest::Bytes { vec, base } => Dest::Bytes { vec, base: *base },
                Dest::Slice(_) => Dest::Slice(PhantomData),
                Dest::Spill(spill) => Dest::Spill(spill),
            },
        };
        match rkyv::api::high::to_bytes_in::<FrameWriter<'_>, rancor::Error>(value, inner) {
            Ok(inner) => {
                // The inner writer's room may have moved (a vector grew).
                (self.at, self.room, self.pos) = (inner.at, inner.room, inner.pos);
                Ok(())
            }
            Err(e) => {
                // The inner writer's room may have moved (a vector grew):
                // what was written before stays, what follows takes the
                // path that finds the room again; the caller aborts.
                self.room = 0;
                Err(SerializeError(e))
            }
        }
    }
}

impl Drop for FrameWriter<'_> {
    /// A vector's length covers the message written, or nothing of it past
    /// the limit or after an abort.
    fn drop(&mut self) {
        let keep = if self.pos <= self.limit { self.pos } else { 0 };
        match &mut self.dest {
            // SAFETY: `[0, keep)` of the message is written at `base`
            // within the vector's capacity (`keep` is `pos` within the
            // limit, see the fields, or zero).
            Dest::Bytes { vec, base } => unsafe { vec.set_len(*base + keep) },
            // SAFETY: as for `Bytes`.
            Dest::Aligned { vec, base } => unsafe { vec.set_len(*base + keep) },
            Dest::Slice(_) | Dest::Spill(_) => {}
        }
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
    fn vectors_grow_as_writes_pass_their_room() {
        // Writes that fit the spare capacity, and writes past it, in turn;
        // a vector with no spare capacity at all to start with.
        let mut vec = b"HD".to_vec();
        vec.shrink_to_fit();
        let mut aligned = AlignedVec::<16>::new();
        aligned.extend_from_slice(b"HD");
        let mut expected = b"HD".to_vec();
        let mut w = FrameWriter::bytes(&mut vec, 1 << 20);
        let mut a = FrameWriter::aligned(&mut aligned, 1 << 20);
        for i in 0..2000usize {
            let piece = vec![i as u8; i % 37];
            w.write_bytes(&piece);
            a.write_bytes(&piece);
            expected.extend_from_slice(&piece);
        }
        assert_eq!(w.finish(), Ok(expected.len() - 2));
        assert_eq!(a.finish(), Ok(expected.len() - 2));
        assert_eq!(vec, expected);
        assert_eq!(aligned.as_slice(), &expected[..]);
    }

    #[test]
    fn an_abort_after_growth_puts_the_vector_back() {
        let mut vec = b"HD".to_vec();
        let mut w = FrameWriter::bytes(&mut vec, 1 << 20);
        w.write_bytes(&[7; 5000]);
        w.abort();
        assert_eq!(vec, b"HD");

        let mut aligned = AlignedVec::<16>::new();
        aligned.extend_from_slice(b"HD");
        let mut a = FrameWriter::aligned(&mut aligned, 1 << 20);
        a.write_bytes(&[7; 5000]);
        a.abort();
        assert_eq!(aligned.as_slice(), b"HD");
    }

    #[test]
    fn a_writer_dropped_unfinished_keeps_what_it_wrote_within_the_limit() {
        let mut vec = b"HD".to_vec();
        let mut w = FrameWriter::bytes(&mut vec, 8);
        w.write_bytes(b"abc");
        drop(w);
        assert_eq!(vec, b"HDabc");

        let mut w = FrameWriter::bytes(&mut vec, 4);
        w.write_bytes(b"abc");
        w.write_bytes(b"defgh");
        drop(w);
        assert_eq!(vec, b"HDabc", "past the limit nothing is kept");
    }

    #[test]
    fn a_message_serialized_into_any_destination_has_the_same_bytes() {
        let value = (
            7u64,
            String::from("a string stored out of line"),
            vec![1u32, 2, 3, 4, 5],
        );
        let reference = rkyv::to_bytes::<rancor::Error>(&value).unwrap();
        let mut vec = Vec::new();
        let mut w = FrameWriter::bytes(&mut vec, 1 << 20);
        w.serialize(&value).unwrap();
        assert_eq!(w.finish(), Ok(reference.len()));
        assert_eq!(vec, reference.as_slice());

        let mut aligned = AlignedVec::<16>::new();
        let mut a = FrameWriter::aligned(&mut aligned, 1 << 20);
        a.serialize(&value).unwrap();
        assert_eq!(a.finish(), Ok(reference.len()));
        assert_eq!(aligned.as_slice(), reference.as_slice());

        let mut slot = [MaybeUninit::new(0u8); 256];
        let mut w = FrameWriter::slice(&mut slot);
        w.serialize(&value).unwrap();
        let len = w.finish().unwrap();
        // SAFETY: the first `len` bytes of the slot were written just above.
        let written: Vec<u8> = slot[..len].iter().map(|b| unsafe { b.assume_init() }).collect();
        assert_eq!(written, reference.as_slice());

        // A slot too short: the rest spilled, in order.
        let mut slot = [MaybeUninit::new(0u8); 16];
        let mut spill = Vec::new();
        let mut w = FrameWriter::slice_spilling(&mut slot, &mut spill, 1 << 20);
        w.serialize(&value).unwrap();
        assert_eq!(w.finish(), Ok(reference.len()));
        // SAFETY: the whole slot was written (the message is longer).
        let mut joined: Vec<u8> = slot.iter().map(|b| unsafe { b.assume_init() }).collect();
        joined.extend_from_slice(&spill);
        assert_eq!(joined, reference.as_slice());
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
