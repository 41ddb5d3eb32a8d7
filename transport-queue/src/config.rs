//! The settings of one queue, fixed when it is created, and the limits
//! every process holding it knows.

/// How many items a [`QueueReceiver`](crate::QueueReceiver) in another
/// process asks for ahead of its gets, by default.
pub const DEFAULT_RECEIVER_PREFETCH: u32 = 256;

/// How many items a [`Queue`](crate::Queue) handle in another process asks
/// for ahead of its gets, by default: one, so an item goes to a process only
/// when one of its threads is waiting in a get.
pub const DEFAULT_QUEUE_PREFETCH: u32 = 1;

/// How many handles in other processes a queue allows at once, by default
/// (each costs the creating process a writer thread).
pub const DEFAULT_MAX_MEMBERS: usize = 256;

/// The largest message the backend carries: ipc-channel's Windows pipes
/// cap a message at 4 GiB, and a message carries a small header.
pub const MAX_MESSAGE_SIZE: usize = (u32::MAX as usize) - (1 << 16);

/// The settings of one queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) capacity: Option<usize>,
    pub(crate) max_message_size: usize,
    pub(crate) queue_prefetch: u32,
    pub(crate) receiver_prefetch: u32,
    pub(crate) max_members: usize,
}
