//! Systems other than Unix and Windows: binding and connecting say that
//! named connections are not available.

use std::io;

use transport_core::backend::Wait;

use super::Conn;
use crate::named::{Address, BindError};

/// Nothing works here yet.
pub(crate) fn supports(_address: &Address, _framing: crate::python::frame::Framing) -> Result<(), String> {
    Err("named connections".into())
}

/// No end exists here to gather anything.
pub(crate) const WRITE_BEHIND: bool = false;

/// Nothing to send or receive on: no stream exists here.
#[derive(Debug)]
pub(crate) enum StreamSocket {}

impl StreamSocket {
    /// Never called: no stream exists (generic, so this names no socket).
    pub(crate) fn into_pipe<Pipe>(self) -> Result<Pipe, StreamSocket> {
        match self {}
    }

    pub(crate) fn send(
        &self,
        _bufs: &[std::io::IoSlice<'_>],
        _wait: Wait,
        _on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<usize> {
        match *self {}
    }

    pub(crate) fn recv(&self, _buf: &mut [std::mem::MaybeUninit<u8>], _wait: Wait) -> io::Result<usize> {
        match *self {}
    }
}

/// No connected stream exists here.
#[derive(Debug)]
pub(crate) enum Stream {}

impl Stream {
    pub(crate) fn into_stream(self) -> io::Result<StreamSocket> {
        match self {}
    }
}

/// No listener exists here.
#[derive(Debug)]
pub(crate) enum Acceptor {}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "named connections are not available on this system yet",
    )
}

impl Acceptor {
    pub(crate) fn bind(
        _address: &Address,
        _framing: crate::python::frame::Framing,
    ) -> Result<(Acceptor, Address), BindError> {
        Err(BindError::Unsupported {
            what: "a listener".into(),
        })
    }

    pub(crate) fn accept(&self, _wait: Wait) -> io::Result<Option<Conn>> {
        match *self {}
    }
}

pub(crate) fn connect(
    _address: &Address,
    _framing: crate::python::frame::Framing,
    _wait: Wait,
) -> io::Result<Conn> {
    Err(unsupported())
}

/// This process's user id: unknown here.
pub(crate) fn euid() -> Option<u32> {
    None
}
