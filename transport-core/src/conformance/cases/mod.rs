//! The cases, grouped by what they check, and the messages they send.

mod bad_input;
mod blocking;
mod close;
mod common;
mod duplex;
mod many;
mod occupancy;
mod order;
mod select;
mod serde_values;
mod shared;
mod vocabulary;

pub use bad_input::{garbage, garbage_frames, too_large};
pub use blocking::{timeouts, try_recv_empty, try_send_full};
pub use close::{
    peer_killed_while_receiving, peer_killed_while_sending, receiver_drop_disconnects_sender,
    sender_drop_drains_then_disconnects,
};
pub use common::*;
pub use duplex::{duplex_peer_drop, duplex_peer_killed, duplex_ping_pong};
pub use many::{many_consumers, many_producers};
pub use occupancy::occupancy;
pub use order::{
    fifo_from_child, fifo_from_child_of, fifo_to_child, fifo_to_child_of, payload_sizes, raw_bytes_roundtrip,
};
pub use select::{duplex_poll, select_disconnect, select_in_child, select_message_index, select_timeout};
pub use serde_values::{
    RECORDS as SERDE_RECORDS, Record as SerdeRecord, record as serde_record, serde_values,
};
pub use shared::shared_sender;
pub use vocabulary::{deadlines_and_iterators, ready_and_owned_iterators, send_deadline_full, zero_capacity};
