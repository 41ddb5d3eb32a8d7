//! The multi-consumer shared-memory channel, [`ShmMpmc`]: one ring of
//! fixed slots in one segment that any number of producer and consumer
//! processes share, each message going to exactly one consumer (a pool's
//! jobs channel across processes).
//!
//! # Layout
//! The segment is a channel's ([`crate::channel`]) with one lane, flagged
//! as a ring: the channel header (geometry, the consumers' wake-up word),
//! the lane's control block (the shared write and read positions, the
//! producers' wake-up word), then the slots:
//!
//! ```text
//! slot (stride: 16 + limit, rounded up to 64 bytes):
//!     [state: u64][length: u64][message bytes, up to the limit]
//! ```
//!
//! Position `p` is slot `p % slots`, lap `p / slots`. A slot's state word
//! (see `state.rs`) says *free* for lap `l`, *writing* (by participant
//! `i`), *full*, or *reading* (by participant `i`). The two positions are
//! hints that only grow; whoever finds the slot at a position already
//! taken moves the position on (a bounded lock-free queue after Dmitry
//! Vyukov's, with a claim word per slot so that a holder that dies is
//! found):
//! - a producer at `p` takes a slot free for `p`'s lap by exchanging its
//!   word for *writing by me*, moves the write position on, lets rkyv
//!   serialize the message straight into the slot, stores its length and
//!   publishes it with one store of *full*; a consumer asleep is woken;
//! - a consumer at `p` takes a full slot by exchanging its word for
//!   *reading by me*, moves the read position on, copies the message out,
//!   and frees the slot for the next lap (a producer asleep is woken).
//!   Copying out means a message kept by the application holds no slot.
//!
//! A send that fails once it holds a slot (a message whose archive turns
//! out past the limit, a serialization error; raw bytes past the limit are
//! refused before) frees it for the next lap and leaves its position
//! empty; consumers pass it. Until they do, a message queued a lap before
//! can hold the slot a later send needs, so for that while the ring may
//! take fewer than its capacity, and `len` (the positions between the
//! shared write and read positions, at most the capacity) counts the
//! passed positions too: both are approximate, never over the capacity.
//!
//! The slot size is the message size limit (at most
//! [`MPMC_MAX_MESSAGE_SIZE`]); the slots are the channel's capacity, or for
//! a channel without one, `buffer_bytes` worth (16 to 4096 slots).
//!
//! # Trust model
//! The crate's [trust model](crate#trust-model) applies (tested in one
//! process in `tests.rs`, across processes in `tests/mpmc_hostile.rs`, and
//! by the `shm_mpmc` fuzz target):
//! - every state word is read once into a local, decoded and checked: a
//!   holder named on a free or full slot, or a slot behind the position
//!   being looked at in a way no interleaving of correct ends produces, is
//!   reported once as
//!   [`RecvError::Malformed`](transport_core::RecvError::Malformed) to the
//!   consumer that finds it, after which that receiver says
//!   `Disconnected`; a producer that finds one counts the receivers as
//!   gone;
//! - a message length past the limit is `Malformed` (that message only);
//! - one look passes at most 256 positions, however the words change under
//!   it, and every wait sleeps at most [`LIVENESS_PERIOD`] before it looks
//!   again, so words a peer writes can withhold messages or room (cost the
//!   channel), never hang, panic or make this process read outside its
//!   mapping;
//! - the bytes copied out are validated by bytecheck before typed access
//!   (the core's `Receiver::recv`); a producer that rewrites a slot it
//!   published while a consumer copies it is outside the model, as it is
//!   for [`Shm`](super::Shm).
//!
//! # Crashes
//! What a process killed with `SIGKILL` in the middle of traffic loses
//! (tested across processes in `tests/mpmc_crash.rs`):
//! - A killed producer loses no message whose send returned: a send
//!   publishes with one store before it returns. The slot it was writing
//!   when it died, if any, was never published: the first consumer (or
//!   producer a lap later) to find it, and its holder dead, frees it, so
//!   that message is missing whole, never half-delivered, and the others
//!   flow past it.
//! - A killed consumer loses the messages it had received and not yet
//!   handled, and at most the one it was copying out when it died (it
//!   counts as received: nobody else gets it). The slot is freed by
//!   whoever finds it held by a dead process. The other consumers get
//!   every other message, none twice.
//! - A producer that is stopped (not killed) in the middle of a send holds
//!   the consumers at its position until it goes on or dies: messages are
//!   taken in the order of their positions.
//! - Dead holders are found by the waiting ends within
//!   [`LIVENESS_PERIOD`], as for the other channels. All senders gone and
//!   the ring drained: every consumer gets `Disconnected`; all consumers
//!   gone: every sender does.
//!
//! # Portability
//! As the other channels (see the [channel module](super#portability)):
//! the ring uses only 64-bit atomics in the segment, and its ends sleep
//! and wake on the channel's words. It never busy-polls.
//!
//! [`LIVENESS_PERIOD`]: super::LIVENESS_PERIOD

mod end;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzz;
mod make;
mod receiver;
mod ring;
mod sender;
mod state;
#[cfg(test)]
mod tests;
mod transport;

pub use make::{bounded, unbounded, with_config};
pub use receiver::ShmMpmcReceiver;
pub use ring::MPMC_MAX_MESSAGE_SIZE;
pub use sender::ShmMpmcSender;
pub use transport::ShmMpmc;

use std::sync::Arc;

use transport_core::{CreateError, Message};

use crate::{
    channel::{chan::Chan, layout::ROLE_RECEIVER},
    segment::Attachment,
};
use ring::Ring;

use super::ShmConfig;

/// Creates a raw multi-consumer channel with `config` (its capacity, message
/// size limit, capped at [`MPMC_MAX_MESSAGE_SIZE`], and `buffer_bytes` for a
/// channel without a capacity; the wait mode and `max_producers` do not
/// apply: any number of ends take part, up to the segment's participant
/// table).
///
/// # Errors
/// [`CreateError::InvalidConfig`] for a capacity of zero or past 2^24
/// slots; [`CreateError::Io`] when the segment cannot be created.
pub fn raw_mpmc(config: &ShmConfig) -> Result<(ShmMpmcSender, ShmMpmcReceiver), CreateError> {
    create(config, Chan::create)
}

/// As [`raw_mpmc`], in a heap segment laid out as a shared one (for the
/// fuzz targets).
#[cfg(feature = "fuzzing")]
pub(crate) fn raw_mpmc_on_heap(config: &ShmConfig) -> Result<(ShmMpmcSender, ShmMpmcReceiver), CreateError> {
    create(config, Chan::create_on_heap)
}

fn create(
    config: &ShmConfig,
    channel: ring::MakeChannel,
) -> Result<(ShmMpmcSender, ShmMpmcReceiver), CreateError> {
    match config.capacity {
        Some(0) => {
            return Err(CreateError::InvalidConfig {
                reason: "a capacity of 0 (rendezvous) is not supported".into(),
            });
        }
        Some(c) if c > ring::MAX_SLOTS => {
            return Err(CreateError::InvalidConfig {
                reason: format!("a capacity of {c}: at most {} are supported", ring::MAX_SLOTS),
            });
        }
        _ => {}
    }
    let (ring, tx_att) = Ring::create(config, channel)?;
    let ring = Arc::new(ring);
    let rx_att = Attachment::join(&ring.chan.seg, ROLE_RECEIVER)?;
    Ok((
        ShmMpmcSender::new(Arc::clone(&ring), tx_att),
        ShmMpmcReceiver::new(ring, rx_att),
    ))
}

/// A typed sender of the multi-consumer channel.
pub type MpmcSender<T> = transport_core::Sender<T, ShmMpmcSender>;
/// A typed receiver of the multi-consumer channel.
pub type MpmcReceiver<T> = transport_core::Receiver<T, ShmMpmcReceiver>;

/// Creates a typed multi-consumer channel with `config`.
///
/// ```
/// use transport_shm::{ShmConfig, channel::mpmc};
///
/// let (tx, rx) = mpmc::mpmc::<u64>(&ShmConfig::bounded(16))?;
/// let second = rx.try_clone().expect("another consumer");
/// tx.send(1)?;
/// tx.send(2)?;
/// // Each message goes to exactly one of them.
/// let a = rx.recv()?.to_native();
/// let b = second.recv()?.to_native();
/// assert_eq!(a + b, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`raw_mpmc`].
pub fn mpmc<T: Message>(config: &ShmConfig) -> Result<(MpmcSender<T>, MpmcReceiver<T>), CreateError> {
    let (tx, rx) = raw_mpmc(config)?;
    Ok((
        transport_core::Sender::from_raw(tx),
        transport_core::Receiver::from_raw(rx),
    ))
}

// Threads share every end, as on every backend.
const _: () = {
    const fn shared<E: Send + Sync>() {}
    shared::<ShmMpmcSender>();
    shared::<ShmMpmcReceiver>();
};
