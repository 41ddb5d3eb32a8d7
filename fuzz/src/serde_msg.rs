//! `serde_message`: bytes from the fuzzer received as a
//! [`Serde`](transport_core::Serde) message of a rich serde type, through
//! the receiver's real path (`Receiver::try_recv_owned`: the archive
//! checked, then postcard's decode).
//!
//! Input: one control byte, then the bytes. With the control byte's low bit
//! clear the bytes are postcard's, wrapped in a well-formed archive (a byte
//! string), so the run reaches the decoder; set, they are the whole frame.

use serde::{Deserialize, Serialize};
use transport_core::{Serde, TryRecvError, local};

/// A serde type with every kind of field postcard decodes differently:
/// strings, vectors, options, boxes, enums, maps, `bool`, `char`, floats,
/// arrays and tuples.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: u64,
    pub owner: String,
    pub items: Vec<Item>,
    pub note: Option<String>,
    pub state: State,
    pub urgent: bool,
    pub grade: char,
    pub next: Option<Box<Item>>,
    pub codes: [u16; 3],
    pub pair: (i32, Vec<u8>),
    pub weights: std::collections::BTreeMap<String, f32>,
}

/// An item of a [`Ticket`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Item {
    pub name: String,
    pub count: u32,
    pub delta: i64,
}

/// An enum with unit, tuple and struct variants.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum State {
    Open,
    Held(u64),
    Closed { by: String, at: Vec<u32> },
    Lost(Option<String>),
}

/// The control byte's bit that sends the bytes as the whole frame.
pub const RAW: u8 = 0x01;

/// Sample tickets, from empty to every field used.
pub fn samples() -> Vec<Ticket> {
    let item = |name: &str, count, delta| Item {
        name: name.into(),
        count,
        delta,
    };
    vec![
        Ticket {
            id: 0,
            owner: String::new(),
            items: Vec::new(),
            note: None,
            state: State::Open,
            urgent: false,
            grade: 'a',
            next: None,
            codes: [0; 3],
            pair: (0, Vec::new()),
            weights: Default::default(),
        },
        Ticket {
            id: u64::MAX,
            owner: "an owner whose name is long enough to matter".into(),
            items: vec![item("x", 1, -1), item("", u32::MAX, i64::MIN)],
            note: Some("ring twice".into()),
            state: State::Closed {
                by: "post".into(),
                at: vec![1, 2, 3],
            },
            urgent: true,
            grade: '🦀',
            next: Some(Box::new(item("next", 7, 7))),
            codes: [1, u16::MAX, 3],
            pair: (i32::MIN, vec![0xFF; 20]),
            weights: [("a".to_owned(), 0.5), ("b".to_owned(), f32::MAX)].into(),
        },
        Ticket {
            id: 42,
            owner: "Grace".into(),
            items: vec![item("y", 3, 0); 4],
            note: None,
            state: State::Lost(Some("gone".into())),
            urgent: false,
            grade: 'é',
            next: None,
            codes: [9, 9, 9],
            pair: (1, vec![]),
            weights: Default::default(),
        },
    ]
}

/// The seed inputs: each sample's postcard bytes, and one sample as a whole
/// frame; name and bytes.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (i, ticket) in samples().iter().enumerate() {
        let bytes = postcard::to_stdvec(ticket).expect("encoding a sample");
        let mut input = vec![0];
        input.extend_from_slice(&bytes);
        seeds.push((format!("ticket-{i}"), input));
        if i == 1 {
            let frame = rkyv::to_bytes::<rkyv::rancor::Error>(&bytes).expect("archiving a sample");
            let mut input = vec![RAW];
            input.extend_from_slice(&frame);
            seeds.push((format!("ticket-{i}-frame"), input));
        }
    }
    seeds
}

/// One run: the bytes are received as a `Serde<Ticket>`; a ticket that
/// decodes must travel again unchanged.
pub fn run(data: &[u8]) {
    let Some((&control, bytes)) = data.split_first() else {
        return;
    };
    let (tx, rx) = local::unbounded::<Serde<Ticket>>().expect("a local channel");
    if control & RAW == 0 {
        let frame = rkyv::to_bytes::<rkyv::rancor::Error>(&bytes.to_vec()).expect("archiving bytes");
        tx.send_bytes(&frame).expect("a local channel takes any frame");
    } else {
        tx.send_bytes(bytes).expect("a local channel takes any frame");
    }
    let ticket = match rx.try_recv_owned() {
        Ok(Serde(ticket)) => ticket,
        Err(TryRecvError::Invalid(e)) => {
            std::hint::black_box(e.to_string());
            return;
        }
        Err(e) => panic!("a frame sent to a local channel gave: {e}"),
    };
    tx.send(Serde(ticket.clone())).expect("sending a decoded ticket");
    let Serde(again) = rx.try_recv_owned().expect("a ticket sent again is received");
    // Compared through `Debug`, where a NaN weight equals itself.
    assert_eq!(format!("{again:?}"), format!("{ticket:?}"), "a ticket changed in a round trip");
}
