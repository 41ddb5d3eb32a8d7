//! [`Queue`]: Python's `multiprocessing.JoinableQueue`, across machines.

use std::{
    borrow::{Borrow, Cow},
    fmt,
    marker::PhantomData,
    process::Command,
    time::{Duration, Instant},
};

use transport_core::{
    CreateError, Handoff, HandoffError, Message, OpenError, Received, RecvError, RecvTimeoutError, SendError,
    SendTimeoutError, TryRecvError, TrySendError,
};

use crate::{
    QueueError, alo,
    base::Origin,
    client::Client,
    end::{NatsReceiver, NatsSender},
    frame::NatsFrame,
    names::Names,
    options::{Delivery, Options},
};

/// A typed sender on a NATS channel.
pub type Sender<T> = transport_core::Sender<T, NatsSender>;
/// A typed receiver on a NATS channel.
pub type Receiver<T> = transport_core::Receiver<T, NatsReceiver>;

/// A queue of `T` on a NATS server, shared by any number of processes on
/// any number of machines: every holder can put and get, each item goes to
/// one get, and items from one putter come out in the order they were put
/// (unless one is delivered again).
///
/// At least once (the default) it is Python's `JoinableQueue`: a get
/// takes an item and the item stays on the server, unacknowledged, until
/// [`task_done`](Self::task_done); a handle that dies (or is dropped)
/// before that gives the item back, to be delivered again. [`len`],
/// [`join`](Self::join) ask the server. At most once, `put` and `get`
/// work and the counts do not exist (core NATS keeps none).
///
/// ```no_run
/// use transport_nats::{Client, Options};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::connect("nats://127.0.0.1:4222")?;
/// let jobs = client.queue::<String>("jobs", &Options::default())?;
/// jobs.put("resize a.png".to_string())?;
/// let job = jobs.get()?;
/// println!("working on {}", job.as_str());
/// jobs.task_done()?; // acknowledged: it will not be done again
/// jobs.join()?;      // every item put was done
/// # Ok(()) }
/// ```
///
/// A get waits with one pull request for one item at a time (as Python's
/// `get` takes one item), so a worker never holds items it has not asked
/// for. A get that gave up may leave its request with the server for up to
/// 30 s: an item that arrives then waits in this handle for its next get,
/// and goes back to the queue if the handle is dropped.
///
/// [`len`]: Self::len
pub struct Queue<T> {
    tx: Sender<T>,
    rx: Receiver<T>,
    _message: PhantomData<fn(T) -> T>,
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("message", &std::any::type_name::<T>())
            .field("tx", self.tx.raw())
            .field("rx", self.rx.raw())
            .finish()
    }
}

impl Client {
    /// Joins (creating if needed) the queue named `name`.
    ///
    /// # Errors
    /// As [`Client::channel`].
    pub fn queue<T>(&self, name: &str, options: &Options) -> Result<Queue<T>, CreateError> {
        let names = Names::new(name).map_err(|reason| CreateError::InvalidConfig { reason })?;
        options
            .check()
            .map_err(|reason| CreateError::InvalidConfig { reason })?;
        if options.delivery == Delivery::AtLeastOnce {
            alo::setup(&self.inner, &names, options)
                .map_err(|e| CreateError::io(format!("jetstream stream `{}`", names.stream()), e))?;
        }
        let rx = NatsReceiver::make_with(self, &names, options, None, Origin::Joined, false, true)
            .map_err(|e| CreateError::io("a nats receiver", e))?;
        let tx = NatsSender::make(self, &names, options, None, Origin::Joined, false)
            .map_err(|e| CreateError::io("a nats sender", e))?;
        Ok(Queue {
            tx: Sender::from_raw(tx),
            rx: Receiver::from_raw(rx),
            _message: PhantomData,
        })
    }
}

impl<T> Queue<T> {
    fn at_least_once(&self, what: &'static str) -> Result<(), QueueError> {
        match self.rx.raw().delivery() {
            Delivery::AtLeastOnce => Ok(()),
            Delivery::AtMostOnce => Err(QueueError::NeedsAtLeastOnce { what }),
        }
    }

    /// The number of items put and not yet taken by a get (the consumer's
    /// pending count on the server).
    ///
    /// # Errors
    /// [`QueueError::NeedsAtLeastOnce`] at most once; the server's errors.
    pub fn len(&self) -> Result<usize, QueueError> {
        self.at_least_once("len")?;
        alo::count(self.rx.raw().base_ref(), true).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Whether [`len`](Self::len) is zero.
    ///
    /// # Errors
    /// As [`len`](Self::len).
    pub fn is_empty(&self) -> Result<bool, QueueError> {
        self.len().map(|n| n == 0)
    }

    /// Marks the oldest item this handle took and has not marked yet as
    /// done (`JoinableQueue.task_done`): acknowledges it and waits for the
    /// server to confirm, so it is never delivered again.
    ///
    /// # Errors
    /// [`QueueError::TooManyTaskDone`] when this handle has nothing
    /// unfinished; [`QueueError::NeedsAtLeastOnce`] at most once; the
    /// server's errors.
    pub fn task_done(&self) -> Result<(), QueueError> {
        self.rx.raw().task_done()
    }

    /// Waits until every item put so far was taken and marked done, in
    /// every process (`JoinableQueue.join`): the stream is empty. Items
    /// held by a process that died are delivered again after the ack wait,
    /// so `join` waits for their second run.
    ///
    /// # Errors
    /// As [`len`](Self::len).
    pub fn join(&self) -> Result<(), QueueError> {
        self.join_until(None)
    }

    /// As [`join`](Self::join), waiting at most `timeout`.
    ///
    /// # Errors
    /// [`QueueError::Timeout`] when items were still not done in time;
    /// otherwise as [`join`](Self::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), QueueError> {
        self.join_until(Instant::now().checked_add(timeout))
    }

    fn join_until(&self, deadline: Option<Instant>) -> Result<(), QueueError> {
        self.at_least_once("join")?;
        let mut pause = Duration::from_millis(5);
        loop {
            if alo::count(self.rx.raw().base_ref(), false)? == 0 {
                return Ok(());
            }
            if deadline.is_some_and(|d| Instant::now() + pause > d) {
                return Err(QueueError::Timeout);
            }
            // The server has no notification for "the stream is empty":
            // ask again, less often as the wait goes on.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
}

impl<T: Message> Queue<T> {
    /// A typed sender on this queue (another handle that may only put).
    pub fn sender(&self) -> Option<Sender<T>> {
        self.tx.try_clone()
    }

    /// Puts an item, waiting for room if the queue is bounded and full.
    ///
    /// # Errors
    /// As [`transport_core::Sender::send`]; the item is given back.
    pub fn put<M: Borrow<T>>(&self, item: M) -> Result<(), SendError<M>> {
        self.tx.send(item)
    }

    /// Puts an item if there is room now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when a bounded queue is full; otherwise as
    /// [`put`](Self::put).
    pub fn try_put<M: Borrow<T>>(&self, item: M) -> Result<(), TrySendError<M>> {
        self.tx.try_send(item)
    }

    /// Puts an item, waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] when there was no room in time;
    /// otherwise as [`put`](Self::put).
    pub fn put_timeout<M: Borrow<T>>(&self, item: M, timeout: Duration) -> Result<(), SendTimeoutError<M>> {
        self.tx.send_timeout(item, timeout)
    }

    /// Takes the next item, waiting for one.
    ///
    /// # Errors
    /// [`RecvError::Disconnected`] once every other handle that may put is
    /// gone and the queue is empty, or the server is lost;
    /// [`RecvError::Invalid`] for an item that is not a valid `T`.
    pub fn get(&self) -> Result<Received<T, NatsFrame>, RecvError> {
        self.rx.recv()
    }

    /// Takes the next item if the server has one now (one round trip).
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when there is none; otherwise as
    /// [`get`](Self::get).
    pub fn try_get(&self) -> Result<Received<T, NatsFrame>, TryRecvError> {
        self.rx.try_recv()
    }

    /// Takes the next item, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when none came in time; otherwise as
    /// [`get`](Self::get).
    pub fn get_timeout(&self, timeout: Duration) -> Result<Received<T, NatsFrame>, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }
}

/// The separator of the two tokens in a queue's token.
const SEPARATOR: &str = " ;; ";

impl<T: rkyv::Archive> Handoff for Queue<T> {
    const KIND: &'static str = "nats.queue";

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        let tx = self.tx.into_raw().prepare(cmd)?;
        let rx = self.rx.into_raw().prepare(cmd)?;
        Ok(format!("{tx}{SEPARATOR}{rx}"))
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        let (tx, rx) = payload
            .split_once(SEPARATOR)
            .ok_or_else(|| OpenError::malformed("a queue has two tokens"))?;
        Ok(Queue {
            tx: Sender::from_raw(NatsSender::open(tx)?),
            rx: Receiver::from_raw(NatsReceiver::open(rx)?),
            _message: PhantomData,
        })
    }

    fn message_type() -> Option<Cow<'static, str>> {
        Some(Cow::Owned(transport_core::fingerprint::message_fingerprint::<T>()))
    }
}
