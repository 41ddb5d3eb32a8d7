//! [`NatsFrame`]: one received message, and its acknowledgement.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use async_nats::Subject;
use bytes::Bytes;
use rkyv::util::AlignedVec;
use transport_core::backend::{FRAME_ALIGN, Frame};

use crate::{client::Inner, done::Markers, runtime, signal::Signal};

/// One received message: the payload as the client read it (a shared,
/// immutable buffer), and for an at-least-once channel the means to
/// acknowledge it.
///
/// The typed receiver reads the message in place when the buffer happens to
/// start on a 16-byte boundary and copies it once otherwise
/// (transport-core's rule; the client's read buffer gives no alignment).
///
/// # Acknowledgement (at least once)
/// A frame from a raw receiver (and so the `Received` guard of a typed
/// receiver) acknowledges its message when it is dropped: the work on a
/// message is done when its guard goes. If it is dropped while its thread
/// panics, it is negatively acknowledged instead, so another receiver gets
/// the message at once. [`ack`](Self::ack) acknowledges and waits for the
/// server to confirm, so the work cannot be redone even if the connection
/// drops right after; [`nak`](Self::nak), [`term`](Self::term) and
/// [`in_progress`](Self::in_progress) are JetStream's other answers. A
/// process killed while it holds frames acknowledges nothing: their
/// messages are delivered again after the ack wait. Frames of a
/// [`Queue`](crate::Queue) leave acknowledgement to `task_done`.
pub struct NatsFrame {
    payload: Payload,
    ack: Option<Ack>,
}

/// Where a frame's bytes are.
enum Payload {
    /// The client's own buffer.
    Shared(Bytes),
    /// A 16-aligned copy of it.
    Aligned(AlignedVec<FRAME_ALIGN>),
}

/// The reply subject of a JetStream delivery, its processed marker's key
/// (when the channel keeps markers and the message has an id), and where
/// to count it.
pub(crate) struct Ack {
    pub(crate) reply: Subject,
    pub(crate) key: Option<String>,
    pub(crate) sink: Arc<AckSink>,
}

/// What the frames of one receiver share: the client, the channel's
/// processed markers, how many of its deliveries are not acknowledged yet,
/// and how many acknowledgements wait for their marker.
pub(crate) struct AckSink {
    pub(crate) client: Arc<Inner>,
    pub(crate) markers: Option<Arc<Markers>>,
    pub(crate) held: AtomicUsize,
    pub(crate) marking: AtomicUsize,
    pub(crate) signal: Arc<Signal>,
}

impl AckSink {
    fn answer(&self, reply: Subject, answer: &'static [u8]) {
        // A lost answer only delays the message: the server delivers it
        // again after the ack wait.
        let _ = self.client.publish(reply, None, Bytes::from_static(answer), None);
        self.release();
    }

    pub(crate) fn release(&self) {
        self.held.fetch_sub(1, Ordering::AcqRel);
        self.signal.notify();
    }

    /// Acknowledges a finished message without waiting: with a marker to
    /// store first, on the shared runtime (the receiver's drop waits for
    /// these), otherwise at once.
    fn finish(self: Arc<Self>, reply: Subject, key: Option<String>) {
        let (Some(markers), Some(key)) = (self.markers.clone(), key) else {
            self.answer(reply, b"+ACK");
            return;
        };
        self.marking.fetch_add(1, Ordering::AcqRel);
        runtime::spawn(async move {
            let nats = self.client.nats.clone();
            let in_progress = || {
                let _ = self
                    .client
                    .publish(reply.clone(), None, Bytes::from_static(b"+WPI"), None);
            };
            // A marker that cannot be stored leaves the acknowledgement
            // alone to keep the message from coming back.
            let _ = markers.mark(&key, in_progress).await;
            let _ = nats.publish(reply, Bytes::from_static(b"+ACK")).await;
            self.marking.fetch_sub(1, Ordering::AcqRel);
            self.release();
        });
    }

    /// Waits (until `deadline`) for the acknowledgements that wait for
    /// their markers.
    pub(crate) fn settle(&self, deadline: Instant) {
        loop {
            let seen = self.signal.generation();
            if self.marking.load(Ordering::Acquire) == 0 || !self.signal.wait(seen, Some(deadline)) {
                return;
            }
        }
    }
}

/// How a frame's acknowledgement went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum AckError {
    /// The frame is not from an at-least-once channel, or was already
    /// answered.
    NotAcknowledgeable,
    /// The server did not confirm in time (the message may be delivered
    /// again).
    Timeout,
    /// The client could not send the acknowledgement.
    Client(async_nats::RequestError),
    /// The message was acknowledged, but its processed marker
    /// ([`Options::deduplicate`](crate::Options::deduplicate)) could not be
    /// stored: it is delivered again if the acknowledgement is lost.
    NotMarked(async_nats::Error),
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckError::NotAcknowledgeable => f.write_str("the message has no acknowledgement to give"),
            AckError::Timeout => f.write_str("the server did not confirm the acknowledgement in time"),
            AckError::Client(_) => f.write_str("the acknowledgement could not be sent"),
            AckError::NotMarked(_) => f.write_str("the message's processed marker could not be stored"),
        }
    }
}

impl std::error::Error for AckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AckError::Client(e) => Some(e),
            AckError::NotMarked(e) => Some(&**e),
            _ => None,
        }
    }
}

/// How long [`NatsFrame::ack`] waits for the server's confirmation.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(10);

impl NatsFrame {
    /// A frame of the client's buffer as it is (transport-core copies it
    /// to align it if it must).
    pub(crate) fn new(payload: Bytes, ack: Option<Ack>) -> Self {
        NatsFrame {
            payload: Payload::Shared(payload),
            ack,
        }
    }

    /// A frame that carries an acknowledgement: aligned here, because
    /// transport-core's guard drops a misaligned frame once it has copied
    /// it, and this frame's drop is its acknowledgement. A payload that
    /// happens to be aligned is kept as it is (no copy).
    pub(crate) fn aligned(payload: Bytes, ack: Ack) -> Self {
        let payload = if (payload.as_ptr() as usize).is_multiple_of(FRAME_ALIGN) {
            Payload::Shared(payload)
        } else {
            let mut copy = AlignedVec::with_capacity(payload.len());
            copy.extend_from_slice(&payload);
            Payload::Aligned(copy)
        };
        NatsFrame {
            payload,
            ack: Some(ack),
        }
    }

    /// How many times the server has delivered this message (1 the first
    /// time); `None` for at-most-once messages.
    pub fn delivered(&self) -> Option<u64> {
        let reply = self.ack.as_ref()?.reply.as_str();
        delivery_count(reply)
    }

    /// The message's sequence number in its stream; `None` for
    /// at-most-once messages.
    pub fn stream_sequence(&self) -> Option<u64> {
        let reply = self.ack.as_ref()?.reply.as_str();
        ack_token(reply, 5)
    }

    /// Acknowledges the message and waits for the server to confirm it
    /// (storing its processed marker first, on a channel that keeps them).
    ///
    /// # Errors
    /// [`AckError`] when the message has no acknowledgement or the server
    /// did not confirm it (then it may be delivered again).
    pub fn ack(mut self) -> Result<(), AckError> {
        let ack = self.ack.take().ok_or(AckError::NotAcknowledgeable)?;
        let result = finish(&ack.sink.client, ack.sink.markers.as_ref(), ack.key, ack.reply);
        ack.sink.release();
        result
    }

    /// Asks for the message to be delivered again now (to any receiver).
    pub fn nak(mut self) {
        if let Some(ack) = self.ack.take() {
            ack.sink.answer(ack.reply, b"-NAK");
        }
    }

    /// Tells the server the message will never be processed: it is not
    /// delivered again (nor sent to the dead letters).
    pub fn term(mut self) {
        if let Some(ack) = self.ack.take() {
            ack.sink.answer(ack.reply, b"+TERM");
        }
    }

    /// Tells the server the work goes on: the ack wait starts again.
    pub fn in_progress(&self) {
        if let Some(ack) = &self.ack {
            let _ = ack
                .sink
                .client
                .publish(ack.reply.clone(), None, Bytes::from_static(b"+WPI"), None);
        }
    }
}

/// Stores the processed marker of `key` (when there are markers and a
/// key), then acknowledges `reply` and waits for the confirmation. A marker
/// that could not be stored does not stop the acknowledgement.
pub(crate) fn finish(
    client: &Arc<Inner>,
    markers: Option<&Arc<Markers>>,
    key: Option<String>,
    reply: Subject,
) -> Result<(), AckError> {
    let marked = match (markers, key) {
        (Some(markers), Some(key)) => {
            // `mark` gives up after its patience; one more publish
            // timeout bounds the wait.
            let deadline = Instant::now() + markers.patience() + ACK_TIMEOUT;
            let (markers, client, reply) = (Arc::clone(markers), Arc::clone(client), reply.clone());
            let stored = runtime::wait_for(
                async move {
                    let in_progress = || {
                        let _ = client.publish(reply.clone(), None, Bytes::from_static(b"+WPI"), None);
                    };
                    markers.mark(&key, in_progress).await
                },
                Some(deadline),
            );
            match stored {
                Some(Ok(())) => Ok(()),
                Some(Err(e)) => Err(AckError::NotMarked(e.0)),
                None => Err(AckError::NotMarked(
                    "the marker's store did not answer in time".into(),
                )),
            }
        }
        _ => Ok(()),
    };
    confirm(client, reply, b"+ACK")?;
    marked
}

/// Sends `answer` to `reply` and waits for the server's confirmation (a
/// JetStream "double ack"). An answer is idempotent, so one that was not
/// confirmed (the connection was down, a server restarting) is sent again
/// until [`ACK_TIMEOUT`] runs out.
pub(crate) fn confirm(client: &Arc<Inner>, reply: Subject, answer: &'static [u8]) -> Result<(), AckError> {
    let nats = client.nats.clone();
    let deadline = Instant::now() + ACK_TIMEOUT;
    let asked = runtime::wait_for(
        async move {
            loop {
                match nats.request(reply.clone(), Bytes::from_static(answer)).await {
                    Ok(_) => return Ok(()),
                    Err(e) if Instant::now() + Duration::from_millis(100) >= deadline => return Err(e),
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        },
        Some(deadline + Duration::from_secs(1)),
    );
    match asked {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(AckError::Client(e)),
        None => Err(AckError::Timeout),
    }
}

/// The delivery count in a JetStream ack subject:
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`,
/// or with `<domain>.<account>` after `$JS.ACK` and a token at the end.
pub(crate) fn delivery_count(reply: &str) -> Option<u64> {
    ack_token(reply, 4)
}

/// Token `index` of the short form of an ack subject (counted in the short
/// form, also when the subject has the long one).
fn ack_token(reply: &str, index: usize) -> Option<u64> {
    let tokens: Vec<&str> = reply.split('.').collect();
    match tokens.len() {
        9 => tokens[index].parse().ok(),
        n if n >= 12 => tokens[index + 2].parse().ok(),
        _ => None,
    }
}

impl Drop for NatsFrame {
    fn drop(&mut self) {
        if let Some(ack) = self.ack.take() {
            if std::thread::panicking() {
                ack.sink.answer(ack.reply, b"-NAK");
            } else {
                ack.sink.finish(ack.reply, ack.key);
            }
        }
    }
}

// SAFETY: `Bytes` is an immutable, reference-counted buffer, and the
// aligned copy is owned by the frame and only lent out shared: `bytes()`
// returns the same slice at every call, and nothing writes to it while the
// frame lives.
unsafe impl Frame for NatsFrame {
    fn bytes(&self) -> &[u8] {
        match &self.payload {
            Payload::Shared(bytes) => bytes,
            Payload::Aligned(copy) => copy.as_slice(),
        }
    }
}

impl fmt::Debug for NatsFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsFrame")
            .field("len", &self.bytes().len())
            .field("acknowledgeable", &self.ack.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_counts_are_read_from_both_ack_forms() {
        assert_eq!(delivery_count("$JS.ACK.S.C.3.10.9.1700000000.0"), Some(3));
        assert_eq!(
            delivery_count("$JS.ACK.hub.ACC.S.C.2.10.9.1700000000.0.tok"),
            Some(2)
        );
        assert_eq!(delivery_count("_INBOX.x"), None);
        assert_eq!(ack_token("$JS.ACK.S.C.3.10.9.1700000000.0", 5), Some(10));
    }
}
