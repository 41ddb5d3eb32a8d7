//! `message_validate`: bytes from the fuzzer received as a message of a
//! rich type, through the receiver's real path (`Receiver` → `Received`
//! validation), aligned (the `local` backend's frames) or misaligned (a
//! frame that starts off a 16-byte boundary, so the receiver copies it).
//!
//! Input: one control byte, then the frame. The control byte's low four
//! bits are the frame's misalignment (0: through the `local` backend);
//! bit 4 picks the message type ([`Order`], or a [`Batch`] of them).

use std::{cell::Cell, fmt::Debug};

use rkyv::{Archive, Deserialize, Serialize, rancor, util::AlignedVec};
use transport_core::{
    FRAME_ALIGN, Frame, FrameWriter, Message, RawReceiver, RawRecvError, Receiver, TryRecvError, Wait, local,
};

/// A message with every kind of field whose archive bytecheck checks:
/// strings, vectors, options, boxes, enums, nested structs, `bool`, `char`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Order {
    pub id: u64,
    pub customer: String,
    pub lines: Vec<Line>,
    pub note: Option<String>,
    pub status: Status,
    pub urgent: bool,
    pub grade: char,
    pub ship_to: Option<Box<Address>>,
    pub codes: [u16; 3],
    pub pair: (i32, Vec<u8>),
}

/// A line of an [`Order`].
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Line {
    pub sku: String,
    pub quantity: u32,
    pub tags: Vec<String>,
}

/// Where an [`Order`] goes.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub struct Address {
    pub street: String,
    pub zip: Option<u32>,
}

/// An enum with unit, tuple and struct variants.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
pub enum Status {
    New,
    Paid(u64),
    Shipped { carrier: String, parcels: Vec<u32> },
    Cancelled(Option<String>),
}

/// Several orders in one message.
pub type Batch = Vec<Order>;

/// The control byte's bit that picks [`Batch`] over [`Order`].
pub const BATCH: u8 = 0x10;

/// Sample orders, from empty to every field used.
pub fn samples() -> Vec<Order> {
    let line = |sku: &str, quantity, tags: &[&str]| Line {
        sku: sku.into(),
        quantity,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    };
    vec![
        Order {
            id: 0,
            customer: String::new(),
            lines: Vec::new(),
            note: None,
            status: Status::New,
            urgent: false,
            grade: 'a',
            ship_to: None,
            codes: [0; 3],
            pair: (0, Vec::new()),
        },
        Order {
            id: 7,
            customer: "Ada".into(),
            lines: vec![line("A-1", 2, &[])],
            note: Some("ring twice".into()),
            status: Status::Paid(1_999),
            urgent: true,
            grade: 'é',
            ship_to: Some(Box::new(Address {
                street: "1 Analytical Engine Row".into(),
                zip: Some(10_115),
            })),
            codes: [1, 2, 3],
            pair: (-5, vec![1, 2, 3]),
        },
        Order {
            id: u64::MAX,
            customer: "a customer name long enough to live out of line".into(),
            lines: vec![
                line("B-22", 1, &["fragile", "gift"]),
                line("C-333", 40, &["bulk"]),
                line("", 0, &[""]),
            ],
            note: Some(String::new()),
            status: Status::Shipped {
                carrier: "post".into(),
                parcels: vec![11, 12, 13],
            },
            urgent: false,
            grade: '🦀',
            ship_to: Some(Box::new(Address {
                street: String::new(),
                zip: None,
            })),
            codes: [u16::MAX, 0, 1],
            pair: (i32::MIN, vec![0xFF; 40]),
        },
        Order {
            id: 42,
            customer: "Grace".into(),
            lines: vec![line("D-4", 3, &["x"]); 5],
            note: None,
            status: Status::Cancelled(Some("changed mind".into())),
            urgent: true,
            grade: 'Z',
            ship_to: None,
            codes: [9, 9, 9],
            pair: (1, vec![]),
        },
        Order {
            id: 43,
            customer: "Linus".into(),
            lines: Vec::new(),
            note: None,
            status: Status::Cancelled(None),
            urgent: false,
            grade: '0',
            ship_to: None,
            codes: [4, 5, 6],
            pair: (2, vec![7]),
        },
    ]
}

/// The seed inputs: each sample alone and all of them as a batch, aligned
/// and misaligned; name and bytes.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let orders = samples();
    for (i, order) in orders.iter().enumerate() {
        let bytes = rkyv::to_bytes::<rancor::Error>(order).expect("serializing a sample");
        for shift in [0u8, 3] {
            seeds.push((format!("order-{i}-shift-{shift}"), input(shift, &bytes)));
        }
    }
    let bytes = rkyv::to_bytes::<rancor::Error>(&orders).expect("serializing the batch");
    for shift in [0u8, 9] {
        seeds.push((format!("batch-shift-{shift}"), input(BATCH | shift, &bytes)));
    }
    seeds
}

fn input(control: u8, frame: &[u8]) -> Vec<u8> {
    let mut input = vec![control];
    input.extend_from_slice(frame);
    input
}

/// One run: the frame is received as an [`Order`] or a [`Batch`].
pub fn run(data: &[u8]) {
    let Some((&control, frame)) = data.split_first() else {
        return;
    };
    let shift = usize::from(control & 0x0F);
    if control & BATCH == 0 {
        receive::<Order>(shift, frame);
    } else {
        receive::<Batch>(shift, frame);
    }
}

/// Receives `frame` as a `T`, shifted `shift` bytes off alignment, and
/// checks what the receiver says against the archive itself.
fn receive<T>(shift: usize, frame: &[u8])
where
    T: Message + PartialEq + Debug,
    T::Archived: Debug,
{
    let outcome = if shift == 0 {
        let (tx, rx) = local::unbounded::<T>().expect("a local channel");
        tx.send_bytes(frame).expect("a local channel takes any frame");
        match rx.try_recv() {
            Ok(msg) => {
                check_valid::<T>(&msg, msg.bytes());
                Ok(())
            }
            Err(TryRecvError::Invalid(e)) => Err(e),
            Err(e) => panic!("a frame sent to a local channel gave: {e}"),
        }
    } else {
        let rx = Receiver::<T, _>::from_raw(OneFrame::new(frame, shift));
        match rx.try_recv() {
            Ok(msg) => {
                check_valid::<T>(&msg, msg.bytes());
                Ok(())
            }
            Err(TryRecvError::Invalid(e)) => Err(e),
            Err(e) => panic!("a shifted frame gave: {e}"),
        }
    };
    let fast_says_valid = {
        let mut aligned = AlignedVec::<FRAME_ALIGN>::with_capacity(frame.len());
        aligned.extend_from_slice(frame);
        rkyv::access::<T::Archived, rancor::Failure>(&aligned).is_ok()
    };
    match outcome {
        Ok(()) => assert!(fast_says_valid, "the receiver passed what validation rejects"),
        Err(e) => {
            assert!(
                !fast_says_valid,
                "the receiver rejected what validation passes: {e}"
            );
            assert_eq!(e.len(), frame.len(), "the error gives the frame's length");
            let reason = e.to_string();
            assert!(
                !reason.contains("passed it when checked again"),
                "two validations of the same bytes disagreed: {reason}"
            );
        }
    }
}

/// Everything a receiver may do with a validated message: read every
/// field (through `Debug`), deserialize it, and serialize the result again
/// into a message that validates and deserializes to the same value.
fn check_valid<T>(archived: &T::Archived, bytes: &[u8])
where
    T: Message + PartialEq + Debug,
    T::Archived: Debug,
{
    assert_eq!(
        bytes.as_ptr() as usize % FRAME_ALIGN,
        0,
        "a message is read aligned"
    );
    let text = format!("{archived:?}");
    std::hint::black_box(text);
    let owned: T = rkyv::deserialize::<T, rancor::Error>(archived).expect("a validated message deserializes");
    // Serialized again the way a sender does it.
    let mut again = AlignedVec::<FRAME_ALIGN>::new();
    let mut writer = FrameWriter::aligned(&mut again, usize::MAX);
    writer
        .serialize(&owned)
        .expect("a deserialized message serializes");
    writer.finish().expect("no limit to pass");
    let archived = rkyv::access::<T::Archived, rancor::BoxedError>(&again)
        .unwrap_or_else(|e| panic!("a message serialized again does not validate: {e}"));
    let back: T = rkyv::deserialize::<T, rancor::Error>(archived).expect("a validated message deserializes");
    assert_eq!(back, owned, "a message changed in a round trip");
}

/// A frame that starts `shift` bytes past a 16-byte boundary.
pub struct Shifted {
    buf: AlignedVec<FRAME_ALIGN>,
    shift: usize,
}

// SAFETY: the frame owns its buffer and hands out shared references only,
// always to the same bytes.
unsafe impl Frame for Shifted {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.shift..]
    }
}

/// A backend receiver that holds one frame, then is disconnected.
pub struct OneFrame(Cell<Option<Shifted>>);

impl OneFrame {
    fn new(frame: &[u8], shift: usize) -> Self {
        let mut buf = AlignedVec::with_capacity(shift + frame.len());
        buf.extend_from_slice(&[0u8; FRAME_ALIGN][..shift]);
        buf.extend_from_slice(frame);
        OneFrame(Cell::new(Some(Shifted { buf, shift })))
    }
}

impl RawReceiver for OneFrame {
    type Frame = Shifted;

    fn recv_frame(&self, _wait: Wait) -> Result<Shifted, RawRecvError> {
        self.0.take().ok_or(RawRecvError::Disconnected)
    }
}
