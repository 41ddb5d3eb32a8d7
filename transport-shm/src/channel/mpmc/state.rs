//! A slot's state word: what the slot holds, for which position, and who
//! holds it while it is being written or read.
//!
//! ```text
//! bits 63-62  kind: 0 free, 1 writing, 2 full, 3 reading
//! bits 61-56  participant index of the holder (writing, reading; else 0)
//! bits 55-40  low 16 bits of the holder's nonce (writing, reading; else 0)
//! bits 39-0   lap of the position, modulo 2^40
//! ```
//!
//! Position `p` lives in slot `p % slots`, on lap `p / slots`. Laps are
//! compared modulo 2^40 ([`lap_distance`]): a slot is never more than a lap
//! away from what a live end expects, so the ring never runs out of
//! positions.

use crate::segment::header::MAX_PARTICIPANTS;

/// What a slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Ready for the producer of its position.
    Free,
    /// Claimed by a producer that is writing the message.
    Writing,
    /// A published message, ready for a consumer.
    Full,
    /// Claimed by a consumer that is copying the message out.
    Reading,
}

/// The participant that holds a slot (writing or reading).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    /// Its entry in the segment's participant table.
    pub(crate) index: usize,
    /// The low 16 bits of its nonce.
    pub(crate) nonce: u16,
}

/// A decoded state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotState {
    pub(crate) kind: Kind,
    /// The lap of the position, modulo 2^40.
    pub(crate) lap: u64,
    /// Who holds the slot: `Some` exactly for writing and reading.
    pub(crate) holder: Option<Holder>,
}

/// Lap numbers are kept modulo this.
pub(crate) const LAP_MODULUS: u64 = 1 << 40;
const LAP_MASK: u64 = LAP_MODULUS - 1;
const NONCE_SHIFT: u32 = 40;
const INDEX_SHIFT: u32 = 56;
const KIND_SHIFT: u32 = 62;

// Six bits of index are enough for every participant.
const _: () = assert!(MAX_PARTICIPANTS <= 64);

impl SlotState {
    /// A free slot for lap `lap`.
    pub(crate) fn free(lap: u64) -> SlotState {
        SlotState {
            kind: Kind::Free,
            lap: lap & LAP_MASK,
            holder: None,
        }
    }

    /// A full slot of lap `lap`.
    pub(crate) fn full(lap: u64) -> SlotState {
        SlotState {
            kind: Kind::Full,
            lap: lap & LAP_MASK,
            holder: None,
        }
    }

    /// A slot of lap `lap` held by `holder`, writing or reading.
    pub(crate) fn held(kind: Kind, lap: u64, holder: Holder) -> SlotState {
        SlotState {
            kind,
            lap: lap & LAP_MASK,
            holder: Some(holder),
        }
    }

    /// The word for this state.
    pub(crate) fn encode(self) -> u64 {
        let kind: u64 = match self.kind {
            Kind::Free => 0,
            Kind::Writing => 1,
            Kind::Full => 2,
            Kind::Reading => 3,
        };
        let holder = self.holder.map_or(0, |h| {
            ((h.index as u64 & 0x3F) << INDEX_SHIFT) | (u64::from(h.nonce) << NONCE_SHIFT)
        });
        (kind << KIND_SHIFT) | holder | (self.lap & LAP_MASK)
    }

    /// Reads a word from shared memory: why it is no state, if it is not.
    pub(crate) fn decode(word: u64) -> Result<SlotState, &'static str> {
        let kind = match word >> KIND_SHIFT {
            0 => Kind::Free,
            1 => Kind::Writing,
            2 => Kind::Full,
            _ => Kind::Reading,
        };
        let lap = word & LAP_MASK;
        let index = ((word >> INDEX_SHIFT) & 0x3F) as usize;
        let nonce = ((word >> NONCE_SHIFT) & 0xFFFF) as u16;
        let holder = match kind {
            Kind::Free | Kind::Full => {
                if index != 0 || nonce != 0 {
                    return Err("names a holder for a slot nobody holds");
                }
                None
            }
            Kind::Writing | Kind::Reading => {
                if index >= MAX_PARTICIPANTS {
                    return Err("names a participant past the table");
                }
                Some(Holder { index, nonce })
            }
        };
        Ok(SlotState { kind, lap, holder })
    }
}

/// How many laps `lap` is after `expected` (negative: before), modulo
/// 2^40, in the range -2^39..2^39.
pub(crate) fn lap_distance(lap: u64, expected: u64) -> i64 {
    let d = lap.wrapping_sub(expected) & LAP_MASK;
    if d >= LAP_MODULUS / 2 {
        d as i64 - LAP_MODULUS as i64
    } else {
        d as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_survives_a_round_trip() {
        let h = Holder {
            index: 63,
            nonce: 0xBEEF,
        };
        for s in [
            SlotState::free(0),
            SlotState::free(LAP_MODULUS + 5),
            SlotState::full(LAP_MASK),
            SlotState::held(Kind::Writing, 7, h),
            SlotState::held(Kind::Reading, 1 << 39, h),
        ] {
            assert_eq!(SlotState::decode(s.encode()), Ok(s));
        }
    }

    #[test]
    fn a_holder_on_a_free_or_full_slot_is_refused() {
        let w = SlotState::held(Kind::Writing, 3, Holder { index: 1, nonce: 2 }).encode();
        let as_free = w & !(3 << KIND_SHIFT);
        assert!(SlotState::decode(as_free).is_err());
        assert!(SlotState::decode(as_free | (2 << KIND_SHIFT)).is_err());
    }

    #[test]
    fn laps_compare_across_the_modulus() {
        assert_eq!(lap_distance(0, LAP_MASK), 1);
        assert_eq!(lap_distance(LAP_MASK, 0), -1);
        assert_eq!(lap_distance(9, 9), 0);
        assert_eq!(lap_distance(5, 9), -4);
    }
}
