//! The shared-memory channel: a ring per producer in one segment, rkyv
//! serializing straight into the ring, the receiver validating and reading
//! in place.
//!
//! # Trust model
//! The crate's [trust model](crate#trust-model) applies; for the ring:
//! - Every word the receiver uses is read once into its own memory and
//!   checked: a tail is 16-aligned and less than two lanes' bytes ahead of
//!   the read position; a record's
//!   header must carry its position's stamp and a length that fits the
//!   limit, the lap and the tail; a wrap is never at a lap's start and never
//!   past the tail. A lane that breaks a rule is reported once as
//!   [`RecvError::Malformed`](transport_core::RecvError::Malformed) and
//!   closed: its producer gets `Disconnected`, no new producer takes it, and
//!   the receiver never reads it again. So one look at a lane passes at most
//!   one wrap, and no record is delivered twice.
//! - The head (what the consumer released) lives in the receiver's memory
//!   and is only published to the shared word: a rewritten head word costs
//!   the producer its room, never the receiver a release. A sender reads
//!   the head word and takes it only if it is a record boundary, not ahead
//!   of its tail and less than two lanes behind; otherwise the receiver
//!   counts as gone.
//! - The slot protocol guarantees the sender no longer writes a record it
//!   committed: a producer writes only between its tail and the consumer's
//!   head, and the head passes a record only when the receiver drops the
//!   frame that reads it. A killed sender writes nothing at all. So the bytes
//!   the receiver validates and then reads in place do not change under it,
//!   as long as the sender keeps the protocol.
//! - Message bytes are validated by bytecheck before any typed access (the
//!   core's `Receiver::recv`); the only unchecked path is `unsafe`.
//! - Async readiness reads the same atomics and nothing else: a peer that
//!   scribbles on the wake-up words or positions can wake its channel's
//!   tasks for nothing or withhold their wake-ups (a sleeping thread looks
//!   again every liveness period; a waiting task, once the peer leaves or
//!   dies), never cause undefined behaviour.
//! - A sender that breaks the protocol (keeps writing a committed record) is
//!   outside the model of [`Shm`]. For such peers, [`ShmConfig::untrusted`]
//!   copies each message out of shared memory (with atomic loads, so the
//!   copy itself is race-free) before it is validated, and releases the
//!   record at once.
//!
//! # Crashes
//! What a process killed with `SIGKILL` in the middle of traffic loses or
//! leaves (tested across processes in `tests/crash_loss.rs`):
//! - A killed producer loses no message whose send returned: a send
//!   publishes its record with one store of the tail before it returns, and
//!   the receiver drains every published record before it says
//!   `Disconnected`. The message it was writing when it died, if any, was
//!   never published: it is missing whole, never half-delivered.
//! - A killed consumer loses what its ring held: at most the channel's
//!   capacity per producer (a message counts until it is released, so this
//!   includes those it had received and not yet dropped), and at most
//!   `buffer_bytes` plus one message of the size limit. Its producers get
//!   `Disconnected` once they wait for room (within [`LIVENESS_PERIOD`]),
//!   or at one of their next 256 sends after that period.
//! - Neither leaves a segment once the survivors drop their ends; a segment
//!   whose participants all died is removed by the next sweep
//!   ([`cleanup_stale`]).
//!
//! # Liveness
//! Every end is a participant of the segment (see [`cleanup_stale`]). An
//! end that is dropped tells the others at once (a departure counter plus a
//! wake-up); an end whose process was killed is found dead by the waiting
//! side within [`LIVENESS_PERIOD`] (it re-checks the process ids and start
//! times of its peers while it waits). Either way the survivor gets
//! `Disconnected`, after draining what was sent. Async waits are held to
//! the same bounds: a departure bumps the words the bridge sleeps on, and
//! the bridge re-checks the peers of every waiting end each
//! [`LIVENESS_PERIOD`], waking the tasks whose peers are all dead.
//!
//! # Occupancy
//! `len`, `capacity`, `is_empty` and `is_full` give the same answer on
//! either end, approximate:
//! - `len` counts the messages of every open lane that were sent and not
//!   yet received (a message held in place, received and not yet dropped,
//!   no longer counts, though its bytes stay taken until it is dropped).
//!   It is a snapshot taken lane by lane, from two counts per lane in the
//!   segment: what its producer sent, written just before the tail that
//!   publishes it, and what the receiver took, written as it hands a
//!   message out. Other ends change them the next moment.
//! - `capacity` is the bound *per producer*, the one the channel was made
//!   with ([`ShmConfig::capacity`]; `bounded(n)`'s `n`): each producer's
//!   lane holds that many messages. With several producers the channel
//!   holds up to that many from each, so `len` can pass `capacity`, and
//!   `is_full` (`len >= capacity`) then says that a producer's worth of
//!   messages waits, not that every send would wait. `None` for a channel
//!   bounded in bytes only.
//! - The ring bounds bytes too: a send can wait for room before `len`
//!   reaches `capacity`.
//! - The counts are words a peer can write (see the trust model): each
//!   lane's count is clamped to the most messages its lane holds, so such
//!   a peer can make the answer wrong, never make it panic or overflow.
//!
//! [`ShmMpmc`](mpmc) counts its one ring of slots instead (see its docs).
//!
//! # Async readiness
//! [`ShmReceiver`] and [`ShmSender`] implement
//! [`PollRecv`](transport_core::backend::PollRecv) and
//! [`PollSend`](transport_core::backend::PollSend) with std's `Context` only (no
//! runtime) through one *bridge thread* per process
//! ([`Readiness::BridgeThread`]), started by the first wait:
//! - `poll_*_ready` looks, and spins for up to 30 µs (as a blocking end
//!   does before it sleeps), so a busy exchange never involves the bridge.
//!   An end whose last spin ran out, and that was not ready since, looks
//!   once without a spin: a task that looks at several idle ends (a
//!   `tokio::select!` over receivers, say) is not held up by each. A
//!   blocking `Select` or `wait` spins itself over every shared-memory end
//!   at once (`recv_ready_now`) and registers them without their spin
//!   (`register_recv_ready`).
//! - Then it registers the end with the bridge and counts it among the end's
//!   sleepers, so the peer's usual wake-up (it bumps a word and wakes the
//!   sleepers) reaches the bridge exactly as it would reach a sleeping
//!   thread; then it looks again, so nothing that happened in between is
//!   missed. The peer's fast path is unchanged: no system call unless someone
//!   waits.
//! - The bridge sleeps on the words of every waiting end at once, wakes the
//!   tasks whose words changed, and stops counting them as sleepers.
//!
//! The futex words and named semaphores cannot be registered with a
//! reactor, and an eventfd or pipe per channel would have to be passed to
//! unrelated processes and would put a system call on every send; so a
//! thread it is, one per process, not one per channel or message.
//!
//! # Portability
//! | | Linux | macOS | Windows |
//! |---|---|---|---|
//! | segment | `shm_open` in `/dev/shm`, mode 0600 set with `fchmod` whatever the umask; another user's refused | `shm_open`, mode 0600 (narrowed by the umask where `fchmod` is refused), names ≤ 31 bytes; another user's refused | file mapping backed by a temporary file in the user's `%TEMP%` (the `shared_memory` crate), default DACL |
//! | sleeping | shared futex | `os_sync_wait_on_address` (shared, 14.4+) or `__ulock_wait` | named semaphores per bucket of words |
//! | async bridge sleeps on | `futex_waitv` (5.16+): all waiting ends, 127 per call, the rest looked at every millisecond; older kernels as macOS | one waiting end's word; with several, it looks at them every millisecond (no call waits on several addresses) | `WaitForMultipleObjects`: 63 waiting ends per call, the rest every millisecond |
//! | async on a busy-poll channel | the bridge spins while such an end waits | same | same |
//! | peer identity | `/proc/<pid>/stat` start time | `proc_pidinfo` start time | `GetProcessTimes` creation time |
//! | child that dies before opening its end | seen (pid recorded before `exec`) | seen | seen once [`transport_core::spawned`] (or `CommandExt::start`) told the child; before that, when the handing process exits |
//! | a hand-off opens in | the first child of its `Command` (pid and `/proc` start time, recorded before `exec`) | same (`proc_pidinfo` start time) | the child `spawned` told (pid and creation time, recorded once it has started); before that, any process with the token |
//! | stale cleanup lists | `/dev/shm`, this user's entries | a per-user registry directory in `$TMPDIR` | `%TEMP%\shared_memory-rs` (per user) |
//!
//! [`cleanup_stale`]: crate::cleanup_stale
//! [`LIVENESS_PERIOD`]: LIVENESS_PERIOD
//! [`Readiness::BridgeThread`]: transport_core::Readiness::BridgeThread

mod bridge;
pub(crate) mod chan;
mod config;
mod count;
mod frame;
pub(crate) mod layout;
mod link;
mod make;
pub mod mpmc;
mod receiver;
mod sender;
#[cfg(test)]
mod tests;
mod turn;
pub mod variant;

pub use chan::LIVENESS_PERIOD;
pub use config::{DEFAULT_BUFFER_BYTES, DEFAULT_MAX_PRODUCERS, ShmConfig, WaitMode};
pub use frame::ShmFrame;
pub use make::{bounded, unbounded, with_config};
pub use mpmc::{ShmMpmc, ShmMpmcReceiver, ShmMpmcSender};
pub use receiver::ShmReceiver;
pub use sender::ShmSender;
pub use variant::{Multi, ShmTransport, Single};

use transport_core::{CreateError, Message};

// Threads share every end (`&tx` in scoped threads, `Arc<Sender<T>>`), as
// on every backend: this stops compiling if a change loses that.
const _: () = {
    const fn shared<E: Send + Sync>() {}
    shared::<ShmSender>();
    shared::<ShmSender<Multi>>();
    shared::<ShmReceiver>();
    shared::<ShmFrame>();
    shared::<transport_core::Sender<u64, ShmSender>>();
    shared::<transport_core::Receiver<u64, ShmReceiver>>();
};

use crate::segment::Attachment;
use layout::ROLE_RECEIVER;

/// The largest message a channel can be configured for.
pub const MAX_MESSAGE_SIZE: usize = 1 << 32;

/// Creates a raw single-producer channel with `config`: its sender does
/// not clone ([`raw_mpsc_channel`] makes one that does).
///
/// # Errors
/// [`CreateError::InvalidConfig`] for a capacity of zero, more than one
/// producer ([`max_producers`](ShmConfig::max_producers)), or a size limit
/// past [`MAX_MESSAGE_SIZE`]; [`CreateError::Io`] when the segment cannot
/// be created.
pub fn raw_channel(config: &ShmConfig) -> Result<(ShmSender, ShmReceiver), CreateError> {
    raw_channel_of(config)
}

/// Creates a raw multi-producer channel with `config`: its sender clones
/// into another producer lane while one of the
/// [`max_producers`](ShmConfig::max_producers) lanes is free.
///
/// # Errors
/// As [`raw_channel`], with any number of producers from 1 to 1024.
pub fn raw_mpsc_channel(config: &ShmConfig) -> Result<(ShmSender<Multi>, ShmReceiver), CreateError> {
    raw_channel_of(config)
}

/// A raw channel whose sender takes `P` producers.
pub(crate) fn raw_channel_of<P: variant::Producers>(
    config: &ShmConfig,
) -> Result<(ShmSender<P>, ShmReceiver), CreateError> {
    check::<P>(config)?;
    let (chan, tx_att) = chan::Chan::create(config)?;
    ends(config, chan, tx_att)
}

/// As [`raw_mpsc_channel`], in a heap segment laid out as a shared one
/// (for the fuzz targets).
#[cfg(feature = "fuzzing")]
pub(crate) fn raw_channel_on_heap(
    config: &ShmConfig,
) -> Result<(ShmSender<Multi>, ShmReceiver), CreateError> {
    check::<Multi>(config)?;
    let (chan, tx_att) = chan::Chan::create_on_heap(config)?;
    ends(config, chan, tx_att)
}

fn check<P: variant::Producers>(config: &ShmConfig) -> Result<(), CreateError> {
    if !P::MULTI && config.max_producers > 1 {
        return Err(CreateError::InvalidConfig {
            reason: format!(
                "{} producers on a single-producer channel: a multi-producer one (`ShmMpsc`, `raw_mpsc_channel`, `channel::mpsc`) takes several",
                config.max_producers
            ),
        });
    }
    if config.capacity == Some(0) {
        return Err(CreateError::InvalidConfig {
            reason: "a capacity of 0 (rendezvous) is not supported".into(),
        });
    }
    if config.max_producers == 0 || config.max_producers > 1024 {
        return Err(CreateError::InvalidConfig {
            reason: format!(
                "{} producers: between 1 and 1024 are supported",
                config.max_producers
            ),
        });
    }
    if config.max_message_size > MAX_MESSAGE_SIZE {
        return Err(CreateError::InvalidConfig {
            reason: format!(
                "a message size limit of {} bytes exceeds the shared-memory maximum of {MAX_MESSAGE_SIZE}",
                config.max_message_size
            ),
        });
    }
    Ok(())
}

fn ends<P: variant::Producers>(
    config: &ShmConfig,
    chan: std::sync::Arc<chan::Chan>,
    tx_att: Attachment,
) -> Result<(ShmSender<P>, ShmReceiver), CreateError> {
    let rx_att = Attachment::join(&chan.seg, ROLE_RECEIVER)?;
    let tx = ShmSender::new(std::sync::Arc::clone(&chan), tx_att, 0)?;
    let rx = ShmReceiver::new(chan, rx_att, config.untrusted);
    Ok((tx, rx))
}

/// A typed sender of a single-producer shared-memory channel.
pub type Sender<T> = transport_core::Sender<T, ShmSender>;
/// A typed sender of a multi-producer shared-memory channel: it clones.
pub type MpscSender<T> = transport_core::Sender<T, ShmSender<Multi>>;
/// A typed receiver of the shared-memory backend.
pub type Receiver<T> = transport_core::Receiver<T, ShmReceiver>;

/// Creates a typed single-producer channel with `config`.
///
/// # Errors
/// As [`raw_channel`].
pub fn channel<T: Message>(config: &ShmConfig) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    let (tx, rx) = raw_channel(config)?;
    Ok((
        transport_core::Sender::from_raw(tx),
        transport_core::Receiver::from_raw(rx),
    ))
}

/// Creates a typed multi-producer channel with `config`, for up to its
/// [`max_producers`](ShmConfig::max_producers) producers.
///
/// ```
/// use transport_shm::{ShmConfig, channel};
///
/// let (tx, rx) = channel::mpsc::<u64>(&ShmConfig::bounded(16).max_producers(2))?;
/// let second = tx.try_clone().expect("a second producer lane");
/// second.send(1)?;
/// assert_eq!(*rx.recv()?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`raw_mpsc_channel`].
pub fn mpsc<T: Message>(config: &ShmConfig) -> Result<(MpscSender<T>, Receiver<T>), CreateError> {
    let (tx, rx) = raw_mpsc_channel(config)?;
    Ok((
        transport_core::Sender::from_raw(tx),
        transport_core::Receiver::from_raw(rx),
    ))
}

/// The single-producer shared-memory backend, blocking mode: its sender
/// ([`ShmSender<Single>`](ShmSender)) does not clone.
///
/// # Portability
/// See the [module documentation](self#portability).
pub type Shm = ShmTransport<variant::Blocking>;

/// The multi-producer shared-memory backend (up to
/// [`DEFAULT_MAX_PRODUCERS`] producers), blocking mode: its sender
/// ([`ShmSender<Multi>`](ShmSender)) clones.
///
/// # Portability
/// See the [module documentation](self#portability).
pub type ShmMpsc = ShmTransport<variant::Mpsc>;

/// The single-producer backend in busy-poll mode (for latency-critical
/// users; blocked ends spin, and while an async task waits on one of its
/// ends, the process's bridge thread spins).
///
/// # Portability
/// See the [module documentation](self#portability).
pub type ShmBusyPoll = ShmTransport<variant::BusyPoll>;

/// The single-producer backend in untrusted mode (messages are copied out
/// of shared memory before validation).
///
/// # Portability
/// See the [module documentation](self#portability).
pub type ShmUntrusted = ShmTransport<variant::Untrusted>;
