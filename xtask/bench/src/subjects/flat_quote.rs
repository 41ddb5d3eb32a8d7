//! The structured message in crossbar's shape, as our rows send it: the
//! very `PodQuote` crossbar's typed paths carry (`crossbar::wire`), the
//! same fields and values as the [`Quote`](super::ours::Quote) with the
//! venue and the book levels in fixed arrays instead of a `String` and a
//! `Vec`, sent as an rkyv archive through `Sender<PodQuote, _>` and read
//! in place, validated (mode `flat-validated`) or not (`flat-unchecked`).
//! What changes against the `Quote` is only what rkyv has to do: no
//! out-of-line data to place and point to.
//!
//! The heap-shaped `Quote` against crossbar's flat value compares message
//! shapes as much as transports; these rows compare like with like.

use super::{crossbar::wire::PodQuote, ours::Sampled};
use crate::measure::touch;

impl Sampled for PodQuote {
    fn sample(seq: u64) -> PodQuote {
        PodQuote::sample(seq)
    }

    /// Reads every field in use, as `PodQuote::read` does the value.
    fn read(q: &Self::Archived) -> u64 {
        let mut sum = q.seq.to_native() ^ q.time_ns.to_native();
        sum = sum.wrapping_add(u64::from(q.instrument.to_native() ^ q.flags.to_native()));
        let venue = (q.venue_len.to_native() as usize).min(q.venue.len());
        sum = sum.wrapping_add(touch(&q.venue[..venue]));
        let levels = (q.level_count.to_native() as usize).min(q.levels.len());
        for level in &q.levels[..levels] {
            sum = sum.wrapping_add(level.price.to_native() as u64);
            sum = sum.wrapping_add(u64::from(
                level.qty.to_native().wrapping_add(level.orders.to_native()),
            ));
        }
        std::hint::black_box(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_is_the_value_s_256_bytes() {
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&PodQuote::sample(0)).unwrap();
        assert_eq!(bytes.len(), 256);
        assert_eq!(bytes.len(), size_of::<PodQuote>());
    }

    #[test]
    fn the_archive_reads_as_the_value() {
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&PodQuote::sample(7)).unwrap();
        let q = rkyv::access::<rkyv::Archived<PodQuote>, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(<PodQuote as Sampled>::read(q), PodQuote::sample(7).read());
    }
}
