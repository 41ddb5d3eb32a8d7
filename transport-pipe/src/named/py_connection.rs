//! [`PyConnection`]: Python's `Connection` API over a named connection in
//! Python's framing: raw bytes and pickled plain values.

use std::{fmt, io, time::Duration};

use transport_core::{
    MalformedFrame, Message,
    backend::{RawReceiver, RawRecvError, RawSendError, RawSender, Wait},
};

use super::{PeerCreds, end::NamedEnd};
use crate::{
    PipeFrame,
    python::pickle::{self, PickleError, Value},
};

/// One end of a connection to (or from) Python's
/// `multiprocessing.connection`, with the methods of Python's
/// `Connection`.
///
/// A send returns once its message is with the operating system or, on
/// Unix when the socket is full, in the connection's backlog (at most
/// 256 KiB), which a thread of its own writes as the peer reads: a killed
/// process loses what waits there. Dropping the connection waits up to
/// 10 s for the peer to take it.
///
/// ```no_run
/// use transport_pipe::{Client, Options, python::pickle::Value};
///
/// // Python: Listener(("127.0.0.1", 6000), authkey=b"secret")
/// let conn = Client::connect_python("127.0.0.1:6000", &Options::python().authkey(b"secret"))?;
/// conn.send(&Value::Tuple(vec!["job".into(), Value::Int(7)]))?;
/// let answer: Value = conn.recv()?;
/// conn.send_bytes(b"raw bytes")?;
/// let raw = conn.recv_bytes_max(1 << 20)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PyConnection {
    end: NamedEnd,
}

/// Why a [`PyConnection`] send failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PySendError {
    /// The peer is gone.
    Disconnected,
    /// The message is longer than the connection allows.
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The value could not be pickled.
    Pickle(PickleError),
    /// The operating system refused the send.
    Io(io::Error),
}

/// Why a [`PyConnection`] receive gave no message.
#[derive(Debug)]
#[non_exhaustive]
pub enum PyRecvError {
    /// The peer is gone (Python's `EOFError`); a message it was cut off in
    /// the middle of is dropped.
    Disconnected,
    /// Nothing arrived before the deadline.
    Timeout,
    /// The message is longer than `maxlength` (or the connection's limit);
    /// as in Python, the connection is not readable after it.
    TooLarge {
        /// The announced length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The stream is not in Python's framing (or was refused earlier).
    Malformed(MalformedFrame),
    /// The message is not a pickle of plain values.
    Pickle(PickleError),
    /// The operating system refused the receive.
    Io(io::Error),
}

impl fmt::Display for PySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PySendError::Disconnected => f.write_str("the peer closed the connection"),
            PySendError::TooLarge { len, limit } => {
                write!(f, "a message of {len} bytes is longer than the limit of {limit}")
            }
            PySendError::Pickle(e) => write!(f, "cannot pickle the value: {e}"),
            PySendError::Io(_) => f.write_str("the operating system refused the send"),
        }
    }
}

impl std::error::Error for PySendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PySendError::Pickle(e) => Some(e),
            PySendError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for PyRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PyRecvError::Disconnected => f.write_str("the peer closed the connection"),
            PyRecvError::Timeout => f.write_str("no message arrived before the deadline"),
            PyRecvError::TooLarge { len, limit } => write!(
                f,
                "a message of {len} bytes is longer than the limit of {limit} (bad message length)"
            ),
            PyRecvError::Malformed(m) => write!(f, "{m}"),
            PyRecvError::Pickle(e) => write!(f, "cannot unpickle the message: {e}"),
            PyRecvError::Io(_) => f.write_str("the operating system refused the receive"),
        }
    }
}

impl std::error::Error for PyRecvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PyRecvError::Pickle(e) => Some(e),
            PyRecvError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl PyRecvError {
    /// Whether the peer is gone.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, PyRecvError::Disconnected)
    }
}

fn send_error(e: RawSendError) -> PySendError {
    match e {
        RawSendError::Disconnected | RawSendError::NotReady => PySendError::Disconnected,
        RawSendError::TooLarge { len, limit } => PySendError::TooLarge { len, limit },
        RawSendError::Io(e) => PySendError::Io(e),
        other => PySendError::Io(io::Error::other(format!("{other:?}"))),
    }
}

fn recv_error(e: RawRecvError) -> PyRecvError {
    match e {
        RawRecvError::NotReady => PyRecvError::Timeout,
        RawRecvError::Disconnected => PyRecvError::Disconnected,
        RawRecvError::TooLarge { len, limit } => PyRecvError::TooLarge { len, limit },
        RawRecvError::Malformed(m) => PyRecvError::Malformed(m),
        RawRecvError::Io(e) => PyRecvError::Io(e),
        other => PyRecvError::Io(io::Error::other(format!("{other:?}"))),
    }
}

impl PyConnection {
    pub(crate) fn new(end: NamedEnd) -> Self {
        PyConnection { end }
    }

    /// Who is at the other end.
    pub fn peer(&self) -> PeerCreds {
        self.end.peer()
    }

    /// The raw end.
    pub fn raw(&self) -> &NamedEnd {
        &self.end
    }

    /// The typed connection over the same bytes: each message an rkyv
    /// archive, which Python sees as bytes (`recv_bytes`).
    pub fn into_typed<Out: Message, In: Message>(self) -> crate::NamedConnection<Out, In> {
        transport_core::Connection::from_raw(self.end)
    }

    /// Sends `bytes` as one message (Python's `send_bytes`).
    ///
    /// # Errors
    /// [`PySendError::Disconnected`], [`PySendError::TooLarge`],
    /// [`PySendError::Io`].
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<(), PySendError> {
        self.end.send_bytes(bytes, Wait::Forever).map_err(send_error)
    }

    /// Receives one message as bytes (Python's `recv_bytes()`), up to the
    /// connection's limit.
    ///
    /// # Errors
    /// [`PyRecvError::Disconnected`] once the peer is gone,
    /// [`PyRecvError::TooLarge`], [`PyRecvError::Malformed`],
    /// [`PyRecvError::Io`].
    pub fn recv_bytes(&self) -> Result<PipeFrame, PyRecvError> {
        self.end.recv_frame(Wait::Forever).map_err(recv_error)
    }

    /// Receives one message of at most `maxlength` bytes (Python's
    /// `recv_bytes(maxlength)`): a longer one is refused before it is read,
    /// and the connection cannot be read after it, as in Python.
    ///
    /// # Errors
    /// As [`recv_bytes`](Self::recv_bytes).
    pub fn recv_bytes_max(&self, maxlength: usize) -> Result<PipeFrame, PyRecvError> {
        self.end
            .recv_frame_max(Wait::Forever, maxlength)
            .map_err(recv_error)
    }

    /// As [`recv_bytes`](Self::recv_bytes), waiting at most `timeout`.
    ///
    /// # Errors
    /// As [`recv_bytes`](Self::recv_bytes), and [`PyRecvError::Timeout`].
    pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<PipeFrame, PyRecvError> {
        self.end.recv_frame(Wait::timeout(timeout)).map_err(recv_error)
    }

    /// Sends a plain value, pickled at protocol 4 (Python's `send`).
    ///
    /// # Errors
    /// As [`send_bytes`](Self::send_bytes), and [`PySendError::Pickle`].
    pub fn send(&self, value: &Value) -> Result<(), PySendError> {
        let bytes = pickle::dumps(value).map_err(PySendError::Pickle)?;
        self.send_bytes(&bytes)
    }

    /// Receives a pickled plain value (Python's `recv`); a pickle of a class
    /// instance or anything else not plain is refused by name.
    ///
    /// # Errors
    /// As [`recv_bytes`](Self::recv_bytes), and [`PyRecvError::Pickle`].
    pub fn recv(&self) -> Result<Value, PyRecvError> {
        let frame = self.recv_bytes()?;
        pickle::loads(&frame).map_err(PyRecvError::Pickle)
    }

    /// As [`recv`](Self::recv), waiting at most `timeout`.
    ///
    /// # Errors
    /// As [`recv`](Self::recv), and [`PyRecvError::Timeout`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Value, PyRecvError> {
        let frame = self.recv_bytes_timeout(timeout)?;
        pickle::loads(&frame).map_err(PyRecvError::Pickle)
    }

    /// Whether a message is ready, waiting at most `timeout` (Python's
    /// `poll`).
    ///
    /// # Errors
    /// An operating-system error while reading.
    pub fn poll(&self, timeout: Duration) -> io::Result<bool> {
        self.end.poll(timeout)
    }
}

/// With the `tokio` feature (Unix), connections to Python can be waited on
/// together, as with Python's `multiprocessing.connection.wait`:
/// `transport_core::wait(&[&a, &b], timeout)` or a `Select`.
#[cfg(feature = "tokio")]
impl transport_core::Selectable for PyConnection {
    fn poll_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        transport_core::backend::PollRecv::poll_recv_ready(&self.end, cx)
    }
}
