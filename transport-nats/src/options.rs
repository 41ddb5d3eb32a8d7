//! [`Delivery`] and [`Options`]: how a channel delivers, and its settings.
//!
//! The settings travel with every end in its hand-off token, so both sides
//! of a channel agree on them; a process that joins by name passes the same
//! options itself.

use std::time::Duration;

use transport_core::DEFAULT_MAX_MESSAGE_SIZE;

/// How a channel delivers its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Core NATS: a queue group of subscribers, each message to one of
    /// them. Fast (no storage, no acknowledgement), and lost when nobody
    /// can take it: a receiver killed with messages in hand, a server that
    /// restarts with messages in flight. Senders wait for credit from the
    /// receivers, so a slow receiver slows them instead of being cut off.
    AtMostOnce,
    /// JetStream: a work-queue stream with a durable pull consumer and
    /// explicit acknowledgements. A message is stored before its send
    /// returns; one whose receiver dies before acknowledging it is
    /// delivered again after the ack wait; one that fails
    /// [`Options::max_deliver`] times goes to the dead-letter stream.
    AtLeastOnce,
}

impl Delivery {
    pub(crate) fn token(self) -> &'static str {
        match self {
            Delivery::AtMostOnce => "amo",
            Delivery::AtLeastOnce => "alo",
        }
    }

    pub(crate) fn from_token(text: &str) -> Option<Self> {
        match text {
            "amo" => Some(Delivery::AtMostOnce),
            "alo" => Some(Delivery::AtLeastOnce),
            _ => None,
        }
    }
}

/// The settings of one channel or queue.
///
/// The defaults suit a production work queue: peers are declared gone
/// after 5 s of silence, a server unreachable for 10 s is `Disconnected`,
/// an unacknowledged message comes back after 30 s and goes to the dead
/// letters after 5 deliveries.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How messages are delivered.
    pub delivery: Delivery,
    /// How many messages may wait: at most once, per sender, messages sent
    /// and not yet received (its credit window); at least once, the
    /// stream's `max_msgs` (with `discard: new`). `None`: unbounded (at most
    /// once, a window of [`Options::window`] still applies).
    pub capacity: Option<usize>,
    /// The largest message, in bytes; the server's `max_payload` (less the
    /// headers) lowers it further.
    pub max_message_size: usize,
    /// The credit window of an unbounded at-most-once channel.
    pub window: usize,
    /// How often every end says it is alive.
    pub heartbeat: Duration,
    /// How long a peer may stay silent before it counts as gone (its
    /// process died, or its machine).
    pub lease: Duration,
    /// How long an end handed to a child counts as alive before the child
    /// opens it.
    pub handoff_grace: Duration,
    /// How long an operation waits for a lost server to come back before it
    /// returns `Disconnected`; also the most a dropped end waits for the
    /// server to take what its process sent before the drop.
    pub outage_limit: Duration,
    /// At least once: how long a delivered message may stay unacknowledged
    /// before the server delivers it again.
    pub ack_wait: Duration,
    /// At least once: how many times a message is delivered before it goes
    /// to the dead-letter stream.
    pub max_deliver: u32,
    /// At least once: how many servers of a cluster keep the stream (1, 3
    /// or 5).
    pub replicas: usize,
    /// At least once: keep the stream in memory instead of files (it then
    /// dies with the server).
    pub memory_storage: bool,
    /// At least once: how many messages a raw receiver asks for ahead of
    /// its receives (a [`Queue`](crate::Queue) asks for one per waiting
    /// get).
    pub prefetch: usize,
    /// At least once: keep a *processed marker* for every message a
    /// receiver finished, for this long, and check it before a message
    /// delivered again is handed out ([`Options::deduplicate`]). `None`
    /// (the default): no markers.
    pub dedup_window: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            delivery: Delivery::AtLeastOnce,
            capacity: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            window: 8192,
            heartbeat: Duration::from_secs(1),
            lease: Duration::from_secs(5),
            handoff_grace: Duration::from_secs(30),
            outage_limit: Duration::from_secs(10),
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            replicas: 1,
            memory_storage: false,
            prefetch: 64,
            dedup_window: None,
        }
    }
}

impl Options {
    /// The defaults, with `delivery`.
    pub fn new(delivery: Delivery) -> Self {
        Options {
            delivery,
            ..Self::default()
        }
    }

    /// With a bound of `capacity` messages.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// With a message size limit of `limit` bytes.
    pub fn max_message_size(mut self, limit: usize) -> Self {
        self.max_message_size = limit;
        self
    }

    /// With `replicas` copies of the stream in a cluster.
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }

    /// With another heartbeat and lease (a peer is gone after `lease` of
    /// silence).
    pub fn liveness(mut self, heartbeat: Duration, lease: Duration) -> Self {
        self.heartbeat = heartbeat;
        self.lease = lease;
        self
    }

    /// With another ack wait.
    pub fn ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = ack_wait;
        self
    }

    /// With another delivery limit.
    pub fn max_deliver(mut self, max_deliver: u32) -> Self {
        self.max_deliver = max_deliver;
        self
    }

    /// With another outage limit.
    pub fn outage_limit(mut self, limit: Duration) -> Self {
        self.outage_limit = limit;
        self
    }

    /// With another prefetch.
    pub fn prefetch(mut self, prefetch: usize) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// At least once: with processed markers kept for `window`, so that
    /// finished work is not handed out again.
    ///
    /// JetStream confirms an acknowledgement before its cluster has agreed
    /// on it, so when a stream's leader fails (or a connection drops as the
    /// acknowledgement leaves) an acknowledged message can be delivered
    /// again. With markers, a receiver that finishes a message first stores
    /// a marker named by the message's id in the channel's replicated
    /// key-value bucket (`KV_TRANSPORT_NAME_DONE`), waits for the cluster to
    /// confirm it, and only then acknowledges; every delivery is looked up
    /// there before a receive returns it (the lookups of a prefetch run
    /// together), and one that is marked is acknowledged again and skipped.
    /// Each message costs one lookup and one replicated write.
    ///
    /// What can still be handed out twice: a message whose receiver did not
    /// finish it (killed, dropped, negatively acknowledged, or a marker that
    /// could not be stored within the outage limit), and a message finished
    /// later than the ack wait after its delivery (the server delivered it
    /// again meanwhile). A message delivered again more than `window` after
    /// it was finished is no longer recognised. Nothing is ever skipped
    /// unless it was finished: a lookup that fails hands the message out.
    pub fn deduplicate(mut self, window: Duration) -> Self {
        self.dedup_window = Some(window);
        self
    }

    /// The credit window of an at-most-once sender.
    pub(crate) fn credit_window(&self) -> usize {
        self.capacity.unwrap_or(self.window).max(1)
    }

    /// Why these options cannot make a channel, if they cannot.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.capacity == Some(0) {
            return Err("a capacity of 0 (rendezvous) is not supported".into());
        }
        if self.heartbeat.is_zero() || self.lease <= self.heartbeat {
            return Err("the lease must be longer than the heartbeat, which must not be zero".into());
        }
        if self.max_deliver == 0 {
            return Err("max_deliver must be at least 1".into());
        }
        if !matches!(self.replicas, 1..=5) {
            return Err(format!("{} replicas (JetStream allows 1 to 5)", self.replicas));
        }
        if self.prefetch == 0 || self.window == 0 {
            return Err("a prefetch or window of zero".into());
        }
        if self.dedup_window.is_some_and(|w| w <= self.ack_wait) {
            return Err("the de-duplication window must be longer than the ack wait".into());
        }
        Ok(())
    }

    /// The settings as `key=value` words for a token.
    pub(crate) fn to_words(&self) -> Vec<String> {
        vec![
            format!("mode={}", self.delivery.token()),
            format!("cap={}", self.capacity.map_or(0, |c| c)),
            format!("max={}", self.max_message_size),
            format!("win={}", self.window),
            format!("hb={}", self.heartbeat.as_millis()),
            format!("lease={}", self.lease.as_millis()),
            format!("grace={}", self.handoff_grace.as_millis()),
            format!("outage={}", self.outage_limit.as_millis()),
            format!("ackwait={}", self.ack_wait.as_millis()),
            format!("maxdeliver={}", self.max_deliver),
            format!("replicas={}", self.replicas),
            format!("mem={}", u8::from(self.memory_storage)),
            format!("prefetch={}", self.prefetch),
            format!("dedup={}", self.dedup_window.map_or(0, |w| w.as_millis())),
        ]
    }

    /// Reads one `key=value` word of a token; false for an unknown key or
    /// a value that does not parse.
    pub(crate) fn set_word(&mut self, key: &str, value: &str) -> bool {
        fn ms(value: &str) -> Option<Duration> {
            value.parse().ok().map(Duration::from_millis)
        }
        let parsed = match key {
            "mode" => Delivery::from_token(value).map(|d| self.delivery = d),
            "cap" => value
                .parse::<usize>()
                .ok()
                .map(|c| self.capacity = (c > 0).then_some(c)),
            "max" => value.parse().ok().map(|v| self.max_message_size = v),
            "win" => value.parse().ok().map(|v| self.window = v),
            "hb" => ms(value).map(|v| self.heartbeat = v),
            "lease" => ms(value).map(|v| self.lease = v),
            "grace" => ms(value).map(|v| self.handoff_grace = v),
            "outage" => ms(value).map(|v| self.outage_limit = v),
            "ackwait" => ms(value).map(|v| self.ack_wait = v),
            "maxdeliver" => value.parse().ok().map(|v| self.max_deliver = v),
            "replicas" => value.parse().ok().map(|v| self.replicas = v),
            "mem" => match value {
                "0" | "1" => {
                    self.memory_storage = value == "1";
                    Some(())
                }
                _ => None,
            },
            "prefetch" => value.parse().ok().map(|v| self.prefetch = v),
            "dedup" => value
                .parse::<u64>()
                .ok()
                .map(|ms| self.dedup_window = (ms > 0).then(|| Duration::from_millis(ms))),
            _ => None,
        };
        parsed.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        let options = Options::new(Delivery::AtMostOnce)
            .capacity(7)
            .liveness(Duration::from_millis(250), Duration::from_secs(2))
            .max_deliver(3)
            .deduplicate(Duration::from_secs(600));
        let mut back = Options::default();
        for word in options.to_words() {
            let (k, v) = word.split_once('=').unwrap();
            assert!(back.set_word(k, v), "{word}");
        }
        assert_eq!(back, options);
        assert!(!back.set_word("hb", "soon"));
        assert!(!back.set_word("colour", "1"));
    }

    #[test]
    fn bad_settings_are_named() {
        assert!(Options::default().capacity(0).check().is_err());
        assert!(Options::default().replicas(4).check().is_ok());
        assert!(Options::default().replicas(7).check().is_err());
        assert!(
            Options::default()
                .deduplicate(Duration::from_secs(30))
                .check()
                .is_err()
        );
        assert!(
            Options::default()
                .liveness(Duration::from_secs(2), Duration::from_secs(1))
                .check()
                .is_err()
        );
    }
}
