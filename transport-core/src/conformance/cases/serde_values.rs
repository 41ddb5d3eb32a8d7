//! Serde types as messages ([`Serde`]) across processes.

use crate::{
    ChannelConfig, RecvError, Sender, Serde, Transport,
    conformance::harness::{Harness, PEER_TIMEOUT, Role},
};

use super::common::{LONG, channel, expect_disconnected, unknown_role};

/// A serde type with what postcard encodes differently from rkyv: strings,
/// a vector, an option and an enum (both drivers' `serde_values` send it).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct Record {
    name: String,
    values: Vec<u32>,
    note: Option<String>,
    shape: Shape,
}

/// The enum inside a [`Record`].
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub enum Shape {
    /// A unit variant.
    Point,
    /// A struct variant.
    Circle {
        /// A float.
        radius: f64,
    },
    /// A tuple variant.
    Label(String),
}

/// Record number `i` (each differs in every field's shape).
pub fn record(i: u32) -> Record {
    Record {
        name: format!("record {i}"),
        values: (0..i % 300).collect(),
        note: (i % 3 == 0).then(|| "a note".repeat(i as usize % 7)),
        shape: match i % 3 {
            0 => Shape::Point,
            1 => Shape::Circle {
                radius: f64::from(i) / 2.0,
            },
            _ => Shape::Label(format!("label {i}")),
        },
    }
}

/// How many records the child sends.
pub const RECORDS: u32 = 1_000;

/// A child sends 1,000 serde records, a frame whose bytes are a
/// well-formed archive but not a record, and one record more. The parent
/// gets every record as an owned value, equal and in order; the bad frame
/// is `Invalid` and the channel goes on; then `Disconnected`.
pub fn serde_values<T: Transport>(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = channel::<T, Serde<Record>>(&ChannelConfig::default());
            let peer = h.child("sender").endpoint("tx", tx).spawn();
            for i in 0..RECORDS {
                let Serde(got) = rx
                    .recv_timeout_owned(LONG)
                    .unwrap_or_else(|e| panic!("receiving record {i}: {e}"));
                assert_eq!(got, record(i), "record {i} differs");
            }
            match rx.recv_timeout_owned(LONG) {
                Err(crate::RecvTimeoutError::Invalid(_)) => {}
                other => panic!("a frame that is not a record: expected Invalid, got {other:?}"),
            }
            let Serde(last) = rx.recv_owned().expect("the record after the bad frame");
            assert_eq!(last, record(RECORDS), "the record after the bad frame differs");
            expect_disconnected(&rx);
            assert!(matches!(rx.recv_owned(), Err(RecvError::Disconnected)));
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child("sender") => {
            let tx: Sender<Serde<Record>, T::Sender> = h.endpoint("tx");
            for i in 0..RECORDS {
                tx.send(Serde(record(i)))
                    .unwrap_or_else(|e| panic!("sending record {i}: {e}"));
            }
            // The layout of every `Serde` archive (a byte string), holding
            // a name that is not UTF-8.
            let bogus =
                rkyv::to_bytes::<rkyv::rancor::Error>(&vec![3u8, 0xff, 0xfe, 0xfd]).expect("archiving");
            tx.send_bytes(&bogus).expect("sending the bad frame");
            tx.send(Serde(record(RECORDS))).expect("sending the last record");
        }
        Role::Child(other) => unknown_role(other),
    }
}
