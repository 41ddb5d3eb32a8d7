//! [`Builder`]: the settings of a new queue, and the functions that make
//! the Python-like handle ([`Queue::bounded`], [`Queue::unbounded`],
//! [`Queue::builder`]). A queue is made in the process that creates it,
//! which becomes its hub.

use transport_core::{CreateError, DEFAULT_MAX_MESSAGE_SIZE};

use crate::{
    config::{
        Config, DEFAULT_MAX_MEMBERS, DEFAULT_QUEUE_PREFETCH, DEFAULT_RECEIVER_PREFETCH, MAX_MESSAGE_SIZE,
    },
    end::{QueueEnd, QueueReceiver, QueueSender},
    handle::Handle,
    hub::{local::LocalHandle, shared::Hub},
    queue::Queue,
    wire::Role,
};

/// The settings of a new queue.
///
/// ```
/// let q = transport_queue::Builder::new()
///     .capacity(100)
///     .max_message_size(1 << 20)
///     .build::<u64>()
///     .unwrap();
/// assert_eq!(q.capacity(), Some(100));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Builder {
    config: Config,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// An unbounded queue with a 1 GiB message limit.
    pub fn new() -> Self {
        Builder {
            config: Config {
                capacity: None,
                max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                queue_prefetch: DEFAULT_QUEUE_PREFETCH,
                receiver_prefetch: DEFAULT_RECEIVER_PREFETCH,
                max_members: DEFAULT_MAX_MEMBERS,
            },
        }
    }

    /// Holds at most `capacity` items; puts wait (or fail with `Full`)
    /// beyond that.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.config.capacity = Some(capacity);
        self
    }

    /// The largest serialized item accepted, in bytes (at most
    /// [`MAX_MESSAGE_SIZE`]).
    pub fn max_message_size(mut self, limit: usize) -> Self {
        self.config.max_message_size = limit;
        self
    }

    /// How many items a [`Queue`] handle in another process takes ahead
    /// of its gets ([`DEFAULT_QUEUE_PREFETCH`] by default). More is faster
    /// for small items; items taken ahead are lost if that process is
    /// killed, and wait there while other processes may be idle.
    pub fn prefetch(mut self, items: u32) -> Self {
        self.config.queue_prefetch = items;
        self
    }

    /// As [`prefetch`](Self::prefetch), for [`QueueReceiver`]s
    /// ([`DEFAULT_RECEIVER_PREFETCH`] by default). On a bounded queue a
    /// receiver never takes more than the capacity ahead, and the items it
    /// holds count against the capacity until its gets take them.
    pub fn receiver_prefetch(mut self, items: u32) -> Self {
        self.config.receiver_prefetch = items;
        self
    }

    /// How many handles in other processes the queue allows at once
    /// ([`DEFAULT_MAX_MEMBERS`] by default);
    /// a child that opens one more is refused.
    pub fn max_members(mut self, members: usize) -> Self {
        self.config.max_members = members;
        self
    }

    fn validate(&self) -> Result<(), CreateError> {
        let invalid = |reason: String| Err(CreateError::InvalidConfig { reason });
        let c = &self.config;
        if c.capacity == Some(0) {
            return invalid("a capacity of 0 (rendezvous) is not supported".into());
        }
        if c.max_message_size > MAX_MESSAGE_SIZE {
            return invalid(format!(
                "a message size limit of {} bytes is past the backend's maximum of {MAX_MESSAGE_SIZE}",
                c.max_message_size
            ));
        }
        if c.queue_prefetch == 0 || c.receiver_prefetch == 0 {
            return invalid("a prefetch of 0 items is not supported (use 1)".into());
        }
        if c.max_members == 0 {
            return invalid("a limit of 0 handles in other processes is not supported".into());
        }
        Ok(())
    }

    /// Creates the queue. No operating-system resource is taken until a
    /// handle is first handed to a child.
    ///
    /// # Errors
    /// [`CreateError::InvalidConfig`] for a capacity or prefetch of zero, or
    /// a message limit past [`MAX_MESSAGE_SIZE`].
    pub fn build<T>(self) -> Result<Queue<T>, CreateError> {
        self.validate()?;
        let hub = Hub::new(self.config);
        Ok(Queue::from_raw(QueueEnd::new(Handle::Local(LocalHandle::new(
            hub,
            Role::Both,
        )))))
    }

    /// Creates the queue as a one-way sender and receiver (the `Transport`
    /// view).
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn build_channel(self) -> Result<(QueueSender, QueueReceiver), CreateError> {
        self.validate()?;
        let hub = Hub::new(self.config);
        let tx = QueueSender::new(Handle::Local(LocalHandle::new(hub.clone(), Role::Send)));
        let rx = QueueReceiver::new(Handle::Local(LocalHandle::new(hub, Role::Recv)));
        Ok((tx, rx))
    }
}

impl<T> Queue<T> {
    /// Starts configuring a queue.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A queue that holds at most `capacity` items (Python's
    /// `Queue(maxsize)`).
    ///
    /// # Errors
    /// [`CreateError::InvalidConfig`] if `capacity` is zero: there is no
    /// rendezvous queue (Python reads a `maxsize` of 0 as "no bound"; here
    /// that is [`unbounded`](Self::unbounded)).
    pub fn bounded(capacity: usize) -> Result<Queue<T>, CreateError> {
        Builder::new().capacity(capacity).build()
    }

    /// A queue with no bound on the number of items (Python's `Queue()`).
    pub fn unbounded() -> Queue<T> {
        match Builder::new().build() {
            Ok(q) => q,
            Err(e) => unreachable!("the default configuration is valid: {e}"),
        }
    }
}
