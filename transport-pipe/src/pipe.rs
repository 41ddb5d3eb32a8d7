//! [`Pipe`], the backend marker, and the functions that create pipes.

use transport_core::{
    Capabilities, ChannelConfig, Connection as CoreConnection, CreateError, Duplex, Message, Transport,
};

use crate::{
    end::{PipeEnd, PipeReceiver, PipeSender},
    sys::Socket,
};

/// The pipe backend: a [`Transport`] with [`Duplex`] ends.
///
/// Generic code names the backend with it (`conformance_tests!(Pipe,
/// duplex)`, `fn run<T: Transport>()`); the functions [`duplex`],
/// [`simplex`] and their `_with` variants are the direct way in.
///
/// A pipe connects exactly two ends: it is neither multi-producer nor
/// multi-consumer. It is bounded by bytes, not messages: the operating
/// system's buffer plus the sending end's backlog
/// ([`BACKLOG`](crate::BACKLOG)), so `try_send` can see `Full`; the
/// `capacity` of a [`ChannelConfig`] is accepted but does not set a
/// message count.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pipe;

fn check(config: &ChannelConfig) -> Result<(), CreateError> {
    if config.capacity == Some(0) {
        return Err(CreateError::InvalidConfig {
            reason: "a capacity of 0 (rendezvous) is not supported by pipes".into(),
        });
    }
    Ok(())
}

fn pair(config: &ChannelConfig) -> Result<(PipeEnd, PipeEnd), CreateError> {
    check(config)?;
    let (a, b) = Socket::pair().map_err(|source| CreateError::Io {
        what: "a pipe".into(),
        source,
    })?;
    let limit = config.max_message_size;
    Ok((PipeEnd::new(a, limit), PipeEnd::new(b, limit)))
}

// Threads share every end (`&tx` in scoped threads, `Arc<Sender<T>>`), as
// on every backend: this stops compiling if a change loses that.
const _: () = {
    const fn shared<E: Send + Sync>() {}
    shared::<PipeSender>();
    shared::<PipeReceiver>();
    shared::<PipeEnd>();
    shared::<transport_core::Sender<u64, PipeSender>>();
    shared::<transport_core::Receiver<u64, PipeReceiver>>();
};

impl Transport for Pipe {
    const NAME: &'static str = "pipe";
    type Sender = PipeSender;
    type Receiver = PipeReceiver;

    fn capabilities() -> Capabilities {
        let mut caps = Capabilities::default();
        caps.cross_process = crate::sys::CROSS_PROCESS;
        caps.duplex = true;
        caps.bounded = true;
        caps.bounded_in_bytes = true;
        caps.max_message_size = isize::MAX as usize;
        caps.readiness = crate::sys::READINESS;
        caps
    }

    fn channel(config: &ChannelConfig) -> Result<(PipeSender, PipeReceiver), CreateError> {
        let (tx, rx) = pair(config)?;
        Ok((PipeSender(tx), PipeReceiver(rx)))
    }
}

impl Duplex for Pipe {
    type End = PipeEnd;

    fn duplex(config: &ChannelConfig) -> Result<(PipeEnd, PipeEnd), CreateError> {
        pair(config)
    }
}

/// A typed sender of a one-way pipe.
pub type Sender<T> = transport_core::Sender<T, PipeSender>;
/// A typed receiver of a one-way pipe.
pub type Receiver<T> = transport_core::Receiver<T, PipeReceiver>;
/// A typed end of a two-way pipe: sends `Out`, receives `In`.
pub type Connection<Out, In> = CoreConnection<Out, In, PipeEnd>;

/// The two ends [`duplex`] returns: the first sends `A` and receives `B`.
pub type DuplexPair<A, B> = (Connection<A, B>, Connection<B, A>);

/// A two-way pipe (Python's `Pipe()`): the first end sends `A` and
/// receives `B`, the second the other way round. Messages may be up to
/// [`DEFAULT_MAX_MESSAGE_SIZE`](transport_core::DEFAULT_MAX_MESSAGE_SIZE)
/// (1 GiB).
///
/// # Errors
/// [`CreateError::Io`] when the operating system refuses a socket or pipe
/// (too many open files, say).
pub fn duplex<A: Message, B: Message>() -> Result<DuplexPair<A, B>, CreateError> {
    duplex_with(&ChannelConfig::default())
}

/// As [`duplex`], with a configuration (its message size limit applies to
/// both directions).
///
/// # Errors
/// As [`duplex`]; [`CreateError::InvalidConfig`] for a capacity of 0.
pub fn duplex_with<A: Message, B: Message>(config: &ChannelConfig) -> Result<DuplexPair<A, B>, CreateError> {
    let (a, b) = pair(config)?;
    Ok((CoreConnection::from_raw(a), CoreConnection::from_raw(b)))
}

/// A one-way pipe (Python's `Pipe(duplex=False)`): a sender and a receiver
/// of `T`, with the default 1 GiB message size limit.
///
/// # Errors
/// As [`duplex`].
pub fn simplex<T: Message>() -> Result<(Sender<T>, Receiver<T>), CreateError> {
    simplex_with(&ChannelConfig::default())
}

/// As [`simplex`], with a configuration.
///
/// # Errors
/// As [`duplex_with`].
pub fn simplex_with<T: Message>(config: &ChannelConfig) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    let (tx, rx) = Pipe::channel(config)?;
    Ok((
        transport_core::Sender::from_raw(tx),
        transport_core::Receiver::from_raw(rx),
    ))
}

/// A one-way pipe under the name every backend crate gives its bounded
/// channel, so that code moves between backends unchanged. A pipe is
/// bounded in bytes, not messages (see [`Pipe`]): `capacity` is checked (0
/// is refused, as on every backend: there is no rendezvous channel) but
/// does not count messages; a sender waits, or `try_send` sees `Full`, when
/// the operating system's buffer and the sender's backlog are full.
///
/// ```
/// let (tx, rx) = transport_pipe::bounded::<u64>(16)?;
/// tx.send(7)?;
/// assert_eq!(*rx.recv()?, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CreateError::InvalidConfig`] for a capacity of 0; otherwise as
/// [`duplex`].
pub fn bounded<T: Message>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    with_config(&ChannelConfig::bounded(capacity))
}

/// A one-way pipe with no bound on the number of messages (its bytes are
/// bounded as [`bounded`] says): the same as [`simplex`].
///
/// # Errors
/// As [`duplex`].
pub fn unbounded<T: Message>() -> Result<(Sender<T>, Receiver<T>), CreateError> {
    with_config(&ChannelConfig::unbounded())
}

/// A one-way pipe with `config`: the same as [`simplex_with`], under the
/// name every backend crate gives it.
///
/// # Errors
/// As [`duplex_with`].
pub fn with_config<T: Message>(config: &ChannelConfig) -> Result<(Sender<T>, Receiver<T>), CreateError> {
    simplex_with(config)
}
