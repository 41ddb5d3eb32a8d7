//! [`Markers`]: processed markers, which make "finished" survive a
//! failover ([`Options::deduplicate`]).
//!
//! JetStream answers an acknowledgement before the consumer's replicas
//! have agreed on it; if the leader dies then, the new leader still counts
//! the message as delivered and unacknowledged, and delivers it again after
//! the ack wait (with a delivery count above 1). A publish, on the other
//! hand, is confirmed only once the stream's replicas stored it. So a
//! receiver that finishes a message first stores a marker for it, a
//! publish to `$KV.TRANSPORT_NAME_DONE.<message id>`, and acknowledges
//! only after that publish is confirmed. Every delivery's marker is looked
//! up as it arrives (concurrently, the receive hands them out in order); a
//! marked message is acknowledged again and skipped. First deliveries are
//! looked up too: a consumer leader elected in a failover may not know of
//! a delivery its predecessor made just before it died, and sends the
//! message again with a delivery count of 1.
//!
//! The bucket is an ordinary JetStream key-value bucket (the `nats kv`
//! tools read it), made here rather than by `async-nats`'s key-value API
//! because that API turns on "direct get", with which any replica may
//! answer a lookup, one that has not stored the newest marker yet
//! included. Without it the stream's leader answers, and a leader has every
//! confirmed write. Markers expire after the window (the bucket's
//! `max_age`).

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use async_nats::{
    Message,
    jetstream::{
        self,
        message::PublishMessage,
        stream::{self, DiscardPolicy, LastRawMessageErrorKind, StorageType},
    },
};
use bytes::Bytes;

use crate::{names::Names, options::Options};

/// How long to wait between two attempts at a write or a lookup.
const RETRY: Duration = Duration::from_millis(200);

/// The longest message id that names a marker.
const MAX_KEY: usize = 128;

/// The processed markers of one channel, as one receiver uses them.
pub(crate) struct Markers {
    js: jetstream::Context,
    stream: String,
    /// `$KV.<bucket>.`
    prefix: String,
    /// How long a write or a lookup keeps trying (a failover takes a few
    /// seconds).
    patience: Duration,
    skipped: AtomicU64,
}

/// Why a marker was not stored or read.
#[derive(Debug)]
pub(crate) struct MarkerError(pub(crate) async_nats::Error);

impl Markers {
    /// The markers of a channel with `options`, if it keeps them; a write
    /// or a lookup keeps trying for `patience`.
    pub(crate) fn new(
        js: &jetstream::Context,
        names: &Names,
        options: &Options,
        patience: Duration,
    ) -> Option<Markers> {
        options.dedup_window?;
        Some(Markers {
            js: js.clone(),
            stream: names.done_stream(),
            prefix: format!("$KV.{}.", names.done_bucket()),
            patience,
            skipped: AtomicU64::new(0),
        })
    }

    /// The bucket's stream, for a channel that keeps markers.
    pub(crate) fn config(names: &Names, options: &Options) -> Option<stream::Config> {
        let window = options.dedup_window?;
        Some(stream::Config {
            name: names.done_stream(),
            subjects: vec![format!("$KV.{}.>", names.done_bucket())],
            max_messages_per_subject: 1,
            max_age: window,
            discard: DiscardPolicy::New,
            allow_rollup: true,
            deny_delete: true,
            // A lookup must reach the leader (see the module's text).
            allow_direct: false,
            storage: if options.memory_storage {
                StorageType::Memory
            } else {
                StorageType::File
            },
            num_replicas: options.replicas,
            ..Default::default()
        })
    }

    /// The marker's key for a delivery: its `Nats-Msg-Id` (every sender of
    /// this crate sets one), if that is a valid key. A message without one
    /// is never looked up, so never skipped.
    pub(crate) fn key(msg: &Message) -> Option<String> {
        let id = msg.headers.as_ref()?.get("Nats-Msg-Id")?.as_str();
        let valid = !id.is_empty()
            && id.len() <= MAX_KEY
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='));
        valid.then(|| id.to_owned())
    }

    /// Stores the marker of `key`, trying again until the cluster confirms
    /// it or the patience runs out; `waiting` is called after each failed
    /// attempt (the caller tells the server the work goes on).
    pub(crate) async fn mark(&self, key: &str, mut waiting: impl FnMut()) -> Result<(), MarkerError> {
        let deadline = Instant::now() + self.patience;
        let subject = format!("{}{key}", self.prefix);
        loop {
            let message = PublishMessage::build().payload(Bytes::from_static(b"done"));
            let stored = match self.js.send_publish(subject.clone(), message).await {
                Ok(ack) => ack.await.map(drop).map_err(async_nats::Error::from),
                Err(e) => Err(e.into()),
            };
            match stored {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() + RETRY >= deadline => return Err(MarkerError(e)),
                Err(_) => {
                    waiting();
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }

    /// Whether `key` is marked, asking until the bucket's leader answers or
    /// the patience runs out.
    pub(crate) async fn is_marked(&self, key: &str) -> Result<bool, MarkerError> {
        let deadline = Instant::now() + self.patience;
        let subject = format!("{}{key}", self.prefix);
        loop {
            let answer = match self.js.get_stream_no_info(&self.stream).await {
                Ok(stream) => match stream.get_last_raw_message_by_subject(&subject).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(false),
                    Err(e) => Err(async_nats::Error::from(e)),
                },
                Err(e) => Err(e.into()),
            };
            match answer {
                Ok(marked) => return Ok(marked),
                Err(e) if Instant::now() + RETRY >= deadline => return Err(MarkerError(e)),
                Err(_) => tokio::time::sleep(RETRY).await,
            }
        }
    }

    /// Counts a message skipped because it was marked.
    pub(crate) fn skipped_one(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// How long a write or a lookup keeps trying.
    pub(crate) fn patience(&self) -> Duration {
        self.patience
    }

    /// How many messages were skipped so far.
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_nats::HeaderMap;

    fn delivery(id: Option<&str>) -> Message {
        let headers = id.map(|id| {
            let mut h = HeaderMap::new();
            h.insert("Nats-Msg-Id", id);
            h
        });
        Message {
            subject: "transport.x.j".into(),
            reply: None,
            payload: Bytes::new(),
            headers,
            status: None,
            description: None,
            length: 0,
        }
    }

    #[test]
    fn a_key_is_a_plain_message_id() {
        assert_eq!(
            Markers::key(&delivery(Some("abcXYZ019-42"))).as_deref(),
            Some("abcXYZ019-42")
        );
        assert_eq!(Markers::key(&delivery(None)), None);
        assert_eq!(Markers::key(&delivery(Some(""))), None);
        assert_eq!(Markers::key(&delivery(Some("a.b"))), None);
        assert_eq!(Markers::key(&delivery(Some("a>"))), None);
        assert_eq!(Markers::key(&delivery(Some(&"x".repeat(129)))), None);
    }
}
