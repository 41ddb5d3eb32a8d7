//! What the cases share: the messages they send, and the waits and checks
//! they make.

use std::time::{Duration, Instant};

use rkyv::{Archive, Deserialize, Serialize};

use crate::{
    ChannelConfig, Receiver, RecvTimeoutError, SendTimeoutError, Sender, Transport, TrySendError,
    conformance::drive::Drive,
};

pub use crate::conformance::drive::LONG;

/// A sequenced message: which producer sent it, its number, and a check
/// value derived from both.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The producer's number.
    pub producer: u32,
    /// The message's number within its producer.
    pub seq: u64,
    /// [`Item::check_of`] of the two numbers.
    pub check: u64,
}

impl Item {
    /// Item `seq` of producer `producer`.
    pub fn new(producer: u32, seq: u64) -> Self {
        Item {
            producer,
            seq,
            check: Self::check_of(producer, seq),
        }
    }

    /// A value that depends on every bit of both numbers.
    pub fn check_of(producer: u32, seq: u64) -> u64 {
        (seq ^ (u64::from(producer) << 40))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29)
    }
}

impl ArchivedItem {
    /// Panics unless this is item `seq` of `producer`, intact.
    pub fn assert_is(&self, producer: u32, seq: u64) {
        let (p, s, c) = (
            self.producer.to_native(),
            self.seq.to_native(),
            self.check.to_native(),
        );
        assert_eq!(
            (p, s),
            (producer, seq),
            "expected item {seq} of producer {producer}"
        );
        assert_eq!(c, Item::check_of(p, s), "item {s} of producer {p} is corrupt");
    }
}

/// A message with a payload of a given length.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// A number for the blob, mixed into its pattern.
    pub salt: u64,
    /// The payload.
    pub data: Vec<u8>,
}

impl Blob {
    /// A blob of `len` bytes in a pattern that depends on `salt`.
    pub fn new(salt: u64, len: usize) -> Self {
        Blob {
            salt,
            data: pattern(salt, len),
        }
    }
}

/// `len` bytes that depend on their position and on `salt`.
pub fn pattern(salt: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u64).wrapping_mul(31) ^ salt ^ (i as u64 >> 8)) as u8)
        .collect()
}

/// A message whose archived form bytecheck validates strictly: a `bool`, a
/// `char`, a string and a vector of words with no valid `bool` byte in them.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Only 0 and 1 are valid bytes for it.
    pub flag: bool,
    /// Most four-byte values are not valid characters.
    pub letter: char,
    /// A string stored out of line.
    pub name: String,
    /// Words whose low byte is never a valid `bool`.
    pub values: Vec<u32>,
}

impl Probe {
    /// The probe every case sends.
    pub fn sample() -> Self {
        Probe {
            flag: true,
            letter: 'λ',
            name: "a name long enough to be stored out of line".into(),
            values: (0..12).map(|i| 0xFFFF_FFF0 - i).collect(),
        }
    }
}

/// A typed channel of `M` over backend `T`.
///
/// # Panics
/// If the backend cannot create it.
pub fn channel<T: Transport, M>(config: &ChannelConfig) -> (Sender<M, T::Sender>, Receiver<M, T::Receiver>) {
    let (tx, rx) = T::channel(config).unwrap_or_else(|e| panic!("creating a `{}` channel: {e}", T::NAME));
    (Sender::from_raw(tx), Receiver::from_raw(rx))
}

/// Receives `per_producer` items of each of `producers` producers, in any
/// interleaving, and panics unless each producer's arrive in the order it
/// sent them (a lost item, a duplicate or a reordering shows here), naming
/// the producers `what` ("thread", "producer"). How many items of each
/// producer came.
pub fn recv_in_order_per_producer<T: Transport, D: Drive<T>>(
    rx: &mut D::Rx<Item>,
    producers: u32,
    per_producer: u64,
    what: &str,
) -> Vec<u64> {
    let mut next = vec![0u64; producers as usize];
    for n in 0..u64::from(producers) * per_producer {
        let item = D::recv(rx).unwrap_or_else(|e| panic!("receiving item {n} of all {what}s: {e}"));
        let p = item.producer.to_native();
        assert!(p < producers, "unknown {what} {p}");
        item.assert_is(p, next[p as usize]);
        next[p as usize] += 1;
    }
    next
}

/// Panics unless the next receive says `Disconnected` within [`LONG`].
pub fn expect_disconnected<M: crate::Message, R: crate::RawReceiver>(rx: &Receiver<M, R>) {
    assert_disconnected(rx.recv_timeout(LONG));
}

/// Panics unless `received` (what a receive gave) is `Disconnected`.
pub(crate) fn assert_disconnected<G>(received: Result<G, RecvTimeoutError>) {
    match received {
        Err(RecvTimeoutError::Disconnected) => {}
        Err(e) => panic!("expected the channel to be disconnected, got: {e}"),
        Ok(_) => panic!("expected the channel to be disconnected, got a message"),
    }
}

/// The most messages a case sends to fill a bounded channel before it
/// decides the channel never fills.
pub const FILL_LIMIT: u64 = 1_000_000;

/// Fills a bounded channel with `try_send`, items of `producer` numbered
/// from 0, until it says `Full` (which must give the message back);
/// returns how many went in.
///
/// # Panics
/// On another error, or when [`FILL_LIMIT`] items went in.
pub fn fill<T: Transport, D: Drive<T>>(tx: &mut D::Tx<Item>, producer: u32) -> u64 {
    for seq in 0..FILL_LIMIT {
        match D::try_send(tx, Item::new(producer, seq)) {
            Ok(()) => {}
            Err(TrySendError::Full(item)) => {
                assert_eq!(item, Item::new(producer, seq), "`Full` gives the message back");
                return seq;
            }
            Err(e) => panic!("filling the channel: {e}"),
        }
    }
    panic!("a bounded channel took {FILL_LIMIT} messages without filling up")
}

/// How long a case keeps sending to a dead or departed receiver before it
/// decides `Disconnected` never comes.
const DISCONNECT_BOUND: Duration = Duration::from_secs(60);

/// Sends items of `producer` with `send` (a `send_timeout` of some end)
/// until it reports `Disconnected`; panics if that does not happen within
/// [`DISCONNECT_BOUND`]. `Timeout` (a full buffer nobody drains) is allowed
/// on the way, and so are sends a buffer still accepts.
pub(crate) fn send_until_disconnected(
    producer: u32,
    mut send: impl FnMut(Item, Duration) -> Result<(), SendTimeoutError<Item>>,
) {
    let deadline = Instant::now() + DISCONNECT_BOUND;
    let mut seq = 0;
    while Instant::now() < deadline {
        match send(Item::new(producer, seq), Duration::from_millis(200)) {
            Ok(()) | Err(SendTimeoutError::Timeout(_)) => seq += 1,
            Err(SendTimeoutError::Disconnected(item)) => {
                assert_eq!(
                    item,
                    Item::new(producer, seq),
                    "`Disconnected` gives the message back"
                );
                return;
            }
            Err(e) => panic!("sending to a departed receiver: expected `Disconnected`, got: {e}"),
        }
    }
    panic!("sending to a departed receiver did not report `Disconnected` within {DISCONNECT_BOUND:?}");
}

/// Panics on a role a case does not have.
pub(crate) fn unknown_role(role: &str) -> ! {
    panic!("this case has no child role `{role}`")
}
