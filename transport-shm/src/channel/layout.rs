//! The channel's layout in its segment, and the record format of a lane.
//!
//! ```text
//! payload: [ChannelHeader][LaneCtl × lanes][lane 0 data][lane 1 data]...
//! lane data: records at 16-aligned offsets, each
//!     [header: u64 = message length, or WRAP][stamp: u64 = !position]
//!     [message bytes, padded to 16]
//! ```
//!
//! Each lane is a single-producer, single-consumer log. `tail` (written by
//! its producer) and `head` (written by the consumer) are byte positions that
//! only grow; the offset of position `p` is `p % lane_bytes`. A producer
//! writes a record only where `limit` bytes fit without wrapping; when its
//! offset passes the watermark it writes a `WRAP` header and continues at
//! offset 0, so every message is contiguous and 16-aligned. A producer that
//! finds its lane drained (every byte released) past a small offset starts
//! over at offset 0 early, so request/response traffic stays in the lane's
//! first pages; it says so in `jump_from` rather than with a `WRAP` record,
//! because the next record may overwrite where that record would be.
//!
//! A record's stamp is the bitwise complement of its position: a record
//! left from an earlier lap has another stamp than the one the receiver
//! expects where it reads, so bytes behind a corrupted tail are never taken
//! for new records (and zeroed memory is never a record: `!0` is no
//! position the receiver reaches).
//!
//! # What a receiver accepts
//! Every lane word a receiver uses is read once into its own memory and
//! checked (see `ShmReceiver`): a tail is 16-aligned and ahead of the read
//! position by less than two lanes' bytes (a producer's records take at
//! most one lane's bytes past the head, and its wrap marker moves its tail
//! to the next lap); a record's stamp is
//! its position's, and its length fits the limit, the lap and the tail; a
//! wrap is never at a lap's start, and its target is not past the tail. A
//! lane whose words break a rule is closed: the receiver reports it once as
//! malformed and never reads it again.

use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::error::SegmentError;

/// The header word of a record that says "continue at offset 0".
pub(crate) const WRAP: u64 = u64::MAX;
/// Bytes of a record header.
pub(crate) const RECORD_HEADER: usize = 16;

/// The stamp of a record at `pos`: its position, complemented.
pub(crate) const fn stamp(pos: u64) -> u64 {
    !pos
}
/// Channel flag: blocked ends spin instead of sleeping.
pub(crate) const FLAG_BUSY_POLL: u32 = 1;
/// Channel flag: the segment holds a multi-consumer ring
/// ([`mpmc`](super::mpmc)), not per-producer lanes.
pub(crate) const FLAG_MPMC: u32 = 2;
/// Participant role of a sender.
pub(crate) const ROLE_SENDER: u32 = 1;
/// Participant role of a receiver.
pub(crate) const ROLE_RECEIVER: u32 = 2;

/// The channel header: its immutable geometry, and the receiver's wake-up
/// word on a cache line of its own.
#[repr(C, align(128))]
#[derive(Debug)]
pub(crate) struct ChannelHeader {
    pub(crate) lanes: AtomicU32,
    pub(crate) flags: AtomicU32,
    pub(crate) lane_bytes: AtomicU64,
    pub(crate) watermark: AtomicU64,
    pub(crate) limit: AtomicU64,
    pub(crate) capacity: AtomicU64,
    /// Bumped whenever a participant leaves in an orderly way, so waiters
    /// re-check who is left.
    pub(crate) departures: AtomicU32,
    _pad: [u8; 84],
    /// Bumped by a producer that finds the receiver asleep.
    pub(crate) data_seq: AtomicU32,
    /// Set by a receiver thread (or the async bridge) about to sleep on
    /// `data_seq`; cleared by the producer that wakes it.
    pub(crate) rx_sleeping: AtomicU32,
}

/// One lane's control words: the producer's line, then the consumer's.
#[repr(C, align(128))]
#[derive(Debug)]
pub(crate) struct LaneCtl {
    /// Next free position (producer).
    pub(crate) tail: AtomicU64,
    /// The producer: participant index + 1 in the low 32 bits, its nonce in
    /// the high ones; 0 when the lane is free.
    pub(crate) owner: AtomicU64,
    /// The last position at which the producer started over at offset 0
    /// early, finding the lane drained (producer; 0: never). The consumer
    /// reaching it jumps to the next lap, as at a `WRAP` record.
    pub(crate) jump_from: AtomicU64,
    /// Messages published on the lane so far (producer, stored before the
    /// tail that publishes them). Only counted with: see `count.rs`.
    pub(crate) sent: AtomicU64,
    _pad0: [u8; 96],
    /// First position not yet released (consumer). The only word the
    /// consumer writes per message; the producer derives both its byte
    /// room and its message count from it.
    pub(crate) head: AtomicU64,
    /// Bumped by the consumer that finds the producer asleep.
    pub(crate) space_seq: AtomicU32,
    /// Set by the producer (or the async bridge) about to sleep on
    /// `space_seq`; cleared by the consumer that wakes it.
    pub(crate) tx_sleeping: AtomicU32,
    /// Set by the consumer that found the lane's words impossible: it reads
    /// the lane no more, its producer is disconnected, and no new producer
    /// takes the lane.
    pub(crate) closed: AtomicU32,
    /// Messages the consumer took from the lane so far (consumer, stored as
    /// it hands one out). Only counted with: see `count.rs`.
    pub(crate) received: AtomicU64,
    _pad1: [u8; 96],
}

/// Rounds `n` up to a multiple of `align` (a power of two).
pub(crate) const fn align_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// The bytes a record of a `len`-byte message takes.
pub(crate) const fn record_len(len: usize) -> usize {
    RECORD_HEADER + align_up(len, 16)
}

/// Where things are in a channel's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) lanes: usize,
    pub(crate) lane_bytes: usize,
    pub(crate) watermark: usize,
    pub(crate) limit: usize,
    pub(crate) capacity: u64,
}

impl Geometry {
    /// The geometry for `lanes` lanes of `buffer` queued bytes and messages
    /// up to `limit` bytes.
    pub(crate) fn new(
        lanes: usize,
        buffer: usize,
        limit: usize,
        capacity: u64,
    ) -> Result<Geometry, SegmentError> {
        let too_large = || SegmentError::TooLarge { size: limit };
        let watermark = align_up(buffer.max(4096), 16);
        let lane_bytes = limit
            .checked_add(watermark + 3 * RECORD_HEADER + 4096 + 15)
            .map(|n| align_up(n, 4096))
            .ok_or_else(too_large)?;
        let g = Geometry {
            lanes,
            lane_bytes,
            watermark,
            limit,
            capacity,
        };
        g.payload_len().ok_or_else(too_large)?;
        Ok(g)
    }

    /// Where the lane control blocks start.
    pub(crate) const fn ctl_offset() -> usize {
        align_up(std::mem::size_of::<ChannelHeader>(), 128)
    }

    /// Where lane data starts.
    pub(crate) fn data_offset(&self) -> usize {
        align_up(
            Self::ctl_offset() + self.lanes * std::mem::size_of::<LaneCtl>(),
            4096,
        )
    }

    /// The payload bytes the channel needs.
    pub(crate) fn payload_len(&self) -> Option<usize> {
        let total = self
            .lanes
            .checked_mul(self.lane_bytes)?
            .checked_add(self.data_offset())?;
        (total <= isize::MAX as usize / 2).then_some(total)
    }

    /// Why a lane's tail `t`, read by a consumer whose next position is
    /// `r`, cannot be one a producer wrote; `None` if it can. (Where in
    /// its lap the tail is needs no check: the records before it are each
    /// checked against the lane, and a tail no record reaches is found
    /// when the walk gets there.)
    pub(crate) fn impossible_tail(&self, r: u64, t: u64) -> Option<&'static str> {
        if t < r {
            Some("is behind the records already read")
        } else if t % 16 != 0 {
            Some("is not at a record boundary")
        } else if t - r >= 2 * self.lane_bytes as u64 {
            Some("is more than a lane ahead")
        } else {
            None
        }
    }

    /// Whether this geometry is self-consistent and fits `payload` bytes
    /// (for geometries read from a segment, which are not trusted).
    pub(crate) fn fits(&self, payload: usize) -> bool {
        self.lanes >= 1
            && self.lanes <= 1024
            && self.lane_bytes % 4096 == 0
            && self.watermark % 16 == 0
            && self
                .limit
                .checked_add(self.watermark + 3 * RECORD_HEADER + 15)
                .is_some_and(|n| n <= self.lane_bytes)
            && self.payload_len().is_some_and(|n| n <= payload)
    }
}

const _: () = assert!(std::mem::size_of::<LaneCtl>() == 256);
const _: () = assert!(std::mem::size_of::<ChannelHeader>() == 256);
