//! What crossbar carries: byte arrays, and the structured message as a
//! flat `Pod` value with the fields of `ours::Quote` (whose archive is
//! 256 B) in 256 bytes. Every message carries its sequence number, so the
//! receiver can check that nothing was lost or reordered. The flat value
//! is also an rkyv message: our `flat-*` rows send it (see
//! `subjects/flat_quote.rs`).

use crossbar::Pod;

use crate::measure::{payload, touch};

/// One level of an order book, flat.
#[repr(C)]
#[derive(Clone, Copy, Debug, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct PodLevel {
    /// Price in ticks.
    pub price: i64,
    /// Quantity.
    pub qty: u32,
    /// Number of orders.
    pub orders: u32,
}

/// The structured message, flat: what crossbar's typed paths carry in
/// place of an archive.
#[repr(C)]
#[derive(Clone, Copy, Debug, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct PodQuote {
    /// Sequence number.
    pub seq: u64,
    /// Timestamp.
    pub time_ns: u64,
    /// Instrument id.
    pub instrument: u32,
    /// Flags.
    pub flags: u32,
    /// Bytes of `venue` in use.
    pub venue_len: u32,
    /// Entries of `levels` in use.
    pub level_count: u32,
    /// Venue name.
    pub venue: [u8; 24],
    /// Twelve book levels.
    pub levels: [PodLevel; 12],
    reserved: [u8; 8],
}

const _: () = assert!(size_of::<PodQuote>() == 256);
const _: () = assert!(size_of::<PodLevel>() == 16);
// The fields add up to the size: there is no padding byte in the type.
const _: () = assert!(
    2 * size_of::<u64>()
        + 4 * size_of::<u32>()
        + size_of::<[u8; 24]>()
        + size_of::<[PodLevel; 12]>()
        + size_of::<[u8; 8]>()
        == size_of::<PodQuote>()
);
const _: () = assert!(size_of::<i64>() + 2 * size_of::<u32>() == size_of::<PodLevel>());

// SAFETY: `PodQuote` is `repr(C)`, made of integers and arrays of integers
// (through `PodLevel`, also `repr(C)` and without padding, as asserted
// above), so it has no padding, no pointers, and every bit pattern is a
// valid value; it is `Copy`, `Send` and `'static`, with an alignment of 8.
unsafe impl Pod for PodQuote {}

impl PodQuote {
    /// The message with sequence number `seq`, filled as `Quote::sample`.
    pub fn sample(seq: u64) -> Self {
        let venue_text = b"XBENCH-PRIMARY-VENUE-001";
        let mut venue = [0u8; 24];
        venue.copy_from_slice(venue_text);
        let mut levels = [PodLevel {
            price: 0,
            qty: 0,
            orders: 0,
        }; 12];
        for (i, level) in levels.iter_mut().enumerate() {
            *level = PodLevel {
                price: 10_000 + i as i64,
                qty: 100 + i as u32,
                orders: 1 + i as u32,
            };
        }
        PodQuote {
            seq,
            time_ns: seq * 1_000,
            instrument: 42,
            flags: 3,
            venue_len: venue_text.len() as u32,
            level_count: 12,
            venue,
            levels,
            reserved: [0; 8],
        }
    }

    /// Reads every field in use, as `ours::read_quote` does.
    pub fn read(&self) -> u64 {
        let mut sum = self.seq ^ self.time_ns;
        sum = sum.wrapping_add(u64::from(self.instrument ^ self.flags));
        let venue = (self.venue_len as usize).min(self.venue.len());
        sum = sum.wrapping_add(touch(&self.venue[..venue]));
        let levels = (self.level_count as usize).min(self.levels.len());
        for level in &self.levels[..levels] {
            sum = sum.wrapping_add(level.price as u64);
            sum = sum.wrapping_add(u64::from(level.qty.wrapping_add(level.orders)));
        }
        std::hint::black_box(sum)
    }
}

/// A fixed-size value `PodBus` carries: made from the run's payload,
/// stamped with a sequence number, read in full by the receiver.
pub trait Wire: Pod {
    /// The value for a run of `payload`-byte messages.
    fn template(payload: usize) -> Self;
    /// Stamps the value with sequence number `seq`.
    fn set_seq(&mut self, seq: u64);
    /// The value's sequence number.
    fn seq(&self) -> u64;
    /// Reads every byte or field, as a receiver that uses the data would.
    fn read(&self) -> u64;
}

impl<const N: usize> Wire for [u8; N] {
    fn template(_: usize) -> Self {
        let mut v = [0u8; N];
        v.copy_from_slice(&payload(N));
        v
    }

    fn set_seq(&mut self, seq: u64) {
        self[..8].copy_from_slice(&seq.to_le_bytes());
    }

    fn seq(&self) -> u64 {
        seq_of(self).unwrap_or(u64::MAX)
    }

    fn read(&self) -> u64 {
        touch(self)
    }
}

impl Wire for PodQuote {
    fn template(_: usize) -> Self {
        PodQuote::sample(0)
    }

    fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
    }

    fn seq(&self) -> u64 {
        self.seq
    }

    fn read(&self) -> u64 {
        PodQuote::read(self)
    }
}

/// The sequence number in the first 8 bytes of a byte message.
pub fn seq_of(bytes: &[u8]) -> Option<u64> {
    let word: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(word))
}

/// Checks that message `got` is the one expected next.
pub fn check_seq(got: u64, expected: u64) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "crossbar: message {expected} expected, message {got} arrived (a message was lost or reordered)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_reads_its_fields_and_keeps_its_sequence() {
        let mut q = PodQuote::sample(5);
        q.set_seq(9);
        assert_eq!(Wire::seq(&q), 9);
        assert_ne!(PodQuote::read(&q), 0);
        let mut bytes = <[u8; 64] as Wire>::template(64);
        bytes.set_seq(7);
        assert_eq!(Wire::seq(&bytes), 7);
        assert_eq!(&bytes[8..], &payload(64)[8..]);
        assert!(check_seq(3, 4).is_err());
    }
}
