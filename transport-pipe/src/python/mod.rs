//! Speaking Python's `multiprocessing.connection`: its framing
//! ([`frame`]), its pickles of plain values ([`pickle`]), and the
//! authentication handshake (in the listener's `auth` module).
//!
//! A [`PyConnection`](crate::PyConnection) (from a
//! [`Listener`](crate::Listener) or [`Client`](crate::Client) with
//! [`Options::python`](crate::Options::python)) reads and writes exactly
//! what a Python `Connection` does: `send_bytes` / `recv_bytes` carry raw
//! bytes, `send` / `recv` pickled plain values.

pub mod frame;
pub mod pickle;
