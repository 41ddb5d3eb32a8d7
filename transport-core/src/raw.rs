//! The two traits a backend implements: [`RawSender`] and [`RawReceiver`].
//!
//! They move frames (the bytes of one message) and know nothing of types;
//! the typed [`Sender`](crate::Sender) and [`Receiver`](crate::Receiver)
//! serialize, validate and map errors on top of them.

use std::io;

use rkyv::util::AlignedVec;

use crate::{
    error::MalformedFrame,
    frame::Frame,
    message::{FRAME_ALIGN, FrameWriter, Overflow, SerializeError},
    occupancy::Occupancy,
    wait::Wait,
};

/// Why a raw send did not happen.
#[derive(Debug)]
#[non_exhaustive]
pub enum RawSendError {
    /// The channel had no room before the wait ran out ([`Wait::Never`]:
    /// it is full; [`Wait::Until`]: it stayed full until the deadline).
    NotReady,
    /// Every receiver is gone.
    Disconnected,
    /// The channel was closed (a queue's `close`): it takes no frame any
    /// more. Backends without a `close` never return it.
    Closed,
    /// The frame is longer than the channel allows.
    TooLarge {
        /// The frame's full length in bytes.
        len: usize,
        /// The channel's limit in bytes.
        limit: usize,
    },
    /// The fill callback failed to serialize the message.
    Serialize(SerializeError),
    /// The operating system refused the send.
    Io(io::Error),
}

/// Why a raw receive gave no frame.
#[derive(Debug)]
#[non_exhaustive]
pub enum RawRecvError {
    /// No frame arrived before the wait ran out.
    NotReady,
    /// Every sender is gone and every frame was received.
    Disconnected,
    /// The channel was closed (a queue's `close`) and every frame was
    /// received. Backends without a `close` never return it.
    Closed,
    /// The incoming frame announces a length past the receiver's limit.
    TooLarge {
        /// The announced length in bytes.
        len: usize,
        /// The receiver's limit in bytes.
        limit: usize,
    },
    /// The bytes on the wire do not form a frame.
    Malformed(MalformedFrame),
    /// The operating system refused the receive.
    Io(io::Error),
}

/// The callback a raw send uses to write the frame's bytes in place.
pub type Fill<'f> = dyn FnMut(&mut FrameWriter<'_>) -> Result<(), SerializeError> + 'f;

impl From<Overflow> for RawSendError {
    fn from(o: Overflow) -> Self {
        RawSendError::TooLarge {
            len: o.len,
            limit: o.limit,
        }
    }
}

/// Has `fill` write a frame of at most `limit` bytes into a new aligned
/// buffer: the destination of backends that hand the receiver a heap buffer
/// (the buffer is what gets received, so this is not an extra copy).
pub fn fill_aligned(limit: usize, fill: &mut Fill<'_>) -> Result<AlignedVec<FRAME_ALIGN>, RawSendError> {
    let mut frame = AlignedVec::new();
    let mut writer = FrameWriter::aligned(&mut frame, limit);
    if let Err(e) = fill(&mut writer) {
        writer.abort();
        return Err(RawSendError::Serialize(e));
    }
    writer.finish()?;
    Ok(frame)
}

/// The sending half of a backend: moves frames to the receiving half.
///
/// # Contract
/// - [`send_frame`](Self::send_frame) calls `fill` at most once, with a
///   writer whose limit is the channel's message size limit, and only once it
///   has a destination for the frame (for shared memory, after it owns a
///   slot). It does not call `fill` if it fails before that.
/// - A frame is delivered whole, once, or not at all: a frame that failed
///   (too large, serialization error) leaves no trace in the channel.
/// - Frames from one sender arrive in the order they were sent.
/// - When every receiver is gone, sends return
///   [`RawSendError::Disconnected`] in bounded time; a send never kills the
///   process (no `SIGPIPE`).
/// - [`Wait::Never`] never blocks; [`Wait::Until`] returns by the deadline
///   (plus scheduling delay) with [`RawSendError::NotReady`] if there was no
///   room.
pub trait RawSender: Send + Sized {
    /// Sends one frame whose bytes `fill` writes.
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError>;

    /// The largest frame this sender accepts, in bytes.
    fn max_message_size(&self) -> usize;

    /// Sends `bytes` as one frame, unchanged (Python's `send_bytes`).
    fn send_bytes(&self, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        self.send_frame(wait, &mut |w| {
            w.write_bytes(bytes);
            Ok(())
        })
    }

    /// Another handle to the same sending side, where the backend is
    /// multi-producer; `None` otherwise.
    fn try_clone(&self) -> Option<Self> {
        None
    }
    /// How full the channel is, where the backend counts messages; `None`
    /// (the default) where it cannot tell.
    fn occupancy(&self) -> Option<Occupancy> {
        None
    }
}

/// The receiving half of a backend: gives out frames in order.
///
/// # Contract
/// - [`recv_frame`](Self::recv_frame) returns each frame exactly once, in the
///   order its sender sent it, with exactly the bytes that were sent.
/// - Once every sender is gone, the frames already sent are still returned,
///   then [`RawRecvError::Disconnected`]; a sender that dies without
///   closing (killed) is noticed in bounded time.
/// - A frame that announces a length past the limit gives
///   [`RawRecvError::TooLarge`] without allocating that length; bytes that
///   do not form a frame give [`RawRecvError::Malformed`]; neither panics.
/// - [`Wait::Never`] never blocks; [`Wait::Until`] returns by the deadline
///   with [`RawRecvError::NotReady`] if no frame arrived.
pub trait RawReceiver: Send + Sized {
    /// What a received frame is held in.
    type Frame: Frame;

    /// Receives the next frame.
    fn recv_frame(&self, wait: Wait) -> Result<Self::Frame, RawRecvError>;

    /// Another handle to the same receiving side, where the backend is
    /// multi-consumer; `None` otherwise.
    fn try_clone(&self) -> Option<Self> {
        None
    }
    /// How full the channel is, where the backend counts messages; `None`
    /// (the default) where it cannot tell.
    fn occupancy(&self) -> Option<Occupancy> {
        None
    }
}

/// A shared reference to a sender is a sender: one end can be lent to the
/// typed wrappers for a call (a two-way [`Connection`](crate::Connection)
/// does), or used by several threads at once, where the end is `Sync`.
///
/// [`try_clone`](RawSender::try_clone) gives `None`: a reference cannot
/// make an owned handle of its own.
impl<E: RawSender + Sync> RawSender for &E {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        (**self).send_frame(wait, fill)
    }

    fn max_message_size(&self) -> usize {
        (**self).max_message_size()
    }

    fn send_bytes(&self, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        (**self).send_bytes(bytes, wait)
    }

    fn occupancy(&self) -> Option<Occupancy> {
        (**self).occupancy()
    }
}

/// A shared reference to a receiver is a receiver, where the end is `Sync`
/// (as for [`RawSender`]).
impl<E: RawReceiver + Sync> RawReceiver for &E {
    type Frame = E::Frame;

    fn recv_frame(&self, wait: Wait) -> Result<E::Frame, RawRecvError> {
        (**self).recv_frame(wait)
    }

    fn occupancy(&self) -> Option<Occupancy> {
        (**self).occupancy()
    }
}
