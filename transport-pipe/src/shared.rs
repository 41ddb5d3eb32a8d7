//! The state of one end, shared by the user's threads and the end's
//! flusher thread: the socket, the receive side and the send side.

use std::{
    io,
    sync::{Condvar, Mutex, MutexGuard, PoisonError, TryLockError},
};

use transport_core::{RawRecvError, Wait};

use crate::{
    inbound::{Inbound, PipeFrame},
    outbound::OutState,
    sys::Socket,
};

/// One end's socket and its two directions.
pub(crate) struct Shared {
    pub(crate) sock: Socket,
    pub(crate) inbound: Mutex<Inbound>,
    pub(crate) out: Mutex<OutState>,
    /// Signalled when the send side changes: room in the backlog, the
    /// writer done, work for the flusher, or the end closing.
    pub(crate) out_cv: Condvar,
    pub(crate) limit: usize,
}

impl Shared {
    pub(crate) fn new(sock: Socket, limit: usize) -> Self {
        Shared {
            sock,
            inbound: Mutex::new(Inbound::new(limit)),
            out: Mutex::new(OutState::new()),
            out_cv: Condvar::new(),
            limit,
        }
    }

    // Every lock below protects state that is consistent at each unlock, so
    // a panic elsewhere leaves nothing to repair: poisoning is ignored.

    pub(crate) fn lock_in(&self) -> MutexGuard<'_, Inbound> {
        self.inbound.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lock_out(&self) -> MutexGuard<'_, OutState> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits on the send side's condition variable as `wait` allows; `None`
    /// when the wait ran out.
    pub(crate) fn wait_out<'a>(
        &self,
        guard: MutexGuard<'a, OutState>,
        wait: Wait,
    ) -> Option<MutexGuard<'a, OutState>> {
        match wait.remaining() {
            None => Some(self.out_cv.wait(guard).unwrap_or_else(PoisonError::into_inner)),
            Some(left) if left.is_zero() => None,
            Some(left) => Some(
                self.out_cv
                    .wait_timeout(guard, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0,
            ),
        }
    }

    pub(crate) fn recv_frame(&self, wait: Wait) -> Result<PipeFrame, RawRecvError> {
        let mut inbound = self.lock_in();
        loop {
            if let Some(result) = inbound.pop() {
                return result;
            }
            match inbound.read_some(&self.sock, wait) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(RawRecvError::NotReady),
                Err(e) => return Err(RawRecvError::Io(e)),
            }
        }
    }

    /// Whether a receive would return at once, waiting as `wait` allows for
    /// that to become true.
    pub(crate) fn poll(&self, wait: Wait) -> io::Result<bool> {
        let mut inbound = self.lock_in();
        loop {
            if inbound.has_event() {
                return Ok(true);
            }
            match inbound.read_some(&self.sock, wait) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether a receive would return at once (a frame, the end of the
    /// stream, an error), reading what the socket holds; otherwise registers
    /// `cx`'s waker with the socket's readiness (the reactor) and with the
    /// receive queue (for bytes a waiting writer drains), and returns
    /// `Pending`.
    ///
    /// Both registrations happen with the receive queue locked, after it was
    /// found empty, and a drain needs that lock: a frame cannot slip in
    /// between the check and the registration.
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_readable(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let mut inbound = self.lock_in();
        // Polled now: a waker left from an earlier wait is stale.
        inbound.waker = None;
        if inbound.has_event() {
            return Poll::Ready(Ok(()));
        }
        let mut attempt = || loop {
            match inbound.read_some(&self.sock, Wait::Never) {
                Ok(_) if inbound.has_event() => return true,
                // Part of a frame: read on until the socket is empty.
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                // The receive reports the error.
                Err(_) => return true,
            }
        };
        match self.sock.poll_read(cx, &mut attempt) {
            Poll::Pending => {
                inbound.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            ready => ready,
        }
    }

    /// Called by a writer that waits for room while bytes from the peer
    /// wait to be read: moves them into the receive queue, so that two ends
    /// writing to each other at once both make progress. Returns whether
    /// the writer should keep watching for incoming bytes (false when a
    /// receiving thread is already reading them, or at the end of the
    /// stream).
    ///
    /// The queue has no bound while a send waits: that is the price of
    /// never deadlocking, and the peer can only fill it as fast as this end
    /// drains its own output.
    pub(crate) fn drain(&self) -> bool {
        let mut inbound = match self.inbound.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        loop {
            match inbound.read_some(&self.sock, Wait::Never) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
            }
        }
    }
}
