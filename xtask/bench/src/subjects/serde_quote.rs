//! The structured message as a serde type ([`transport_core::Serde`]): the
//! same fields and values as the rkyv [`Quote`](super::ours::Quote),
//! encoded with postcard and decoded into an owned value on receipt (mode
//! `serde`, beside `validated` and `unchecked`).

use transport_core::{RawReceiver, Receiver, Serde};

use super::ours::Codec;
use crate::measure::touch;

/// One level of an order book.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct SerdeLevel {
    /// Price in ticks.
    pub price: i64,
    /// Quantity.
    pub qty: u32,
    /// Number of orders.
    pub orders: u32,
}

/// The quote, field for field.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct SerdeQuote {
    /// Sequence number.
    pub seq: u64,
    /// Timestamp.
    pub time_ns: u64,
    /// Instrument id.
    pub instrument: u32,
    /// Flags.
    pub flags: u32,
    /// Venue name (24 bytes).
    pub venue: String,
    /// Twelve book levels.
    pub levels: Vec<SerdeLevel>,
}

/// Serde's codec of the structured rows.
pub(super) struct SerdeCodec;

impl Codec for SerdeCodec {
    type Msg = Serde<SerdeQuote>;

    fn sample(seq: u64) -> Serde<SerdeQuote> {
        let q = super::ours::Quote::sample(seq);
        Serde(SerdeQuote {
            seq: q.seq,
            time_ns: q.time_ns,
            instrument: q.instrument,
            flags: q.flags,
            venue: q.venue,
            levels: q
                .levels
                .into_iter()
                .map(|l| SerdeLevel {
                    price: l.price,
                    qty: l.qty,
                    orders: l.orders,
                })
                .collect(),
        })
    }

    fn read<R: RawReceiver>(rx: &Receiver<Serde<SerdeQuote>, R>) -> Result<u64, String> {
        let Serde(q) = rx.recv_owned().map_err(|e| format!("receive: {e}"))?;
        let mut sum = q.seq ^ q.time_ns;
        sum = sum.wrapping_add(u64::from(q.instrument ^ q.flags));
        sum = sum.wrapping_add(touch(q.venue.as_bytes()));
        for level in &q.levels {
            sum = sum.wrapping_add(level.price as u64);
            sum = sum.wrapping_add(u64::from(level.qty + level.orders));
        }
        Ok(std::hint::black_box(sum))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serde form carries the same values as the rkyv quote.
    #[test]
    fn the_serde_quote_is_the_rkyv_quote() {
        let Serde(q) = SerdeCodec::sample(5);
        let r = super::super::ours::Quote::sample(5);
        assert_eq!(
            (q.seq, q.venue.as_str(), q.levels.len()),
            (r.seq, r.venue.as_str(), 12)
        );
        let bytes = postcard::to_stdvec(&q).expect("encoding");
        assert!(
            bytes.len() < 256,
            "postcard's varints make it smaller: {}",
            bytes.len()
        );
    }
}
