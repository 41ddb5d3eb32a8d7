//! The typed [`Queue`]: Python's `multiprocessing.Queue` (and
//! `JoinableQueue`), across processes. A public handle: the same in the
//! creating process and in any other.

use std::{borrow::Cow, process::Command, time::Duration, time::Instant};

use transport_core::{
    Connection, Handoff, HandoffError, Message, OpenError, Received, RecvError, RecvTimeoutError, SendError,
    SendTimeoutError, TryRecvError, TrySendError,
};

use crate::{
    end::{QueueEnd, QueueReceiver, QueueSender},
    error::QueueError,
    wire::{QueueFrame, Role},
};

/// A typed sender of the `queue` backend (the `Transport` view).
pub type Sender<T> = transport_core::Sender<T, QueueSender>;
/// A typed receiver of the `queue` backend (the `Transport` view).
pub type Receiver<T> = transport_core::Receiver<T, QueueReceiver>;

/// A multi-producer, multi-consumer queue of `T` shared by processes.
///
/// Every handle can put and get. Clone it to add a handle in this process;
/// hand a clone to a child with
/// [`CommandExt::endpoint`](transport_core::CommandExt::endpoint) and open
/// it there with [`from_env`](transport_core::from_env). Each item goes to
/// exactly one get, and items from one producer come out in the order they
/// were put. A get returns a [`Received`] guard that reads the item in
/// place (validated; no deserialization).
///
/// ```
/// let q = transport_queue::Queue::<String>::unbounded();
/// q.put("job".to_string()).unwrap();
/// assert_eq!(q.len().unwrap(), 1);
/// assert_eq!(q.get().unwrap().as_str(), "job");
/// q.task_done().unwrap();
/// q.join().unwrap();
/// ```
///
/// # Disconnection
/// Once the queue is [closed](Self::close), a put returns `Closed`, and a
/// get returns `Closed` as soon as the queue is empty. Otherwise a get
/// returns `Disconnected` once the queue is empty and no handle that may
/// put is left, and a put returns `Disconnected` once no handle that may
/// get is left (`is_disconnected()` is true for both errors). A `Queue` counts as both; [`sender`](Self::sender) and
/// [`receiver`](Self::receiver) give one-way handles. Every handle gets
/// `Disconnected` when the process that created the queue exits.
///
/// # Portability
/// The same on every platform ipc-channel supports. Underneath, each handle
/// in another process talks to the creating process over ipc-channel:
///
/// | | Linux (and the BSDs) | macOS | Windows |
/// |---|---|---|---|
/// | channel | `SOCK_SEQPACKET` socket pair | Mach port | named pipe |
/// | hand-off rendezvous | socket file in a temporary directory, removed once the child connects (one left by a killed parent is removed by the next process's first hand-off) | name registered with the bootstrap server | named pipe `\\.\pipe\...` |
/// | large messages | past 32 KiB, in the producer's sealed shared memory: only a descriptor crosses the creating process | out-of-line Mach memory | 64 KiB fragments (at most 4 GiB) |
/// | a peer's death | socket closed by the kernel | port death notification | pipe broken |
/// | a get waiting in the creating process | reads the members' channels itself | reads the members' channels itself | is woken by the hub thread (the receiver set may not leave its thread) |
/// | a get waiting in another process | reads its channel itself (until an async task waited there) | reads its channel itself (until an async task waited there) | is woken by the process's bridge thread, which reads every member's channel (a channel read directly could not move into a receiver set later) |
///
/// `len()` asks the creating process, so it is exact on every platform
/// (Python's `qsize()` raises on macOS).
pub struct Queue<T> {
    conn: Connection<T, T, QueueEnd>,
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("message", &std::any::type_name::<T>())
            .field("end", self.conn.raw())
            .finish()
    }
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue::from_raw(self.conn.raw().clone())
    }
}

impl<T> Queue<T> {
    /// Wraps a raw end.
    pub fn from_raw(end: QueueEnd) -> Self {
        Queue {
            conn: Connection::from_raw(end),
        }
    }

    /// The raw end.
    pub fn raw(&self) -> &QueueEnd {
        self.conn.raw()
    }

    /// The number of items in the queue: put, and not yet handed to a get.
    /// Items a [`QueueReceiver`] in another process prefetched are not
    /// counted.
    ///
    /// # Errors
    /// [`QueueError::Disconnected`] when the creating process is gone.
    pub fn len(&self) -> Result<usize, QueueError> {
        self.raw().handle.len()
    }

    /// Whether [`len`](Self::len) is zero.
    ///
    /// # Errors
    /// As [`len`](Self::len).
    pub fn is_empty(&self) -> Result<bool, QueueError> {
        self.len().map(|n| n == 0)
    }

    /// Whether a bounded queue holds as many items as its bound (Python's
    /// `Queue.full()`); always false for an unbounded one. A snapshot, as
    /// [`len`](Self::len).
    ///
    /// # Errors
    /// As [`len`](Self::len).
    pub fn full(&self) -> Result<bool, QueueError> {
        match self.capacity() {
            Some(capacity) => self.len().map(|n| n >= capacity),
            None => Ok(false),
        }
    }

    /// The queue's bound, if it has one.
    pub fn capacity(&self) -> Option<usize> {
        self.raw().handle.capacity()
    }

    /// The largest serialized item the queue accepts, in bytes.
    pub fn max_message_size(&self) -> usize {
        self.raw().handle.max_message_size()
    }

    /// Closes the queue, for every process: puts fail with `Closed` from
    /// now on, gets take what is left and then return `Closed`.
    ///
    /// # Errors
    /// [`QueueError::Disconnected`] when the creating process is gone.
    pub fn close(&self) -> Result<(), QueueError> {
        self.raw().handle.close()
    }

    /// Marks one item as done (`JoinableQueue.task_done`).
    ///
    /// # Errors
    /// [`QueueError::TooManyTaskDone`] when every item put was already
    /// marked done; [`QueueError::Disconnected`] when the queue is gone.
    pub fn task_done(&self) -> Result<(), QueueError> {
        self.raw().handle.task_done()
    }

    /// Waits until every item put so far was marked done
    /// (`JoinableQueue.join`). Items held by a process that died count as
    /// done, so a crash never makes `join` hang.
    ///
    /// # Errors
    /// [`QueueError::Disconnected`] when the queue is gone.
    pub fn join(&self) -> Result<(), QueueError> {
        self.raw().handle.join(None)
    }

    /// As [`join`](Self::join), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`QueueError::Timeout`] when items were still not done in time;
    /// otherwise as [`join`](Self::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), QueueError> {
        self.raw().handle.join(Instant::now().checked_add(timeout))
    }

    /// A send-only handle on this queue (it counts as a sender only).
    pub fn sender(&self) -> Sender<T> {
        transport_core::Sender::from_raw(QueueSender::new(self.raw().handle.with_role(Role::Send)))
    }

    /// A receive-only handle on this queue (it counts as a receiver only).
    pub fn receiver(&self) -> Receiver<T> {
        transport_core::Receiver::from_raw(QueueReceiver::new(self.raw().handle.with_role(Role::Recv)))
    }
}

impl<T: Message> Queue<T> {
    /// Puts an item, waiting for room if the queue is bounded and full.
    ///
    /// # Errors
    /// As [`transport_core::Sender::send`]; the item is given back.
    pub fn put<M: std::borrow::Borrow<T>>(&self, item: M) -> Result<(), SendError<M>> {
        self.conn.send(item)
    }

    /// Puts an item if there is room now (`put(block=False)`).
    ///
    /// # Errors
    /// [`TrySendError::Full`] when a bounded queue is full; otherwise as
    /// [`put`](Self::put).
    pub fn try_put<M: std::borrow::Borrow<T>>(&self, item: M) -> Result<(), TrySendError<M>> {
        self.conn.try_send(item)
    }

    /// Puts an item, waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] when there was no room in time;
    /// otherwise as [`put`](Self::put).
    pub fn put_timeout<M: std::borrow::Borrow<T>>(
        &self,
        item: M,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<M>> {
        self.conn.send_timeout(item, timeout)
    }

    /// Puts raw bytes as one item (Python's `send_bytes`).
    ///
    /// # Errors
    /// As [`put`](Self::put).
    pub fn put_bytes<'b>(&self, bytes: &'b [u8]) -> Result<(), SendError<&'b [u8]>> {
        self.conn.send_bytes(bytes)
    }

    /// Takes the next item, waiting for one.
    ///
    /// # Errors
    /// [`RecvError::Closed`] once the queue is empty and closed;
    /// [`RecvError::Disconnected`] once it is empty and has no sender left;
    /// [`RecvError::Invalid`] for an item that is not a
    /// valid `T`.
    pub fn get(&self) -> Result<Received<T, QueueFrame>, RecvError> {
        self.conn.recv()
    }

    /// Takes the next item if there is one now (`get(block=False)`). In
    /// another process this asks the creating process, so it takes one
    /// round trip.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when the queue is empty; otherwise as
    /// [`get`](Self::get).
    pub fn try_get(&self) -> Result<Received<T, QueueFrame>, TryRecvError> {
        self.conn.try_recv()
    }

    /// Takes the next item, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when none came in time; otherwise as
    /// [`get`](Self::get).
    pub fn get_timeout(&self, timeout: Duration) -> Result<Received<T, QueueFrame>, RecvTimeoutError> {
        self.conn.recv_timeout(timeout)
    }

    /// Takes the next item's bytes, unvalidated (Python's `recv_bytes`).
    ///
    /// # Errors
    /// As [`get`](Self::get), without [`RecvError::Invalid`].
    pub fn get_bytes(&self) -> Result<QueueFrame, RecvError> {
        self.conn.recv_bytes()
    }
}

impl<T: rkyv::Archive> Handoff for Queue<T> {
    const KIND: &'static str = QueueEnd::KIND;

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.conn.into_raw().prepare(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        QueueEnd::open(payload).map(Queue::from_raw)
    }

    fn message_type() -> Option<Cow<'static, str>> {
        Some(Cow::Owned(transport_core::fingerprint::message_fingerprint::<T>()))
    }
}
