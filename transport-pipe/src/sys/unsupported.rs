//! Platforms with neither Unix sockets nor Windows named pipes: every
//! operation reports `Unsupported`, so the crate still builds.

use std::{
    io::{self, IoSlice},
    mem::MaybeUninit,
    process::Command,
};

use transport_core::{OpenError, backend::Wait};

/// No pipe reaches another process here.
pub(crate) const CROSS_PROCESS: bool = false;
/// Nothing to wait on.
pub(crate) const READINESS: transport_core::Readiness = transport_core::Readiness::None;

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "pipes are not supported on this platform",
    )
}

/// No socket can exist here.
#[derive(Debug)]
pub(crate) struct Socket(std::convert::Infallible);

impl Socket {
    pub(crate) fn pair() -> io::Result<(Socket, Socket)> {
        Err(unsupported())
    }

    pub(crate) fn send(
        &self,
        _bufs: &[IoSlice<'_>],
        _wait: Wait,
        _on_readable: &mut dyn FnMut() -> bool,
    ) -> io::Result<usize> {
        match self.0 {}
    }

    pub(crate) fn recv(&self, _buf: &mut [MaybeUninit<u8>], _wait: Wait) -> io::Result<usize> {
        match self.0 {}
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn poll_read(
        &self,
        _cx: &mut std::task::Context<'_>,
        _attempt: &mut dyn FnMut() -> bool,
    ) -> std::task::Poll<io::Result<()>> {
        match self.0 {}
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn watch_writes(&mut self) {
        match self.0 {}
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn poll_write(&self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        match self.0 {}
    }

    pub(crate) fn shutdown_read(&self) {
        match self.0 {}
    }

    pub(crate) fn settle(&self, _wait: Wait) -> io::Result<()> {
        match self.0 {}
    }

    pub(crate) fn handoff(self, _cmd: &mut Command) -> io::Result<String> {
        match self.0 {}
    }

    pub(crate) fn open(_payload: &str) -> Result<Socket, OpenError> {
        Err(OpenError::io("a pipe end", unsupported()))
    }
}
