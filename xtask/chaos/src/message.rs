//! The message of the campaign: a sequence number, a check value, and a
//! payload whose length varies with the number.

use rkyv::{Archive, Deserialize, Serialize, rancor};

/// Message `seq` of a trial.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// Its number: 0, 1, 2, … in the order sent.
    pub seq: u64,
    /// [`check_of`] the number.
    pub check: u64,
    /// Bytes derived from the number, of a length between 0 and 16 KiB.
    pub pad: Vec<u8>,
}

/// A value that depends on every bit of `seq`.
fn check_of(seq: u64) -> u64 {
    seq.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(23) ^ 0xC4A0_5EED
}

/// The payload length of message `seq`: mostly under 2 KiB, every 97th
/// 16 KiB, so stream backends see frames of many sizes and some larger
/// than their small-frame paths.
fn pad_len(seq: u64) -> usize {
    if seq % 97 == 96 {
        16 << 10
    } else {
        (seq.wrapping_mul(2_654_435_761) >> 7) as usize % 2048
    }
}

impl Msg {
    /// Message `seq`.
    pub fn new(seq: u64) -> Self {
        Msg {
            seq,
            check: check_of(seq),
            pad: vec![(seq % 251) as u8; pad_len(seq)],
        }
    }

    /// The length of message `seq`'s archive, in bytes.
    pub fn archived_len(seq: u64) -> u64 {
        rkyv::to_bytes::<rancor::Error>(&Msg::new(seq))
            .map(|bytes| bytes.len() as u64)
            .unwrap_or(0)
    }
}

impl ArchivedMsg {
    /// The message's number, if the message is intact.
    pub fn intact_seq(&self) -> Option<u64> {
        let seq = self.seq.to_native();
        let fill = (seq % 251) as u8;
        let intact = self.check.to_native() == check_of(seq)
            && self.pad.len() == pad_len(seq)
            && self.pad.iter().all(|&b| b == fill);
        intact.then_some(seq)
    }
}
