//! What a backend's ends can be, said in their types: [`MultiProducer`]
//! and [`MultiConsumer`], the bounds of `try_clone` on the typed ends, so
//! that cloning an end of a backend that cannot share it (a pipe has
//! exactly two ends; a single-producer shared-memory channel one sender)
//! is a compile error that says where to go, not a `None` at run time.

use crate::raw::{RawReceiver, RawSender};

/// A sending end that several producers can hold: the typed
/// [`Sender::try_clone`](crate::Sender::try_clone) exists for it.
///
/// `try_clone` is still an `Option` where the backend may run out of room
/// for another producer (a shared-memory channel's producer lanes) or needs
/// the network to make one (NATS); each backend's docs say when.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has a single producer: its sender cannot be cloned",
    label = "single-producer end",
    note = "a pipe has exactly two ends, and a single-producer shared-memory channel (`Shm`, `channel::channel`) one sender; for several producers feeding one channel use transport-queue, transport-shm's multi-producer channel (`ShmMpsc`, `transport_shm::bounded`, `channel::mpsc`) or transport-nats",
    note = "to send from several threads through this one end, share it: `&tx` in scoped threads or an `Arc<Sender<..>>` (every sender is `Sync`)"
)]
pub trait MultiProducer: RawSender {}

/// A receiving end that several consumers can hold, each message going to
/// exactly one of them: the typed
/// [`Receiver::try_clone`](crate::Receiver::try_clone) exists for it.
///
/// `try_clone` is still an `Option` where making another consumer needs the
/// network (NATS); each backend's docs say when.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has a single consumer: its receiver cannot be cloned",
    label = "single-consumer end",
    note = "a pipe has exactly two ends, and a shared-memory lane channel one consumer; for several consumers taking from one channel (each message to one of them) use transport-queue, transport-shm's multi-consumer ring (`ShmMpmc`) or transport-nats",
    note = "to receive in several threads through this one end, share it: `&rx` in scoped threads or an `Arc<Receiver<..>>` (every receiver is `Sync`)"
)]
pub trait MultiConsumer: RawReceiver {}
