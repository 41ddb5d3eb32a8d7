//! The authentication handshake on a fresh socket, before it becomes an
//! end: every read takes exactly the bytes of one message, so nothing the
//! peer sends after the handshake is read here, and the socket changes
//! hands with nothing buffered.

use std::{
    io::{self, IoSlice},
    mem::MaybeUninit,
};

use transport_core::backend::Wait;

use super::{auth::Channel, error::AuthError};
use crate::{python::frame::Framing, sys::StreamSocket};

/// A socket during the handshake, with its framing and deadline.
pub(crate) struct Handshake<'a> {
    pub(crate) sock: &'a StreamSocket,
    pub(crate) framing: Framing,
    pub(crate) wait: Wait,
}

fn io_error(e: io::Error) -> AuthError {
    match e.kind() {
        io::ErrorKind::WouldBlock => AuthError::Timeout,
        io::ErrorKind::BrokenPipe => AuthError::Disconnected,
        _ => AuthError::Io(e),
    }
}

impl Handshake<'_> {
    fn read_exact(&self, buf: &mut [u8]) -> Result<(), AuthError> {
        let mut done = 0;
        while done < buf.len() {
            let rest = &mut buf[done..];
            // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and `recv`
            // only writes initialized bytes into it.
            let rest = unsafe { &mut *(std::ptr::from_mut(rest) as *mut [MaybeUninit<u8>]) };
            match self.sock.recv(rest, self.wait).map_err(io_error)? {
                0 => return Err(AuthError::Disconnected),
                n => done += n,
            }
        }
        Ok(())
    }
}

impl Channel for Handshake<'_> {
    fn send_message(&self, bytes: &[u8]) -> Result<(), AuthError> {
        let mut header = [0u8; 16];
        let n = self.framing.header(bytes.len(), &mut header);
        let mut parts = [IoSlice::new(&header[..n]), IoSlice::new(bytes)];
        let mut rest = &mut parts[..];
        while !rest.is_empty() {
            let sent = self.sock.send(rest, self.wait, &mut || false).map_err(io_error)?;
            IoSlice::advance_slices(&mut rest, sent);
        }
        Ok(())
    }

    fn recv_message(&self, max: usize) -> Result<Vec<u8>, AuthError> {
        let mut header = [0u8; 16];
        let first = match self.framing {
            Framing::Python => 4,
            Framing::Native => 16,
        };
        self.read_exact(&mut header[..first])?;
        let parsed = match self.framing.parse(&header[..first]) {
            Ok(Some(h)) => Ok(h),
            Ok(None) => {
                // Python's long form: `-1` and 8 more bytes.
                self.read_exact(&mut header[4..12])?;
                self.framing
                    .parse(&header[..12])
                    .map(|h| h.unwrap_or((12, u64::MAX)))
            }
            Err(e) => Err(e),
        };
        let (_, len) = parsed.map_err(|e| AuthError::Protocol {
            reason: e.reason().to_owned(),
        })?;
        if len > max as u64 {
            return Err(AuthError::TooLarge { len });
        }
        let mut body = vec![0u8; len as usize];
        self.read_exact(&mut body)?;
        Ok(body)
    }
}
