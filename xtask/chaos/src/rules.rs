//! What each backend's documentation allows a kill to lose, one constant
//! per backend and side, each with where the rule is written. When a
//! backend changes its promise, change its line here.

use crate::CAPACITY;

/// What may be lost when one side of a channel is killed: messages whose
/// send had returned `Ok` and that the survivor (or, for a killed
/// consumer, the consumer before it died) never received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossRule {
    /// Nothing may be lost.
    Nothing,
    /// At most this many messages.
    Messages(u64),
    /// Only the unwritten tail of a burst: the lost messages are the last
    /// ones sent, and their frames (message plus `header` bytes each) add
    /// up to at most `limit` bytes plus the last one's frame (the send
    /// that filled the backlog).
    TailBytes {
        /// The byte budget of the tail.
        limit: u64,
        /// Bytes of framing per message.
        header: u64,
        /// Whether the kernel's socket buffers add to the budget (what a
        /// killed receiver had not read yet): the system's default sizes,
        /// see [`socket_buffers`].
        kernel_buffers: bool,
    },
}

impl LossRule {
    /// How the rule reads in the table.
    pub fn describe(self) -> String {
        match self {
            LossRule::Nothing => "0".to_owned(),
            LossRule::Messages(n) => format!("≤ {n} msgs"),
            LossRule::TailBytes {
                limit,
                kernel_buffers: false,
                ..
            } => format!("tail ≤ {limit} B + 1 frame"),
            LossRule::TailBytes { limit, .. } => format!("tail ≤ {limit} B + socket buffers + 1 frame"),
        }
    }
}

/// One backend's rules.
#[derive(Debug)]
pub struct Rules {
    /// The backend's name (`Transport::NAME`).
    pub backend: &'static str,
    /// The child producer is killed; the parent receives.
    pub producer_killed: LossRule,
    /// Where `producer_killed` is written.
    pub producer_doc: &'static str,
    /// The child consumer is killed; the parent sends.
    pub consumer_killed: LossRule,
    /// Where `consumer_killed` is written.
    pub consumer_doc: &'static str,
}

/// The rules of every backend the campaign kills.
pub const RULES: [Rules; 4] = [
    Rules {
        backend: "queue",
        producer_killed: LossRule::Nothing,
        producer_doc: "transport-queue/src/lib.rs, # Crashes: a producer loses \"nothing whose `put` returned\"",
        // A bounded queue holds at most its capacity in flight, counting
        // what a prefetching receiver asked for or holds ahead of its gets
        // ("a QueueReceiver (prefetch n): at most the n items it held (on a
        // bounded queue of capacity c: at most min(n, c))", within the
        // same c), plus the one message the consumer may have taken but
        // not yet counted when it died.
        consumer_killed: LossRule::Messages(CAPACITY + 1),
        consumer_doc: "transport-queue/src/lib.rs, # Design: \"a bounded queue of capacity n holds at most n items \
                       in flight: in the queue, on their way to a prefetching receiver, or held there ahead of its \
                       gets\"; # Crashes: a QueueReceiver loses at most min(n, c)",
    },
    Rules {
        backend: "pipe",
        producer_killed: LossRule::TailBytes {
            limit: transport_pipe::BACKLOG as u64,
            header: 16,
            kernel_buffers: false,
        },
        producer_doc: "transport-pipe/src/lib.rs, # Coalescing: \"a process killed at that moment loses what its \
                       backlog held (at most `BACKLOG` bytes plus one frame ...)\"",
        consumer_killed: LossRule::TailBytes {
            limit: (transport_pipe::BACKLOG + transport_pipe::DRAIN_LIMIT) as u64,
            header: 16,
            kernel_buffers: true,
        },
        consumer_doc: "transport-pipe/src/lib.rs, # Crashes: a killed receiver loses \"what the sender's backlog \
                       held (at most `BACKLOG` bytes plus one frame), what the kernel held in the socket's \
                       buffers, and what the receiver had read but not returned (at most `DRAIN_LIMIT` bytes)\"",
    },
    Rules {
        backend: "shm",
        producer_killed: LossRule::Nothing,
        producer_doc: "transport-shm/src/channel/mod.rs, # Trust model and # Liveness: \"a killed sender \
                       writes nothing at all\"; the survivor gets Disconnected \"after draining what was sent\"",
        // The ring holds at most the channel's capacity, plus the one
        // message the consumer may have taken but not yet counted.
        consumer_killed: LossRule::Messages(CAPACITY + 1),
        consumer_doc: "transport-core ChannelConfig::capacity (\"how many messages may wait in the channel\"), \
                       which the shm ring keeps",
    },
    Rules {
        backend: "shm-mpmc",
        producer_killed: LossRule::Nothing,
        producer_doc: "transport-shm/src/channel/mpmc/mod.rs, # Crashes: \"a killed producer loses no message \
                       whose send returned\"",
        // Its only consumer killed: what the ring held (its capacity; the
        // message being copied out counts among them), plus the one the
        // consumer may have taken but not yet counted.
        consumer_killed: LossRule::Messages(CAPACITY + 1),
        consumer_doc: "transport-shm/src/channel/mpmc/mod.rs, # Crashes: a killed consumer loses what it had \
                       received, and at most the one it was copying out; the ring holds its capacity",
    },
];

/// The rules of `backend`.
pub fn of(backend: &str) -> &'static Rules {
    RULES
        .iter()
        .find(|r| r.backend == backend)
        .unwrap_or_else(|| panic!("no loss rules for backend `{backend}`"))
}

/// The kernel's default socket buffer sizes, send plus receive (Linux's
/// `net.core.wmem_default` and `rmem_default`; the pipe sets none of its
/// own), or 0 where they cannot be read.
pub fn socket_buffers() -> u64 {
    ["wmem_default", "rmem_default"]
        .iter()
        .filter_map(|name| std::fs::read_to_string(format!("/proc/sys/net/core/{name}")).ok())
        .filter_map(|text| text.trim().parse::<u64>().ok())
        .sum()
}
