//! [`Client`]: connecting to a [`Listener`](crate::Listener) (or to a
//! Python `Listener`), Python's `multiprocessing.connection.Client`.

use transport_core::{Message, backend::Wait};

use super::{
    Address, ConnectError, NamedConnection, NamedEnd, Options, PyConnection,
    establish::{Side, establish},
};

/// Connects to a listener (Python's `Client(address, authkey=...)`).
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Connects to `address` and authenticates as `options` say, giving the
    /// raw end.
    ///
    /// # Errors
    /// [`ConnectError::Io`] when nothing listens there (or the system
    /// refuses), [`ConnectError::PeerRefused`] when the listener runs as a
    /// user the options refuse, [`ConnectError::Auth`] when the handshake
    /// fails.
    pub fn connect_raw(address: impl Into<Address>, options: &Options) -> Result<NamedEnd, ConnectError> {
        let address = address.into();
        let what = address.to_string();
        crate::sys::named::supports(&address, options.framing)
            .map_err(|what| ConnectError::Unsupported { what })?;
        let wait = Wait::timeout(options.handshake_timeout);
        let conn = crate::sys::named::connect(&address, options.framing, wait).map_err(|source| {
            ConnectError::Io {
                address: what.clone(),
                source,
            }
        })?;
        establish(conn, options, Side::Client, &what)
    }

    /// Connects and gives a typed two-way end that sends `Out` and receives
    /// `In`.
    ///
    /// # Errors
    /// As [`connect_raw`](Self::connect_raw).
    pub fn connect<Out: Message, In: Message>(
        address: impl Into<Address>,
        options: &Options,
    ) -> Result<NamedConnection<Out, In>, ConnectError> {
        Self::connect_raw(address, options).map(transport_core::Connection::from_raw)
    }

    /// Connects with Python's `Connection` methods (to a Python `Listener`,
    /// or a listener bound with [`Options::python`]). The address may be
    /// text, read as Python reads one ([`Address`]'s `FromStr`).
    ///
    /// # Errors
    /// As [`connect_raw`](Self::connect_raw).
    pub fn connect_python(address: impl AsAddress, options: &Options) -> Result<PyConnection, ConnectError> {
        Self::connect_raw(address.as_address(), options).map(PyConnection::new)
    }
}

/// Anything that names an [`Address`]: an address, or text as Python
/// writes one.
pub trait AsAddress {
    /// The address.
    fn as_address(&self) -> Address;
}

impl AsAddress for Address {
    fn as_address(&self) -> Address {
        self.clone()
    }
}

impl AsAddress for &str {
    fn as_address(&self) -> Address {
        match self.parse() {
            Ok(a) => a,
            Err(never) => match never {},
        }
    }
}
