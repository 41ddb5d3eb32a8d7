//! The `local` backend: an in-process channel between threads.
//!
//! It runs the whole conformance suite with threads as peers, lets users
//! write and test code without processes, and gives benchmarks an
//! in-process reference. Its ends cannot be handed to another process.
//!
//! ```
//! use transport_core::local;
//!
//! let (tx, rx) = local::bounded::<String>(8)?;
//! std::thread::spawn(move || tx.send("hello".to_string()));
//! let msg = rx.recv()?;
//! assert_eq!(msg.as_str(), "hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod queue;

pub use queue::{LocalEnd, LocalReceiver, LocalSender};

use crate::{
    error::CreateError,
    message::Message,
    transport::{Capabilities, ChannelConfig, Duplex, Readiness, Transport},
};

/// The in-process backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Local;

/// A typed sender of the local backend.
pub type Sender<T> = crate::Sender<T, LocalSender>;
/// A typed receiver of the local backend.
pub type Receiver<T> = crate::Receiver<T, LocalReceiver>;

// Threads share every end (`&tx` in scoped threads, `Arc<Sender<T>>`), as
// on every backend: this stops compiling if a change loses that.
const _: () = {
    const fn shared<E: Send + Sync>() {}
    shared::<LocalSender>();
    shared::<LocalReceiver>();
    shared::<Sender<u64>>();
    shared::<Receiver<u64>>();
};

impl Transport for Local {
    const NAME: &'static str = "local";
    type Sender = LocalSender;
    type Receiver = LocalReceiver;

    fn capabilities() -> Capabilities {
        Capabilities {
            cross_process: false,
            multi_producer: true,
            multi_consumer: true,
            duplex: true,
            zero_copy: true,
            bounded: true,
            bounded_in_bytes: false,
            counts_messages: true,
            max_message_size: isize::MAX as usize,
            readiness: Readiness::InProcess,
        }
    }

    fn channel(config: &ChannelConfig) -> Result<(LocalSender, LocalReceiver), CreateError> {
        queue::channel(config)
    }
}

impl Duplex for Local {
    type End = LocalEnd;

    fn duplex(config: &ChannelConfig) -> Result<(LocalEnd, LocalEnd), CreateError> {
        let (a_tx, b_rx) = queue::channel(config)?;
        let (b_tx, a_rx) = queue::channel(config)?;
        Ok((LocalEnd::new(a_tx, a_rx), LocalEnd::new(b_tx, b_rx)))
    }
}

/// Creates a typed local channel with `config`.
///
/// # Errors
/// [`CreateError::InvalidConfig`] for a capacity of zero.
pub fn channel<T: Message>(config: &ChannelConfig) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    let (tx, rx) = queue::channel(config)?;
    Ok((crate::Sender::from_raw(tx), crate::Receiver::from_raw(rx)))
}

/// Creates a local channel that holds at most `capacity` messages.
///
/// # Errors
/// [`CreateError::InvalidConfig`] if `capacity` is zero: there is no
/// rendezvous channel, on this backend or any other.
pub fn bounded<T: Message>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    channel(&ChannelConfig::bounded(capacity))
}

/// Creates a local channel with no bound on the number of messages.
///
/// # Errors
/// None on this backend; the `Result` is that of every backend's
/// `unbounded`, so that code moves between them unchanged.
pub fn unbounded<T: Message>() -> Result<(Sender<T>, Receiver<T>), CreateError> {
    channel(&ChannelConfig::unbounded())
}

/// Creates a local channel with `config` (the same as [`channel`], under
/// the name every backend crate gives it).
///
/// # Errors
/// As [`bounded`].
pub fn with_config<T: Message>(config: &ChannelConfig) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    channel(config)
}
