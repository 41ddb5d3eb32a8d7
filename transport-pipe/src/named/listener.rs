//! [`Listener`]: a named, authenticated place to accept connections at
//! (Python's `multiprocessing.connection.Listener`).

use std::{marker::PhantomData, time::Duration};

use transport_core::{Message, backend::Wait};

use super::{
    Address, BindError, ConnectError, NamedConnection, NamedEnd, Options, PyConnection,
    establish::{Side, establish},
};
use crate::sys::named::Acceptor;

/// Listens at an [`Address`] and accepts connections, each checked and
/// authenticated as its [`Options`] say.
///
/// ```no_run
/// use transport_pipe::{Address, Listener, Options};
///
/// let listener = Listener::bind(Address::path("/run/user/1000/jobs.sock"), Options::new().authkey(b"secret"))?;
/// for conn in listener.incoming::<u64, String>() {
///     let conn = conn?;
///     let job = conn.recv()?;
///     conn.send(job.as_str().len() as u64)?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # What it guarantees
/// - A socket file is owner-only (`0600`) whatever the umask, and removed
///   when the listener drops. A file left by a crash (this user's socket,
///   nobody listening) is reclaimed; a live listener or anything else at
///   the path is refused ([`BindError`]).
/// - A peer whose user the options refuse is dropped before a byte is
///   read; a peer that fails the handshake hears `#FAILURE#` and is
///   dropped; either way `accept` reports why and the listener goes on.
/// - A peer that says nothing holds up `accept` for at most the options'
///   handshake timeout.
///
/// # Portability
/// | | Linux | macOS, BSD | Windows |
/// |---|---|---|---|
/// | path | `AF_UNIX` socket file, `fchmod` before `bind` | the same where the system allows it (else `bind` fails) | named pipe `\\.\pipe\NAME`, owner-only security descriptor, local clients only |
/// | Python's framing | yes | yes | yes: on a named pipe a message-mode pipe, each message one pipe message with no length, as Python's `AF_PIPE` (tested Rust to Rust under Wine, which cannot run CPython here); async readiness (`tokio`) from a read of the next message's first part kept in flight, which the next receive takes |
/// | abstract name | yes | no | no |
/// | TCP | yes | yes | yes (both framings; async readiness through `WSAEventSelect`) |
/// | peer user and process | `SO_PEERCRED` | `getpeereid` (no process) | process only (the pipe's security descriptor admits only this user) |
#[derive(Debug)]
pub struct Listener {
    acceptor: Acceptor,
    address: Address,
    options: Options,
}

impl Listener {
    /// Listens at `address`.
    ///
    /// # Errors
    /// [`BindError::InUse`] when a listener is alive there,
    /// [`BindError::NotOurs`] when something else is,
    /// [`BindError::Unsupported`] for an address or option this system
    /// lacks, [`BindError::Io`] otherwise.
    pub fn bind(address: impl Into<Address>, options: Options) -> Result<Listener, BindError> {
        let address = address.into();
        if options.peer_user != super::PeerUser::Any && matches!(address, Address::Tcp(_)) {
            return Err(BindError::Unsupported {
                what: "requiring the peer's user on TCP (the system does not say who it is)".into(),
            });
        }
        crate::sys::named::supports(&address, options.framing)
            .map_err(|what| BindError::Unsupported { what })?;
        let (acceptor, address) = Acceptor::bind(&address, options.framing)?;
        Ok(Listener {
            acceptor,
            address,
            options,
        })
    }

    /// Where it listens (for TCP port 0, with the port the system chose).
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The options each connection is made with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Accepts the next connection as a raw end, waiting as `wait` allows.
    ///
    /// # Errors
    /// [`ConnectError::Timeout`] when no peer came in time,
    /// [`ConnectError::PeerRefused`], [`ConnectError::Auth`],
    /// [`ConnectError::Io`].
    pub fn accept_raw(&self, wait: Wait) -> Result<NamedEnd, ConnectError> {
        let address = self.address.to_string();
        let conn = self
            .acceptor
            .accept(wait)
            .map_err(|source| ConnectError::Io {
                address: address.clone(),
                source,
            })?
            .ok_or(ConnectError::Timeout)?;
        establish(conn, &self.options, Side::Listener, &address)
    }

    /// Accepts the next connection: a typed two-way end that sends `Out`
    /// and receives `In`.
    ///
    /// # Errors
    /// As [`accept_raw`](Self::accept_raw), never `Timeout`.
    pub fn accept<Out: Message, In: Message>(&self) -> Result<NamedConnection<Out, In>, ConnectError> {
        self.accept_raw(Wait::Forever)
            .map(transport_core::Connection::from_raw)
    }

    /// As [`accept`](Self::accept), waiting at most `timeout` for a peer.
    ///
    /// # Errors
    /// As [`accept_raw`](Self::accept_raw).
    pub fn accept_timeout<Out: Message, In: Message>(
        &self,
        timeout: Duration,
    ) -> Result<NamedConnection<Out, In>, ConnectError> {
        self.accept_raw(Wait::timeout(timeout))
            .map(transport_core::Connection::from_raw)
    }

    /// Accepts the next connection with Python's `Connection` methods (for
    /// a listener bound with [`Options::python`]).
    ///
    /// # Errors
    /// As [`accept`](Self::accept).
    pub fn accept_python(&self) -> Result<PyConnection, ConnectError> {
        self.accept_raw(Wait::Forever).map(PyConnection::new)
    }

    /// As [`accept_python`](Self::accept_python), waiting at most
    /// `timeout` for a peer.
    ///
    /// # Errors
    /// As [`accept_raw`](Self::accept_raw).
    pub fn accept_python_timeout(&self, timeout: Duration) -> Result<PyConnection, ConnectError> {
        self.accept_raw(Wait::timeout(timeout)).map(PyConnection::new)
    }

    /// The connections as they come, forever; a peer that was refused is
    /// an `Err` item, and the next one follows.
    pub fn incoming<Out: Message, In: Message>(&self) -> Incoming<'_, Out, In> {
        Incoming {
            listener: self,
            _types: PhantomData,
        }
    }
}

/// The iterator of [`Listener::incoming`].
#[derive(Debug)]
pub struct Incoming<'l, Out, In> {
    listener: &'l Listener,
    _types: PhantomData<fn() -> (Out, In)>,
}

impl<Out: Message, In: Message> Iterator for Incoming<'_, Out, In> {
    type Item = Result<NamedConnection<Out, In>, ConnectError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.listener.accept())
    }
}
