//! The messages between a queue's hub (in the creating process) and its
//! members (handles in other processes), carried by ipc-channel; both
//! sides use this module. [`decode`] checks what a member sends without
//! trusting it.
//!
//! An item travels inline (its bytes in the message) or, on Linux past
//! 32 KiB, in shared memory: the message carries a
//! [`SegmentRef`], and the memory's descriptor comes with it (see
//! `crate::sys`'s `segment` module). [`NoSegment`] stands for the segments
//! of platforms that have none.
//!
//! Every member has two private channels: `up` (member → hub) and `down`
//! (hub → member). Only the member holds the `up` sender and only the hub
//! holds the `down` sender, so the death of either side closes the other's
//! receiver: that is how deaths are noticed, in bounded time, on every
//! platform ipc-channel supports.

// Only the Linux code in `sys` reads and writes the raw wire itself; the
// decoder is built (and tested, and fuzzed) on every platform, where it
// may go unused.
#[allow(dead_code)]
pub(crate) mod decode;
mod violation;

use std::fmt;

use ipc_channel::ipc::{IpcReceiver, IpcSender};
use rkyv::util::AlignedVec;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use transport_core::FRAME_ALIGN;

pub(crate) use violation::Violation;

/// The bytes of one received message, 16-aligned (what a get returns
/// under its guard).
pub type QueueFrame = AlignedVec<FRAME_ALIGN>;

/// The most bytes of items one [`Up::Return`] carries (a larger item goes
/// alone).
pub(crate) const RETURN_BYTES: usize = 1 << 20;

/// The most segments one message carries (ipc-channel's, and this crate's,
/// limit of descriptors per message).
pub(crate) const MAX_SEGMENTS_PER_MESSAGE: usize = 60;

/// An item in a message: its bytes, or where they are in shared memory.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum Item<S> {
    /// The bytes themselves.
    Inline(Bytes),
    /// A segment of shared memory holding them.
    Shared(S),
}

impl<S> Item<S> {
    /// The item's length in bytes, where the segment says it.
    pub(crate) fn len_with(&self, seg_len: impl Fn(&S) -> usize) -> usize {
        match self {
            Item::Inline(b) => b.0.len(),
            Item::Shared(s) => seg_len(s),
        }
    }
}

/// A segment of shared memory, as a message names it: the index of its
/// descriptor among those the message carries, a tag (the producer's name
/// for the segment going up, the hub's ticket for this delivery going
/// down), and the item's length (from the segment's start).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
// Written and read only by the Linux code in `sys`.
#[allow(dead_code)]
pub(crate) struct SegmentRef {
    pub(crate) fd: u32,
    pub(crate) tag: u64,
    pub(crate) len: u64,
}

/// The segment of a platform that has none: no value of it exists.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum NoSegment {}

/// A frame on the wire: written as one byte string, read straight into a
/// fresh 16-aligned buffer (the only copy on the receiving side).
pub(crate) struct Bytes(pub(crate) QueueFrame);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0.as_slice())
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl de::Visitor<'_> for Visit {
            type Value = Bytes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }

            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                let mut frame = QueueFrame::with_capacity(v.len());
                frame.extend_from_slice(v);
                Ok(Bytes(frame))
            }
        }
        d.deserialize_bytes(Visit)
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({})", self.0.len())
    }
}

/// What a handle may do. A handle that may do both counts as a sender and
/// as a receiver when the queue decides whether it is disconnected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Role {
    /// Put only (the `Transport` sender view).
    Send,
    /// Get only (the `Transport` receiver view).
    Recv,
    /// Put and get (a [`Queue`](crate::Queue)).
    Both,
}

impl Role {
    pub(crate) fn sends(self) -> bool {
        matches!(self, Role::Send | Role::Both)
    }

    pub(crate) fn receives(self) -> bool {
        matches!(self, Role::Recv | Role::Both)
    }
}

/// A new member asking to join: its two channels and its role. A hub that
/// reads members' bytes itself (see [`crate::sys`]) decodes the same
/// message with the channels as indices into the descriptors that came
/// with it (`J` below).
#[derive(Serialize, Deserialize)]
pub(crate) struct JoinRequest {
    pub(crate) up: IpcReceiver<Request>,
    pub(crate) down: IpcSender<Down>,
    pub(crate) role: Role,
}

/// [`JoinRequest`] as a hub decodes it from raw bytes: ipc-channel writes a
/// channel as the index of its descriptor among those the message carries.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
// Written and read only by the Linux code in `sys`.
#[allow(dead_code)]
pub(crate) struct JoinIndices {
    pub(crate) up: usize,
    pub(crate) down: usize,
    pub(crate) role: Role,
}

impl fmt::Debug for JoinRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinRequest")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The one message of a hand-off's server.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum Boot<J = JoinRequest> {
    /// The child opened the endpoint.
    Join(J),
    /// The parent gave up waiting for the child.
    Cancel,
}

/// Member → hub: a request, how many of the hub's messages the member had
/// read when it sent it (the hub sends at once only what cannot fill the
/// member's buffer), and how many items its gets have taken (items handed
/// to a prefetching member count against a bounded queue's capacity until
/// then).
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Request<J = JoinRequest, S = NoSegment> {
    pub(crate) read: u64,
    pub(crate) took: u64,
    pub(crate) up: Up<J, S>,
}

/// What a member asks. Requests carry an id the reply repeats. (New
/// requests go at the end: the order fixes each one's number on the wire.)
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum Up<J = JoinRequest, S = NoSegment> {
    /// Put a frame; `block` parks it at the hub while the queue is full.
    Put { id: u64, frame: Bytes, block: bool },
    /// Withdraw a parked put, if it is still parked.
    CancelPut { id: u64 },
    /// The member may take `n` more items.
    Want { n: u32 },
    /// The member takes no more items until it asks again.
    Unwant,
    /// Answer [`Reply::Room`] once a put could go in (or would fail for
    /// good): an async sender's wait for room.
    WatchRoom { id: u64 },
    /// How many items the hub holds.
    Len { id: u64 },
    /// One item is done (joinable queues).
    TaskDone { id: u64 },
    /// Reply once every item put was marked done.
    Join { id: u64 },
    /// Withdraw a join.
    CancelJoin { id: u64 },
    /// Close the queue.
    Close { id: u64 },
    /// Items the member had prefetched and gives back as it leaves (in
    /// messages of at most [`RETURN_BYTES`] of items, or one item).
    Return { frames: Vec<Bytes> },
    /// A child of this member opened a hand-off: add it as a member.
    Adopt(J),
    /// Put an item that is in shared memory (as [`Up::Put`] otherwise).
    PutShared { id: u64, segment: S, block: bool },
    /// The member copied out the shared items the hub delivered under
    /// these tickets: their producers may write there again.
    Release { tickets: Vec<u64> },
}

impl<J, S> Up<J, S> {
    /// The same request with its adoption's channels made by `join` and its
    /// segment by `segment` (the other requests carry neither).
    pub(crate) fn try_map<K, T, E>(
        self,
        join: impl FnOnce(J) -> Result<K, E>,
        segment: impl FnOnce(S) -> Result<T, E>,
    ) -> Result<Up<K, T>, E> {
        Ok(match self {
            Up::Put { id, frame, block } => Up::Put { id, frame, block },
            Up::CancelPut { id } => Up::CancelPut { id },
            Up::Want { n } => Up::Want { n },
            Up::Unwant => Up::Unwant,
            Up::WatchRoom { id } => Up::WatchRoom { id },
            Up::Len { id } => Up::Len { id },
            Up::TaskDone { id } => Up::TaskDone { id },
            Up::Join { id } => Up::Join { id },
            Up::CancelJoin { id } => Up::CancelJoin { id },
            Up::Close { id } => Up::Close { id },
            Up::Return { frames } => Up::Return { frames },
            Up::Adopt(j) => Up::Adopt(join(j)?),
            Up::PutShared {
                id,
                segment: s,
                block,
            } => Up::PutShared {
                id,
                segment: segment(s)?,
                block,
            },
            Up::Release { tickets } => Up::Release { tickets },
        })
    }
}

/// Hub → member. (New messages go at the end.)
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum Down<S = NoSegment> {
    /// The first message a new member gets.
    Welcome(Welcome),
    /// Items for the member, in queue order.
    Items(Vec<Item<S>>),
    /// No item will ever come again and the queue is empty: it was
    /// closed (`closed`), or no sender is left.
    Drained { closed: bool },
    /// The answer to [`Up::Unwant`]; every item sent before it counts.
    Unwanted,
    /// The answer to a request.
    Reply { id: u64, reply: Reply },
    /// The queue turned this member away instead of welcoming it (its first
    /// and last message): whether the hand-off had been used by another
    /// process, and why.
    Refused { already_used: bool, reason: String },
    /// Consumers copied out these shared items the member put (by the tags
    /// it gave them): it may write there again.
    Released { tags: Vec<u64> },
}

impl<S> Down<S> {
    /// The same message with its segments made by `f`.
    pub(crate) fn try_map<T, E>(self, mut f: impl FnMut(S) -> Result<T, E>) -> Result<Down<T>, E> {
        self.map_items(|item| match item {
            Item::Inline(b) => Ok(Item::Inline(b)),
            Item::Shared(s) => f(s).map(Item::Shared),
        })
    }

    /// The same message with each shared item's bytes fetched by `f`: no
    /// segment is left in it.
    // Used only by the Linux code in `sys`.
    #[allow(dead_code)]
    pub(crate) fn fetch<T, E>(self, mut f: impl FnMut(S) -> Result<QueueFrame, E>) -> Result<Down<T>, E> {
        self.map_items(|item| match item {
            Item::Inline(b) => Ok(Item::Inline(b)),
            Item::Shared(s) => f(s).map(|frame| Item::Inline(Bytes(frame))),
        })
    }

    fn map_items<T, E>(self, f: impl FnMut(Item<S>) -> Result<Item<T>, E>) -> Result<Down<T>, E> {
        Ok(match self {
            Down::Welcome(w) => Down::Welcome(w),
            Down::Items(items) => Down::Items(items.into_iter().map(f).collect::<Result<_, E>>()?),
            Down::Drained { closed } => Down::Drained { closed },
            Down::Unwanted => Down::Unwanted,
            Down::Reply { id, reply } => Down::Reply { id, reply },
            Down::Refused { already_used, reason } => Down::Refused { already_used, reason },
            Down::Released { tags } => Down::Released { tags },
        })
    }
}

/// The settings a member learns when it joins.
#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
pub(crate) struct Welcome {
    pub(crate) capacity: Option<u64>,
    pub(crate) max_message_size: u64,
    pub(crate) prefetch: u32,
}

/// The answer to one request.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    PutOk,
    PutFull,
    PutClosed,
    PutDisconnected,
    PutTooLarge { len: u64, limit: u64 },
    PutCancelled,
    Room,
    Len(u64),
    Done(bool),
    Joined,
    JoinCancelled,
    Closed,
}
