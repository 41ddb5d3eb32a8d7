//! [`Occupancy`]: how full a channel is, where its backend can tell.

/// How many messages wait in a channel, and how many it holds at most: a
/// snapshot, taken at once, which other ends may change the next moment.
///
/// Backends give it where they count messages: the in-process `local`
/// backend exactly, the queue from its creating process (a member asks it,
/// and messages its own receivers prefetched are not counted), shared
/// memory's rings from counts in the segment, approximately (the lane
/// channels' `capacity` is per producer; see `transport_shm::channel`). A
/// backend that bounds bytes rather than messages, or cannot see the other
/// side's count (the pipe: the kernel's buffer; a NATS subject), gives
/// none, and the typed ends' [`len`](crate::Receiver::len) and friends say
/// `None`. Which it is, a backend says before any channel is made:
/// [`Capabilities::counts_messages`](crate::Capabilities::counts_messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Occupancy {
    /// Messages sent and not yet received.
    pub len: usize,
    /// The most messages the channel holds; `None` when it is unbounded.
    pub capacity: Option<usize>,
}

impl Occupancy {
    /// `len` messages in a channel of `capacity` (`None`: unbounded).
    pub fn new(len: usize, capacity: Option<usize>) -> Self {
        Occupancy { len, capacity }
    }

    /// Whether no message waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a bounded channel has no room for another message.
    pub fn is_full(&self) -> bool {
        self.capacity.is_some_and(|cap| self.len >= cap)
    }
}
