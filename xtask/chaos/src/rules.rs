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
    /// up to at most `limit` bytes.
    TailBytes {
        /// The byte budget of the tail.
        limit: u64,
        /// Bytes of framing per message.
        header: u64,
    },
    /// The documentation states no bound: the number is reported, not
    /// checked.
    NotDocumented,
}

impl LossRule {
    /// How the rule reads in the table.
    pub fn describe(self) -> String {
        match self {
            LossRule::Nothing => "0".to_owned(),
            LossRule::Messages(n) => format!("≤ {n} msgs"),
            LossRule::TailBytes { limit, .. } => format!("tail ≤ {limit} B"),
            LossRule::NotDocumented => "not documented".to_owned(),
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
pub const RULES: [Rules; 3] = [
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
        },
        producer_doc: "transport-pipe/src/lib.rs, # Coalescing: the backlog holds at most BACKLOG bytes; \
                       \"a process killed at that moment loses the unwritten tail of its burst\"",
        consumer_killed: LossRule::NotDocumented,
        consumer_doc: "transport-pipe/src/lib.rs says nothing of what a killed receiver loses (the \
                       backlog, the socket's buffers, and what it had read)",
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
];

/// The rules of `backend`.
pub fn of(backend: &str) -> &'static Rules {
    RULES
        .iter()
        .find(|r| r.backend == backend)
        .unwrap_or_else(|| panic!("no loss rules for backend `{backend}`"))
}
