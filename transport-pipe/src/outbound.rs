//! The sending side of an end: serialization into the backlog, lone
//! writes, the flusher thread, the large-frame path, and closing within the
//! linger. The design is described in the crate documentation, under
//! "Coalescing".

use std::{
    io::{self, IoSlice},
    mem,
    sync::{Arc, MutexGuard, atomic::Ordering},
    task::Waker,
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use transport_core::backend::{Fill, FrameWriter, RawSendError, Wait};

use crate::{
    shared::Shared,
    wire::{self, HEADER_LEN},
};

/// A send that comes less than this after the previous one returned is
/// part of a burst, and is left to the flusher.
pub const BURST_GAP: Duration = Duration::from_micros(2);

/// The most bytes the backlog holds before sends wait for room: the bytes
/// of sends that returned and whose frames are not yet wholly written to
/// the operating system, whether they wait or are being written. A frame
/// the kernel has only part of counts whole, since a receiver drops a frame
/// cut short. The last frame added may take it past this. It is what a
/// killed sender may lose, so it is no larger than throughput needs: about
/// twice the kernel's buffer, so that a batch being written and the
/// messages serialized meanwhile both fit.
pub const BACKLOG: usize = 512 << 10;

/// How long dropping an end waits, by default, for its backlog to be
/// written (see [`PipeEnd::set_linger`](crate::PipeEnd::set_linger)).
pub const DEFAULT_LINGER: Duration = Duration::from_secs(10);

/// From this size on, `send_bytes` writes without copying.
pub(crate) const DIRECT_BYTES: usize = 64 << 10;

/// The flusher waits for room at most this long at a time, then looks
/// whether a close gave up on it.
pub(crate) const FLUSH_SLICE: Duration = Duration::from_millis(50);

/// Whether the end's flusher thread exists and what it is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flusher {
    Absent,
    Running,
    Parked,
}

/// The send state of one end.
pub(crate) struct OutState {
    /// Frames waiting to be written: `pending[head..]`.
    pending: Vec<u8>,
    head: usize,
    /// An empty buffer kept to swap with `pending`.
    spare: Vec<u8>,
    /// Bytes a writer took from the backlog and has not written yet: part
    /// of the backlog as far as room goes.
    in_flight: usize,
    /// Where the stream stands within a frame: see [`Cut`].
    cut: Cut,
    /// A thread is writing bytes it took from the backlog; nobody else may
    /// write until it is done, so frames never interleave.
    writing: bool,
    /// The peer is gone, or the stream broke: sends fail.
    gone: bool,
    /// An operating-system error the flusher met, reported by the next send.
    failure: Option<io::Error>,
    flusher: Flusher,
    thread: Option<JoinHandle<()>>,
    /// The end is being dropped or handed off: the flusher writes what is
    /// left and stops.
    closing: bool,
    last_send: Option<Instant>,
    /// How long closing waits for the backlog to be written.
    linger: Duration,
    /// The async task waiting for room in the backlog (see `ready.rs`),
    /// woken wherever `out_cv` is notified of a change.
    pub(crate) waker: Option<Waker>,
    /// Threads waiting on `out_cv`: a change with none is not signalled
    /// (a signal is a system call even when nobody waits).
    pub(crate) waiters: usize,
}

impl OutState {
    /// `Err` once a write failed (that error, reported once) or the peer
    /// is gone.
    fn still_open(&mut self) -> Result<(), RawSendError> {
        if let Some(e) = self.failure.take() {
            return Err(RawSendError::Io(e));
        }
        if self.gone {
            return Err(RawSendError::Disconnected);
        }
        Ok(())
    }

    pub(crate) fn new() -> Self {
        OutState {
            pending: Vec::new(),
            head: 0,
            spare: Vec::new(),
            in_flight: 0,
            cut: Cut::default(),
            writing: false,
            gone: false,
            failure: None,
            flusher: Flusher::Absent,
            thread: None,
            closing: false,
            last_send: None,
            linger: DEFAULT_LINGER,
            waker: None,
            waiters: 0,
        }
    }

    /// Bytes waiting in the backlog (not those a writer took).
    fn backlog(&self) -> usize {
        self.pending.len() - self.head
    }

    /// Bytes of returned sends whose frames are not yet wholly written:
    /// what room is measured in. The written part of a frame cut short
    /// counts, since the frame is lost with it if this process dies before
    /// the rest is written.
    fn unsent(&self) -> usize {
        self.backlog() + self.in_flight + self.cut.written
    }

    /// Takes the backlog for writing: the buffer and where its unwritten
    /// bytes start.
    fn take(&mut self) -> (Vec<u8>, usize) {
        let spare = mem::take(&mut self.spare);
        let batch = mem::replace(&mut self.pending, spare);
        let head = mem::replace(&mut self.head, 0);
        self.in_flight = batch.len() - head;
        (batch, head)
    }

    /// Counts `n` bytes of a taken buffer as written: `stream` is what was
    /// unwritten of it before them (at least `n` bytes).
    fn wrote(&mut self, stream: &[u8], n: usize) {
        self.in_flight -= n;
        self.cut.advance(stream, n);
    }

    /// Gives back a taken buffer of which `written` bytes past `head` went
    /// out; the rest goes back in front of anything appended meanwhile.
    /// The written bytes must already be counted ([`wrote`](Self::wrote)).
    fn give_back(&mut self, mut batch: Vec<u8>, head: usize, written: usize) {
        self.in_flight = 0;
        let head = head + written;
        if head == batch.len() {
            batch.clear();
            self.spare = batch;
        } else if self.backlog() == 0 {
            let spare = mem::replace(&mut self.pending, batch);
            self.head = head;
            if spare.capacity() > self.spare.capacity() {
                self.spare = spare;
            }
        } else {
            batch.drain(..head);
            batch.extend_from_slice(&self.pending[self.head..]);
            self.pending = batch;
            self.head = 0;
        }
    }

    /// The peer is gone: nothing left can be delivered.
    fn mark_gone(&mut self, failure: Option<io::Error>) {
        if !self.gone {
            transport_core::event!(
                INFO,
                error = ?failure.as_ref(),
                unsent = self.pending.len() - self.head,
                "pipe peer gone: its end closed or its process died"
            );
        }
        self.gone = true;
        self.failure = self.failure.take().or(failure);
        self.pending.clear();
        self.head = 0;
        self.in_flight = 0;
        self.cut = Cut::default();
    }
}

/// Where the byte stream stands relative to frame boundaries: how much of
/// the frame at its head is written, and how much of it is not.
///
/// Frames are counted in the room they take until their last byte is
/// written: the kernel may take a frame in part (its buffer is full), and a
/// receiver drops a frame cut short when its sender dies, so the part
/// already written is lost with the rest. Without this count the backlog
/// could hold its bound *and* the kernel hold the start of a frame, and a
/// killed sender lose up to one frame more than documented.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cut {
    /// Bytes of the head frame already written (0 at a boundary).
    written: usize,
    /// Bytes of the head frame still to write: the first unwritten byte is
    /// this far from the next boundary (0 at a boundary).
    left: usize,
}

impl Cut {
    /// Moves past `n` written bytes. `stream` is the unwritten stream from
    /// where the cut stood (at least `n` bytes): the rest of the head frame,
    /// then whole frames of this end's own making, whose headers say how
    /// long they are.
    fn advance(&mut self, stream: &[u8], n: usize) {
        let mut pos = 0;
        let mut n = n;
        while n > 0 {
            if self.left == 0 {
                self.written = 0;
                self.left = stream
                    .get(pos..pos + HEADER_LEN)
                    .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())
                    .and_then(|h| wire::parse(h).ok())
                    .and_then(|len| usize::try_from(len).ok())
                    .map_or(stream.len() - pos, |len| HEADER_LEN + len);
            }
            let k = self.left.min(n);
            self.left -= k;
            self.written += k;
            pos += k;
            n -= k;
            if self.left == 0 {
                self.written = 0;
            }
        }
    }
}

/// Why a write stopped.
enum WriteEnd {
    /// The deadline passed.
    Blocked,
    /// The peer is gone.
    Gone,
    /// The operating system failed.
    Failed(io::Error),
}

/// A backlog write's outcome ([`Shared::write_backlog`]): the state,
/// locked again; the batch taken, from `head`; how many of its bytes went
/// out; and why the write stopped early, if it did.
struct Written<'a> {
    st: MutexGuard<'a, OutState>,
    batch: Vec<u8>,
    head: usize,
    written: usize,
    end: Option<WriteEnd>,
}

impl Shared {
    /// Waits for room in the backlog.
    fn room(&self, wait: Wait) -> Result<MutexGuard<'_, OutState>, RawSendError> {
        let mut st = self.lock_out();
        loop {
            st.still_open()?;
            if st.unsent() < BACKLOG {
                return Ok(st);
            }
            st = self.wait_out(st, wait).ok_or(RawSendError::NotReady)?;
        }
    }

    pub(crate) fn send_frame(self: &Arc<Self>, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        let mut st = self.room(wait)?;
        let base = st.pending.len();
        st.pending.extend_from_slice(&[0; HEADER_LEN]);
        let mut writer = FrameWriter::bytes(&mut st.pending, self.limit);
        if let Err(e) = fill(&mut writer) {
            writer.abort();
            st.pending.truncate(base);
            return Err(RawSendError::Serialize(e));
        }
        let len = match writer.finish() {
            Ok(len) => len,
            Err(over) => {
                st.pending.truncate(base);
                return Err(RawSendError::TooLarge {
                    len: over.len,
                    limit: over.limit,
                });
            }
        };
        st.pending[base..base + HEADER_LEN].copy_from_slice(&wire::header(len));

        let now = Instant::now();
        let burst = st
            .last_send
            .is_some_and(|t| now.saturating_duration_since(t) < BURST_GAP);
        if base == st.head && !st.writing && !burst {
            st = self.write_lone(st)?;
        } else {
            self.wake_flusher(&mut st);
        }
        st.last_send = Some(Instant::now());
        Ok(())
    }

    /// The one way the backlog is written: marks the end as writing, takes
    /// the backlog out of the state, writes it with `write` while the lock
    /// is released (senders keep appending to a new backlog meanwhile), and
    /// takes the lock again. The caller counts what went out and gives back
    /// the rest ([`OutState::give_back`]) or marks the peer gone, as its
    /// outcome asks.
    fn write_backlog<'a>(
        &'a self,
        mut st: MutexGuard<'a, OutState>,
        write: impl FnOnce(&Self, &[u8]) -> (usize, Option<WriteEnd>),
    ) -> Written<'a> {
        st.writing = true;
        let (batch, head) = st.take();
        drop(st);
        let (written, end) = write(self, &batch[head..]);
        let mut st = self.lock_out();
        st.writing = false;
        Written {
            st,
            batch,
            head,
            written,
            end,
        }
    }

    /// Writes the backlog (one lone frame) from the sending thread, without
    /// blocking; what the kernel does not take goes to the flusher.
    fn write_lone<'a>(
        self: &'a Arc<Self>,
        st: MutexGuard<'a, OutState>,
    ) -> Result<MutexGuard<'a, OutState>, RawSendError> {
        let Written {
            mut st,
            batch,
            head,
            written,
            end,
        } = self.write_backlog(st, |this, bytes| {
            this.write(&mut [IoSlice::new(bytes)], Wait::Never)
        });
        st.wrote(&batch[head..], written);
        let result = match end {
            None | Some(WriteEnd::Blocked) => {
                st.give_back(batch, head, written);
                Ok(())
            }
            Some(WriteEnd::Gone) => {
                st.mark_gone(None);
                Err(RawSendError::Disconnected)
            }
            Some(WriteEnd::Failed(e)) if written == 0 => {
                // Nothing went out: the frame is dropped, the stream is intact.
                let all = batch.len() - head;
                st.give_back(batch, head, all);
                Err(RawSendError::Io(e))
            }
            Some(WriteEnd::Failed(e)) => {
                st.mark_gone(None);
                Err(RawSendError::Io(e))
            }
        };
        if st.backlog() > 0 {
            self.wake_flusher(&mut st);
        }
        self.notify_out(&mut st);
        result.map(|()| st)
    }

    /// Sends a large raw frame without copying it: waits until every
    /// earlier frame is written, then writes header and bytes itself.
    pub(crate) fn send_large(self: &Arc<Self>, bytes: &[u8], wait: Wait) -> Result<(), RawSendError> {
        if bytes.len() > self.limit {
            return Err(RawSendError::TooLarge {
                len: bytes.len(),
                limit: self.limit,
            });
        }
        let mut st = self.lock_out();
        loop {
            st.still_open()?;
            if !st.writing && st.backlog() == 0 {
                break;
            }
            self.wake_flusher(&mut st);
            st = self.wait_out(st, wait).ok_or(RawSendError::NotReady)?;
        }
        st.writing = true;
        drop(st);
        let header = wire::header(bytes.len());
        let (written, end) = self.write(&mut [IoSlice::new(&header), IoSlice::new(bytes)], wait);
        let mut st = self.lock_out();
        st.writing = false;
        let result = match end {
            None => Ok(()),
            Some(WriteEnd::Blocked) if written == 0 => Err(RawSendError::NotReady),
            Some(WriteEnd::Blocked) => {
                // Part of the frame is out: the rest must follow before
                // anything else, so it goes in front of the backlog.
                let rest: Vec<u8> = header.iter().chain(bytes).skip(written).copied().collect();
                // The frame counts whole until its last byte is written.
                st.cut = Cut {
                    written,
                    left: rest.len(),
                };
                st.give_back(rest, 0, 0);
                self.wake_flusher(&mut st);
                Ok(())
            }
            Some(WriteEnd::Gone) => {
                st.mark_gone(None);
                Err(RawSendError::Disconnected)
            }
            Some(WriteEnd::Failed(e)) => {
                if written > 0 {
                    st.mark_gone(None);
                }
                Err(RawSendError::Io(e))
            }
        };
        st.last_send = Some(Instant::now());
        if st.backlog() > 0 {
            self.wake_flusher(&mut st);
        }
        self.notify_out(&mut st);
        result
    }

    /// Writes `parts` until all is written, the deadline passes, or the
    /// stream ends; how many bytes went out, and why it stopped early.
    ///
    /// The caller passes `parts` (a stack array, so a send allocates
    /// nothing here); they are advanced in place as bytes go out.
    fn write(&self, parts: &mut [IoSlice<'_>], wait: Wait) -> (usize, Option<WriteEnd>) {
        let mut rest = parts;
        IoSlice::advance_slices(&mut rest, 0);
        let mut written = 0;
        while !rest.is_empty() {
            match self.write_once(rest, wait) {
                Ok(n) => {
                    written += n;
                    IoSlice::advance_slices(&mut rest, n);
                }
                Err(end) => return (written, Some(end)),
            }
        }
        (written, None)
    }

    /// One write of the socket (at least one byte unless it stops early),
    /// counted for the drain's allowance.
    fn write_once(&self, parts: &[IoSlice<'_>], wait: Wait) -> Result<usize, WriteEnd> {
        match self.sock.send(parts, wait, &mut || self.drain()) {
            Ok(n) => {
                self.count_written(n);
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(WriteEnd::Blocked),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(WriteEnd::Gone),
            Err(e) => Err(WriteEnd::Failed(e)),
        }
    }

    /// Tells every waiter on the send side that it changed: threads on
    /// `out_cv`, and the async task waiting for room. (Not the flusher: it
    /// is woken by [`wake_flusher`](Self::wake_flusher) when it has work.)
    fn notify_out(&self, st: &mut OutState) {
        if st.waiters > 0 {
            self.out_cv.notify_all();
        }
        // A closing end's flusher parked while another thread wrote: that
        // write is over, so it may stop now.
        if st.closing && st.flusher == Flusher::Parked {
            st.flusher = Flusher::Running;
            self.flush_cv.notify_one();
        }
        if let Some(waker) = st.waker.take() {
            waker.wake();
        }
    }

    /// Makes sure the flusher will write the backlog.
    fn wake_flusher(self: &Arc<Self>, st: &mut OutState) {
        match st.flusher {
            Flusher::Running => {}
            Flusher::Parked => {
                st.flusher = Flusher::Running;
                self.flush_cv.notify_one();
            }
            Flusher::Absent => {
                let shared = Arc::clone(self);
                match thread::Builder::new()
                    .name("transport-pipe-flusher".into())
                    .spawn(move || shared.run_flusher())
                {
                    Ok(handle) => {
                        transport_core::event!(DEBUG, "pipe flusher thread started");
                        st.flusher = Flusher::Running;
                        st.thread = Some(handle);
                    }
                    // No thread: `flush` and `close` write the backlog
                    // themselves, and the next lone send retries.
                    Err(_e) => {
                        transport_core::event!(WARN, error = %_e, "pipe flusher thread not started");
                        st.flusher = Flusher::Absent;
                    }
                }
            }
        }
    }

    /// The flusher thread: writes the backlog whenever there is one, until
    /// the end closes (or a close gave up waiting).
    fn run_flusher(self: Arc<Self>) {
        let mut st = self.lock_out();
        loop {
            if st.writing || st.backlog() == 0 || st.gone || self.abort.load(Ordering::Acquire) {
                if st.closing && !st.writing {
                    break;
                }
                st.flusher = Flusher::Parked;
                st = self
                    .flush_cv
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                st.flusher = Flusher::Running;
                continue;
            }
            let Written {
                st: relocked,
                batch,
                head,
                written,
                end,
            } = self.write_backlog(st, Self::write_batch);
            st = relocked;
            if written == batch.len() - head {
                // The batch ends with a whole frame: the last write that
                // finished it was not counted yet.
                st.in_flight = 0;
                st.cut = Cut::default();
            }
            match end {
                None | Some(WriteEnd::Blocked) => st.give_back(batch, head, written),
                Some(WriteEnd::Gone) => st.mark_gone(None),
                Some(WriteEnd::Failed(e)) => st.mark_gone(Some(e)),
            }
            self.notify_out(&mut st);
        }
        st.flusher = Flusher::Absent;
        transport_core::event!(DEBUG, "pipe flusher thread stopped");
    }

    /// The flusher's write of a batch: until all of it is written, the
    /// stream ends, or a close gives up on it (`Blocked`). Room made part
    /// way is given to waiting senders at once.
    fn write_batch(&self, batch: &[u8]) -> (usize, Option<WriteEnd>) {
        let mut written = 0;
        while written < batch.len() {
            match self.write_once(&[IoSlice::new(&batch[written..])], Wait::timeout(FLUSH_SLICE)) {
                Ok(n) => {
                    if written + n < batch.len() {
                        let mut st = self.lock_out();
                        st.wrote(&batch[written..], n);
                        self.notify_out(&mut st);
                    }
                    written += n;
                }
                Err(WriteEnd::Blocked) if !self.abort.load(Ordering::Acquire) => {}
                Err(end) => return (written, Some(end)),
            }
        }
        (written, None)
    }

    /// Waits until the backlog is written.
    pub(crate) fn flush(self: &Arc<Self>, wait: Wait) -> Result<(), RawSendError> {
        let mut st = self.lock_out();
        loop {
            st.still_open()?;
            if st.backlog() == 0 && !st.writing {
                return Ok(());
            }
            if st.flusher == Flusher::Absent && !st.writing {
                // No flusher thread could be started: write here.
                st = self.write_inline(st, wait)?;
                continue;
            }
            self.wake_flusher(&mut st);
            st = self.wait_out(st, wait).ok_or(RawSendError::NotReady)?;
        }
    }

    fn write_inline<'a>(
        &'a self,
        st: MutexGuard<'a, OutState>,
        wait: Wait,
    ) -> Result<MutexGuard<'a, OutState>, RawSendError> {
        let Written {
            mut st,
            batch,
            head,
            written,
            end,
        } = self.write_backlog(st, |this, bytes| this.write(&mut [IoSlice::new(bytes)], wait));
        st.wrote(&batch[head..], written);
        self.notify_out(&mut st);
        match end {
            None => {
                st.give_back(batch, head, written);
                Ok(st)
            }
            Some(WriteEnd::Blocked) => {
                st.give_back(batch, head, written);
                Err(RawSendError::NotReady)
            }
            Some(WriteEnd::Gone) => {
                st.mark_gone(None);
                Err(RawSendError::Disconnected)
            }
            Some(WriteEnd::Failed(e)) => {
                st.mark_gone(None);
                Err(RawSendError::Io(e))
            }
        }
    }

    /// Whether a non-blocking send can make progress now (room in the
    /// backlog, or a peer that is gone, or an error to report); otherwise
    /// registers `waker` to be woken when the send side changes.
    ///
    /// Room is backlog room, not socket writability: the flusher (or a
    /// lone write) moves bytes from the backlog to the socket, and wakes the
    /// task through `notify_out` when it made some.
    #[cfg(feature = "tokio")]
    pub(crate) fn poll_room(self: &Arc<Self>, waker: &Waker) -> bool {
        let mut st = self.lock_out();
        if st.failure.is_some() || st.gone || st.unsent() < BACKLOG {
            return true;
        }
        st.waker = Some(waker.clone());
        // A full backlog always has a writer on its way; if no flusher
        // thread could be started, try again, and failing that have the task
        // poll again rather than wait for a wake-up nobody will send.
        self.wake_flusher(&mut st);
        if st.flusher == Flusher::Absent && !st.writing {
            drop(st);
            waker.wake_by_ref();
        }
        false
    }

    /// How long closing waits for the backlog.
    pub(crate) fn linger(&self) -> Duration {
        self.lock_out().linger
    }

    pub(crate) fn set_linger(&self, linger: Duration) {
        self.lock_out().linger = linger;
    }

    /// Writes what is left, waiting at most `linger`, and stops the
    /// flusher: for drop, close and hand-off. Whether everything was
    /// written: `NotReady` when the time ran out (the rest is dropped with
    /// the end). Written means finished, too: a write the socket still
    /// runs in this process (Windows) is waited for within the linger.
    pub(crate) fn close(self: &Arc<Self>, linger: Duration) -> Result<(), RawSendError> {
        let deadline = Wait::timeout(linger);
        let result = self.flush(deadline).and_then(|()| {
            self.sock.settle(deadline).map_err(|e| match e.kind() {
                io::ErrorKind::TimedOut => RawSendError::NotReady,
                io::ErrorKind::BrokenPipe => RawSendError::Disconnected,
                _ => RawSendError::Io(e),
            })
        });
        if result.is_err() {
            // The flusher stops writing within one slice.
            self.abort.store(true, Ordering::Release);
        }
        let thread = {
            let mut st = self.lock_out();
            st.closing = true;
            if st.flusher == Flusher::Parked {
                st.flusher = Flusher::Running;
                self.flush_cv.notify_one();
            }
            self.notify_out(&mut st);
            st.thread.take()
        };
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Vec<u8> {
        let mut f = wire::header(len).to_vec();
        f.resize(HEADER_LEN + len, 7);
        f
    }

    #[test]
    fn a_frame_cut_short_counts_whole_until_its_last_byte() {
        let stream: Vec<u8> = [frame(100), frame(10), frame(1000)].concat();
        let mut cut = Cut::default();
        // Part of the first frame, a header cut in two, then past the
        // second frame into the third.
        cut.advance(&stream, 50);
        assert_eq!(
            cut,
            Cut {
                written: 50,
                left: 66
            }
        );
        cut.advance(&stream[50..], 66 + 4);
        assert_eq!(cut, Cut { written: 4, left: 22 });
        cut.advance(&stream[120..], 22 + 100);
        assert_eq!(
            cut,
            Cut {
                written: 100,
                left: 916
            }
        );
        cut.advance(&stream[242..], 916);
        assert_eq!(cut, Cut::default());
    }

    #[test]
    fn unsent_counts_the_written_part_of_the_head_frame() {
        let mut st = OutState::new();
        st.pending = [frame(100), frame(10)].concat();
        let total = st.pending.len();
        let (batch, head) = st.take();
        assert_eq!(st.unsent(), total);
        st.wrote(&batch[head..], 60);
        // 60 bytes of the first frame are out, but it is not whole yet.
        assert_eq!(st.unsent(), total);
        st.give_back(batch, head, 60);
        assert_eq!((st.backlog(), st.unsent()), (total - 60, total));
        let (batch, head) = st.take();
        st.wrote(&batch[head..], 56 + 3);
        st.give_back(batch, head, 56 + 3);
        // The first frame is whole in the kernel; the second has 3 bytes out.
        assert_eq!(st.unsent(), HEADER_LEN + 10);
    }
}
