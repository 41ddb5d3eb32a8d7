//! The shared-memory channel's settings.

use transport_core::ChannelConfig;

/// How a blocked end waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WaitMode {
    /// Spin briefly, then sleep on the operating system's wait primitive;
    /// the other side pays one wake-up call when it finds a sleeper.
    #[default]
    Blocking,
    /// Never sleep: spin (with a CPU pause hint) until ready or the deadline.
    /// Lowest latency, one busy core per waiting end, and no system call on
    /// the send or receive path.
    BusyPoll,
}

/// The settings of a shared-memory channel.
///
/// The ring of each producer holds up to [`buffer_bytes`](Self::buffer_bytes)
/// of queued messages, plus room for one message of the full size limit, so
/// a message of any allowed size can always be written in place. Only the
/// pages that messages actually touch use memory: the size limit reserves
/// address space, not memory (on Windows, the `shared_memory` crate backs the
/// mapping with a temporary file of that size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShmConfig {
    /// How many messages may wait per producer; `None`: bounded by
    /// `buffer_bytes` only. A message counts until it is released and so
    /// are all those sent before it on the same producer (a received
    /// message dropped out of order frees its place with the earlier ones).
    /// The ends' `capacity()` is this bound (see the channel's
    /// [occupancy](super#occupancy)).
    pub capacity: Option<usize>,
    /// The largest serialized message, in bytes.
    pub max_message_size: usize,
    /// Bytes of queued messages per producer before sends wait.
    pub buffer_bytes: usize,
    /// How many producers may be attached at once (1 for single-producer
    /// channels).
    pub max_producers: usize,
    /// How blocked ends wait.
    pub wait_mode: WaitMode,
    /// Copy each message out of shared memory before validating it, so a
    /// sender that keeps writing a slot it committed cannot affect the
    /// validated bytes.
    pub untrusted: bool,
}

/// The default queued bytes per producer: enough for several 1 MiB
/// messages in flight at once, so writing one overlaps reading the last.
/// Traffic that drains the ring between messages stays in its first 64 KiB
/// (a drained ring starts over at offset 0), hot in cache and TLB; only
/// pages that messages touch use memory.
pub const DEFAULT_BUFFER_BYTES: usize = 4 << 20;
/// The default number of producers of a multi-producer channel.
pub const DEFAULT_MAX_PRODUCERS: usize = 8;

impl Default for ShmConfig {
    fn default() -> Self {
        ShmConfig::from(&ChannelConfig::default())
    }
}

impl From<&ChannelConfig> for ShmConfig {
    fn from(c: &ChannelConfig) -> Self {
        ShmConfig {
            capacity: c.capacity,
            max_message_size: c.max_message_size,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            max_producers: 1,
            wait_mode: WaitMode::Blocking,
            untrusted: false,
        }
    }
}

impl ShmConfig {
    /// A single-producer channel holding at most `capacity` messages.
    pub fn bounded(capacity: usize) -> Self {
        ShmConfig {
            capacity: Some(capacity),
            ..Self::default()
        }
    }

    /// The same settings with another message size limit.
    pub fn max_message_size(mut self, limit: usize) -> Self {
        self.max_message_size = limit;
        self
    }

    /// The same settings with another buffer size per producer.
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// The same settings for up to `n` producers.
    pub fn max_producers(mut self, n: usize) -> Self {
        self.max_producers = n;
        self
    }

    /// The same settings with another wait mode.
    pub fn wait_mode(mut self, mode: WaitMode) -> Self {
        self.wait_mode = mode;
        self
    }

    /// The same settings, copying messages out before validation.
    pub fn untrusted(mut self, untrusted: bool) -> Self {
        self.untrusted = untrusted;
        self
    }
}
