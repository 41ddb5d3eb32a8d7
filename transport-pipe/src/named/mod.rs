//! Named connections: a [`Listener`] at an [`Address`], [`Client`]s that
//! connect to it, authenticated with Python's `authkey` handshake and
//! optionally by the peer's user, in this crate's framing (typed messages)
//! or in Python's (to talk with `multiprocessing.connection`).
//!
//! ```
//! # #[cfg(unix)] {
//! use transport_pipe::{Address, Client, Listener, Options};
//!
//! let dir = std::env::temp_dir().join(format!("transport-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("svc.sock");
//! let options = Options::new().authkey(b"secret").require_same_user();
//! let listener = Listener::bind(Address::path(&path), options.clone()).unwrap();
//!
//! let client = std::thread::spawn(move || {
//!     let conn = Client::connect::<String, u64>(Address::path(path), &options).unwrap();
//!     conn.send("hello".to_string()).unwrap();
//!     *conn.recv().unwrap()
//! });
//! let conn = listener.accept::<u64, String>().unwrap();
//! assert_eq!(conn.raw().peer().uid, Some(unsafe { libc::geteuid() }));
//! let greeting = conn.recv().unwrap();
//! conn.send(greeting.len() as u64).unwrap();
//! assert_eq!(client.join().unwrap(), 5);
//! drop(listener); // removes the socket file
//! std::fs::remove_dir(&dir).unwrap();
//! # }
//! ```

mod address;
mod auth;
mod backlog;
mod client;
pub(crate) mod end;
mod error;
mod establish;
mod handshake;
mod listener;
mod options;
mod py_connection;
pub(crate) mod stream_end;

pub use address::Address;
pub use client::{AsAddress, Client};
pub use end::{NamedEnd, PeerCreds};
pub use error::{AuthError, BindError, ConnectError};
pub use listener::{Incoming, Listener};
pub use options::{DEFAULT_SPIN, Options, PeerUser};
pub use py_connection::{PyConnection, PyRecvError, PySendError};

/// A typed end of a named connection: sends `Out`, receives `In` (the
/// same methods as a pipe's [`Connection`](crate::Connection)).
pub type NamedConnection<Out, In> = transport_core::Connection<Out, In, NamedEnd>;
