//! Shared memory for large items does not exist on these platforms: every
//! item travels inline, through ipc-channel (which on macOS moves a large
//! message as out-of-line memory and on Windows in 64 KiB pieces). The
//! types exist so the code that uses them compiles everywhere; none of
//! them has a value.

use std::io;

use transport_core::{Fill, RawSendError};

use crate::wire::QueueFrame;

/// An item written into a slab (none here).
#[derive(Debug)]
pub(crate) enum Written {}

impl Written {
    pub(crate) fn slab_tag(&self) -> u64 {
        match *self {}
    }
}

/// A member's slab, as the hub holds it (none here).
#[derive(Debug)]
pub(crate) enum Received {}

/// A shared item's bytes, as the hub holds them (none here).
#[derive(Debug)]
pub(crate) enum Segment {}

impl Segment {
    pub(crate) fn len(&self) -> usize {
        match *self {}
    }

    pub(crate) fn tag(&self) -> u64 {
        match *self {}
    }

    pub(crate) fn copy_out(&self, _reader: &mut SlabReader, _limit: usize) -> io::Result<QueueFrame> {
        match *self {}
    }
}

impl From<Written> for Segment {
    fn from(w: Written) -> Self {
        match w {}
    }
}

/// A shared item on its way to a member (none here).
#[derive(Debug)]
pub(crate) enum Outgoing {}

impl Outgoing {
    pub(crate) fn new(segment: Segment, _ticket: u64) -> Outgoing {
        match segment {}
    }
}

/// What a producer made of an item: always bytes of its own here.
#[derive(Debug)]
pub(crate) enum Produced {
    Inline(QueueFrame),
    /// Never made here (a slab item has no value here anyway).
    #[allow(dead_code)]
    Shared(Written),
}

/// A producer's slabs: there are none.
#[derive(Debug)]
pub(crate) enum SlabPool {}

impl SlabPool {
    pub(crate) fn new(_limit: usize) -> Option<SlabPool> {
        None
    }

    pub(crate) fn give_back(&self, _tag: u64) {
        match *self {}
    }

    pub(crate) fn produce(&self, _limit: usize, _fill: &mut Fill<'_>) -> Result<Produced, RawSendError> {
        match *self {}
    }
}

/// Copies items out of other processes' slabs: there are none.
#[derive(Debug, Default)]
pub(crate) struct SlabReader;

/// Slabs one producing process keeps (none here).
pub(crate) const MAX_SLABS: usize = 0;

impl From<Received> for Segment {
    fn from(r: Received) -> Self {
        match r {}
    }
}
