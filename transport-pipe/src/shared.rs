//! The state of one end, shared by the user's threads and the end's
//! flusher thread: the socket, the receive side and the send side.

use std::{
    io,
    sync::{
        Condvar, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};
use transport_core::sync::{LockExt, wait_as};

use transport_core::backend::{RawRecvError, Wait};

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
    /// Signalled when the send side changes, for the threads waiting on
    /// it (counted in `OutState::waiters`): room in the backlog, the writer
    /// done, the end closing.
    pub(crate) out_cv: Condvar,
    /// Signalled for the flusher thread alone, when it is parked and there
    /// is work for it or the end closes: a send does not wake it for
    /// nothing, as it would on `out_cv`.
    pub(crate) flush_cv: Condvar,
    pub(crate) limit: usize,
    /// Every byte this end has written to the socket: what the drain's
    /// allowance grows with.
    pub(crate) written: AtomicU64,
    /// Set when a close ran out of time: the flusher gives up its write.
    pub(crate) abort: AtomicBool,
}

impl Shared {
    pub(crate) fn new(sock: Socket, limit: usize) -> Self {
        Shared {
            sock,
            inbound: Mutex::new(Inbound::new(limit)),
            out: Mutex::new(OutState::new()),
            out_cv: Condvar::new(),
            flush_cv: Condvar::new(),
            limit,
            written: AtomicU64::new(0),
            abort: AtomicBool::new(false),
        }
    }

    // Every lock below protects state that is consistent at each unlock, so
    // a panic elsewhere leaves nothing to repair: poisoning is ignored.

    pub(crate) fn lock_in(&self) -> MutexGuard<'_, Inbound> {
        self.inbound.lock_unpoisoned()
    }

    pub(crate) fn lock_out(&self) -> MutexGuard<'_, OutState> {
        self.out.lock_unpoisoned()
    }

    /// Waits on the send side's condition variable as `wait` allows; `None`
    /// when the wait ran out.
    pub(crate) fn wait_out<'a>(
        &self,
        mut guard: MutexGuard<'a, OutState>,
        wait: Wait,
    ) -> Option<MutexGuard<'a, OutState>> {
        // A wait that ran out on the way still hands the guard back: the
        // caller looks at its condition once more before giving up.
        match wait.remaining() {
            Some(left) if left.is_zero() => None,
            _ => {
                // Counted under the lock, so a change made under it either
                // comes before this thread looks or sees it waiting.
                guard.waiters += 1;
                let mut guard = wait_as(&self.out_cv, guard, wait).0;
                guard.waiters -= 1;
                Some(guard)
            }
        }
    }

    pub(crate) fn recv_frame(&self, wait: Wait) -> Result<PipeFrame, RawRecvError> {
        let mut inbound = self.lock_in();
        loop {
            if let Some(result) = inbound.pop() {
                self.note_if_empty(&mut inbound);
                return result;
            }
            self.note_if_empty(&mut inbound);
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

    /// Counts `n` bytes written to the socket.
    pub(crate) fn count_written(&self, n: usize) {
        self.written.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Restarts the drain's allowance when the receive queue is empty.
    fn note_if_empty(&self, inbound: &mut Inbound) {
        let held = inbound.held();
        inbound.allowance.note(self.written.load(Ordering::Relaxed), held);
    }

    /// Called by a writer that waits for room while bytes from the peer
    /// wait to be read: moves them into the receive queue, so that two ends
    /// writing to each other at once both make progress. Returns whether
    /// the writer should keep watching for incoming bytes (false when a
    /// receiving thread is already reading them, at the end of the stream,
    /// or when the queue holds all it may).
    ///
    /// Within the end's [`DrainAllowance`](crate::drain::DrainAllowance): at most
    /// [`DRAIN_LIMIT`](crate::drain::DRAIN_LIMIT) bytes more than this end
    /// wrote since the queue was last empty.
    pub(crate) fn drain(&self) -> bool {
        let Some(mut inbound) = self.inbound.try_lock_unpoisoned() else {
            return false;
        };
        loop {
            let held = inbound.held();
            let room = inbound.allowance.room(self.written.load(Ordering::Relaxed), held);
            if room == 0 {
                return false;
            }
            match inbound.read_at_most(&self.sock, Wait::Never, room) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
            }
        }
    }
}
