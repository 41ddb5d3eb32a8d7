//! [`Backlog`]: the bytes an end in Python's framing has taken from its
//! sends and not yet written, and what its flusher thread is doing.
//!
//! Why an end that writes each message as Python's `send_bytes` does keeps
//! one: Python's `recv_bytes` makes two reads per message whatever the
//! sender does, and a read that takes part of a larger write costs less
//! than one that ends a write (the kernel frees and accounts each write on
//! its own). Measured on Linux with Python 3.11 reading from a Unix socket,
//! a Python receiver takes 64-byte messages about 1.5 times as fast, and
//! 4 KiB messages about 1.3 times, when they arrive in 16 KiB writes rather
//! than one write each; 64 KiB writes were no faster for 64-byte messages
//! and slower for 4 KiB ones. So a send that finds the socket full (the
//! peer reads slower than this end writes) adds its message here and
//! returns, and a flusher thread writes what gathered in writes of
//! [`WRITE_SLICE`] as the peer makes room. A send that finds nothing
//! waiting and room in the socket writes at once, as before: a lone
//! message costs no hand-off.
//!
//! What the backlog holds is what a killed sender may lose (at most
//! [`CAPACITY`] bytes and the last message added), as with the pipe's own
//! backlog; dropping the end waits up to the pipe end's default linger
//! ([`DEFAULT_LINGER`](crate::DEFAULT_LINGER)) for the peer to take it.

use std::{
    io::{self, IoSlice},
    sync::{Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use transport_core::{
    backend::{RawSendError, Wait},
    sync::LockExt,
};

/// The most bytes the backlog holds before sends wait for room; the last
/// message added may take it past this.
pub(crate) const CAPACITY: usize = 256 << 10;

/// The most bytes the flusher writes in one call (see the module's docs).
pub(crate) const WRITE_SLICE: usize = 16 << 10;

/// Why the backlog's bytes could not be written: kept to report to every
/// send after it.
#[derive(Debug)]
enum Failure {
    Disconnected,
    Io(io::ErrorKind, String),
}

impl Failure {
    fn from_io(e: &io::Error) -> Failure {
        match e.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Failure::Disconnected,
            kind => Failure::Io(kind, e.to_string()),
        }
    }

    fn error(&self) -> RawSendError {
        match self {
            Failure::Disconnected => RawSendError::Disconnected,
            Failure::Io(kind, message) => RawSendError::Io(io::Error::new(*kind, message.clone())),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Bytes taken from sends and not yet given to the flusher.
    pending: Vec<u8>,
    /// An empty buffer to swap with `pending`.
    spare: Vec<u8>,
    /// The flusher is writing a batch it took from `pending`.
    writing: bool,
    /// A flusher thread runs (or was asked to).
    flusher: bool,
    /// The end is being dropped: the flusher exits once all is written.
    closing: bool,
    /// The drop stopped waiting: the flusher writes no more.
    abandoned: bool,
    failed: Option<Failure>,
    /// Async sends waiting for room.
    #[cfg(feature = "tokio")]
    wakers: Vec<std::task::Waker>,
}

impl State {
    fn idle(&self) -> bool {
        self.pending.is_empty() && !self.writing
    }
}

/// What [`Backlog::admit`] did with a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Nothing waits: the caller writes the message itself.
    Idle,
    /// The message is in the backlog; `start` if the caller must start
    /// the flusher thread.
    Queued { start: bool },
}

/// See the module's docs.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    state: Mutex<State>,
    /// Signalled when bytes are written or the backlog fails: sends
    /// waiting for room, and a drop waiting for the end, look again.
    room: Condvar,
    /// Signalled when bytes are added or the end closes: the flusher looks.
    work: Condvar,
}

impl Backlog {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock_unpoisoned()
    }

    /// Has `write` append a message to the backlog if bytes wait there
    /// already (so it goes after them), waiting as `wait` allows while the
    /// backlog is full; `Idle` if nothing waits, so the caller may write it
    /// itself (sends are serialized by the caller). `write` appends straight
    /// behind what waits, with the backlog locked, so a message serialized
    /// there is not copied again; what it appended before an error is
    /// removed.
    ///
    /// # Errors
    /// What stopped the flusher (`Disconnected` if the peer is gone),
    /// `NotReady` if the backlog stayed full past the deadline, or the
    /// error of `write`.
    pub(crate) fn admit(
        &self,
        wait: Wait,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), RawSendError>,
    ) -> Result<Admit, RawSendError> {
        let mut st = self.lock();
        loop {
            if let Some(failure) = &st.failed {
                return Err(failure.error());
            }
            if st.idle() {
                return Ok(Admit::Idle);
            }
            if st.pending.len() < CAPACITY {
                let before = st.pending.len();
                if let Err(e) = write(&mut st.pending) {
                    st.pending.truncate(before);
                    return Err(e);
                }
                return Ok(Admit::Queued {
                    start: self.wake_flusher(&mut st),
                });
            }
            if wait.expired() {
                return Err(RawSendError::NotReady);
            }
            st = match wait.remaining() {
                None => self
                    .room
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
                Some(left) => {
                    self.room
                        .wait_timeout(st, left)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Takes the bytes of `parts` past the first `written` (a send wrote
    /// those itself and the socket took no more); whether the caller must
    /// start the flusher thread.
    pub(crate) fn queue_rest(&self, parts: &[IoSlice<'_>], mut written: usize) -> bool {
        let mut st = self.lock();
        for part in parts {
            let skip = written.min(part.len());
            written -= skip;
            st.pending.extend_from_slice(&part[skip..]);
        }
        self.wake_flusher(&mut st)
    }

    /// Tells the flusher there is work; true if none runs yet (the caller
    /// starts one, which counts as running from now on).
    fn wake_flusher(&self, st: &mut State) -> bool {
        self.work.notify_one();
        !std::mem::replace(&mut st.flusher, true)
    }

    /// The flusher's thread could not be started: the caller writes what
    /// waits itself (with [`take_now`](Self::take_now) and
    /// [`written`](Self::written)), as no thread will.
    pub(crate) fn flusher_failed(&self) {
        self.lock().flusher = false;
    }

    /// The bytes waiting, if any, taken to be written now by a caller
    /// whose flusher thread could not be started.
    pub(crate) fn take_now(&self) -> Option<Vec<u8>> {
        let mut st = self.lock();
        if st.pending.is_empty() || st.failed.is_some() {
            return None;
        }
        let spare = std::mem::take(&mut st.spare);
        st.writing = true;
        Some(std::mem::replace(&mut st.pending, spare))
    }

    /// For the flusher: the next bytes to write, waiting until there are
    /// some; `None` when the end is closing and all is written, or the
    /// backlog failed or was given up (the flusher then exits).
    pub(crate) fn next_batch(&self) -> Option<Vec<u8>> {
        let mut st = self.lock();
        loop {
            let stop = st.failed.is_some() || st.abandoned;
            if !stop && !st.pending.is_empty() {
                let spare = std::mem::take(&mut st.spare);
                st.writing = true;
                return Some(std::mem::replace(&mut st.pending, spare));
            }
            if stop || st.closing {
                st.flusher = false;
                self.room.notify_all();
                return None;
            }
            st = self
                .work
                .wait(st)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// For the flusher: the batch it took is written (or failed with
    /// `error`); sends waiting for room look again.
    pub(crate) fn written(&self, mut batch: Vec<u8>, error: Option<&io::Error>) {
        let mut st = self.lock();
        st.writing = false;
        if let Some(e) = error {
            st.failed.get_or_insert_with(|| Failure::from_io(e));
            // Not to be written after a failure: what follows it would
            // reach the peer without what came before.
            st.pending.clear();
        }
        batch.clear();
        if batch.capacity() <= 4 * CAPACITY {
            st.spare = batch;
        }
        self.room.notify_all();
        #[cfg(feature = "tokio")]
        for waker in st.wakers.drain(..) {
            waker.wake();
        }
    }

    /// For the flusher, between waits for room: whether the end's drop
    /// gave up on what is left.
    pub(crate) fn abandoned(&self) -> bool {
        self.lock().abandoned
    }

    /// For the end's drop: waits until everything is written, the backlog
    /// failed or the flusher is gone, or `linger` passed (then the flusher
    /// gives up what is left).
    pub(crate) fn close(&self, linger: Duration) {
        let deadline = Instant::now() + linger;
        let mut st = self.lock();
        st.closing = true;
        self.work.notify_all();
        while st.flusher && st.failed.is_none() && !st.idle() {
            let now = Instant::now();
            if now >= deadline {
                st.abandoned = true;
                return;
            }
            st = self
                .room
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// Ready when a send would not wait for room (or would report the
    /// failure); otherwise wakes `cx` when bytes are written.
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_room(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let mut st = self.lock();
        if st.failed.is_some() || st.idle() || st.pending.len() < CAPACITY {
            return std::task::Poll::Ready(());
        }
        if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            st.wakers.push(cx.waker().clone());
        }
        std::task::Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(bytes: &[u8]) -> [IoSlice<'_>; 1] {
        [IoSlice::new(bytes)]
    }

    /// Offers `bytes` as one message.
    fn offer(backlog: &Backlog, bytes: &[u8], wait: Wait) -> Result<Admit, RawSendError> {
        backlog.admit(wait, |pending| {
            pending.extend_from_slice(bytes);
            Ok(())
        })
    }

    #[test]
    fn an_idle_backlog_lets_the_sender_write() {
        let backlog = Backlog::default();
        assert_eq!(offer(&backlog, b"abc", Wait::Never).ok(), Some(Admit::Idle));
    }

    #[test]
    fn messages_after_a_partial_write_follow_its_rest_in_order() {
        let backlog = Backlog::default();
        assert!(backlog.queue_rest(&[IoSlice::new(b"he"), IoSlice::new(b"llo")], 3));
        assert_eq!(
            offer(&backlog, b"world", Wait::Never).ok(),
            Some(Admit::Queued { start: false })
        );
        assert_eq!(backlog.next_batch().as_deref(), Some(&b"loworld"[..]));
        // Being written: still not idle, so the next message queues too.
        assert_eq!(
            offer(&backlog, b"!", Wait::Never).ok(),
            Some(Admit::Queued { start: false })
        );
    }

    #[test]
    fn a_full_backlog_refuses_a_send_that_cannot_wait() {
        let backlog = Backlog::default();
        backlog.queue_rest(&parts(&vec![0; CAPACITY]), 0);
        assert!(matches!(
            offer(&backlog, b"x", Wait::Never),
            Err(RawSendError::NotReady)
        ));
    }

    #[test]
    fn a_failed_write_fails_every_later_send_and_drops_what_waited() {
        let backlog = Backlog::default();
        backlog.queue_rest(&parts(b"first"), 0);
        let batch = backlog.next_batch().expect("a batch");
        backlog.queue_rest(&parts(b"second"), 0);
        backlog.written(batch, Some(&io::ErrorKind::BrokenPipe.into()));
        assert!(matches!(
            offer(&backlog, b"x", Wait::Never),
            Err(RawSendError::Disconnected)
        ));
        assert_eq!(backlog.next_batch(), None);
    }

    #[test]
    fn a_close_that_runs_out_of_linger_gives_up_the_rest() {
        let backlog = Backlog::default();
        assert!(backlog.queue_rest(&parts(b"never read"), 0));
        let _batch = backlog.next_batch().expect("a batch");
        backlog.close(Duration::ZERO);
        assert!(backlog.abandoned());
    }
}
