//! The local backend's queue: a deque of aligned frames under a mutex.

use std::{
    collections::VecDeque,
    io,
    process::Command,
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll, Waker},
};

use rkyv::util::AlignedVec;

use crate::{
    backend::{PollRecv, PollSend},
    error::{CreateError, HandoffError, OpenError},
    handoff::Handoff,
    message::FRAME_ALIGN,
    occupancy::Occupancy,
    raw::{Fill, RawReceiver, RawRecvError, RawSendError, RawSender, fill_aligned},
    transport::ChannelConfig,
    wait::Wait,
};

type Frame = AlignedVec<FRAME_ALIGN>;

struct State {
    frames: VecDeque<Frame>,
    senders: usize,
    receivers: usize,
    /// Async tasks waiting for a frame or for disconnection.
    recv_wakers: Wakers,
    /// Async tasks waiting for room or for disconnection.
    send_wakers: Wakers,
}

/// Wakers of async tasks waiting on one side, each registered once.
#[derive(Default)]
struct Wakers(Vec<Waker>);

impl Wakers {
    fn register(&mut self, waker: &Waker) {
        if !self.0.iter().any(|w| w.will_wake(waker)) {
            self.0.push(waker.clone());
        }
    }

    fn wake_all(&mut self) {
        for waker in self.0.drain(..) {
            waker.wake();
        }
    }

    /// Takes the wakers, to wake them once the lock is released.
    fn take(&mut self) -> Vec<Waker> {
        std::mem::take(&mut self.0)
    }
}

struct Shared {
    state: Mutex<State>,
    readable: Condvar,
    writable: Condvar,
    capacity: Option<usize>,
    limit: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent at every unlock, so a panic elsewhere
        // while holding the lock leaves nothing to repair.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether one more frame fits.
    fn has_room(&self, state: &State) -> bool {
        self.capacity.is_none_or(|cap| state.frames.len() < cap)
    }
}

/// Waits on `cv` as `wait` allows; `None` when the wait ran out.
fn wait_on<'a>(cv: &Condvar, guard: MutexGuard<'a, State>, wait: Wait) -> Option<MutexGuard<'a, State>> {
    match wait.remaining() {
        None => Some(cv.wait(guard).unwrap_or_else(PoisonError::into_inner)),
        Some(left) if left.is_zero() => None,
        Some(left) => Some(
            cv.wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0,
        ),
    }
}

pub(super) fn channel(config: &ChannelConfig) -> Result<(LocalSender, LocalReceiver), CreateError> {
    if config.capacity == Some(0) {
        return Err(CreateError::InvalidConfig {
            reason: "a capacity of 0 (rendezvous) is not supported".into(),
        });
    }
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames: VecDeque::new(),
            senders: 1,
            receivers: 1,
            recv_wakers: Wakers::default(),
            send_wakers: Wakers::default(),
        }),
        readable: Condvar::new(),
        writable: Condvar::new(),
        capacity: config.capacity,
        limit: config.max_message_size,
    });
    Ok((
        LocalSender {
            shared: Arc::clone(&shared),
        },
        LocalReceiver { shared },
    ))
}

/// The sending end of a local channel. Cloning it adds a producer.
pub struct LocalSender {
    shared: Arc<Shared>,
}

/// The receiving end of a local channel. Cloning it adds a consumer.
pub struct LocalReceiver {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LocalSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSender").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LocalReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalReceiver").finish_non_exhaustive()
    }
}

impl Shared {
    fn occupancy(&self) -> Occupancy {
        Occupancy::new(self.lock().frames.len(), self.capacity)
    }
}

impl RawSender for LocalSender {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        let shared = &*self.shared;
        {
            let state = shared.lock();
            if state.receivers == 0 {
                return Err(RawSendError::Disconnected);
            }
            // A non-blocking send into a full channel fails before it
            // serializes anything (async adapters retry until it fits).
            if wait == Wait::Never && !shared.has_room(&state) {
                return Err(RawSendError::NotReady);
            }
        }
        // Serialize outside the lock, into the buffer the receiver will read.
        let frame = fill_aligned(shared.limit, fill)?;
        let mut state = shared.lock();
        loop {
            if state.receivers == 0 {
                return Err(RawSendError::Disconnected);
            }
            if shared.has_room(&state) {
                state.frames.push_back(frame);
                let wakers = state.recv_wakers.take();
                drop(state);
                shared.readable.notify_one();
                wakers.into_iter().for_each(Waker::wake);
                return Ok(());
            }
            state = wait_on(&shared.writable, state, wait).ok_or(RawSendError::NotReady)?;
        }
    }

    fn max_message_size(&self) -> usize {
        self.shared.limit
    }

    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn occupancy(&self) -> Option<Occupancy> {
        Some(self.shared.occupancy())
    }
}

impl RawReceiver for LocalReceiver {
    type Frame = Frame;

    fn recv_frame(&self, wait: Wait) -> Result<Frame, RawRecvError> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        loop {
            if let Some(frame) = state.frames.pop_front() {
                let wakers = state.send_wakers.take();
                drop(state);
                shared.writable.notify_one();
                wakers.into_iter().for_each(Waker::wake);
                return Ok(frame);
            }
            if state.senders == 0 {
                return Err(RawRecvError::Disconnected);
            }
            state = wait_on(&shared.readable, state, wait).ok_or(RawRecvError::NotReady)?;
        }
    }

    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn occupancy(&self) -> Option<Occupancy> {
        Some(self.shared.occupancy())
    }
}

impl crate::shape::MultiProducer for LocalSender {}

impl crate::shape::MultiConsumer for LocalReceiver {}

impl PollSend for LocalSender {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        let room = shared.has_room(&state);
        if room || state.receivers == 0 {
            return Poll::Ready(Ok(()));
        }
        state.send_wakers.register(cx.waker());
        Poll::Pending
    }
}

impl PollRecv for LocalReceiver {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.shared.lock();
        if !state.frames.is_empty() || state.senders == 0 {
            return Poll::Ready(Ok(()));
        }
        state.recv_wakers.register(cx.waker());
        Poll::Pending
    }
}

impl Clone for LocalSender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        LocalSender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Clone for LocalReceiver {
    fn clone(&self) -> Self {
        self.shared.lock().receivers += 1;
        LocalReceiver {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for LocalSender {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        if state.senders == 0 {
            state.recv_wakers.wake_all();
            drop(state);
            self.shared.readable.notify_all();
        }
    }
}

impl Drop for LocalReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receivers -= 1;
        if state.receivers == 0 {
            // Nobody can read what is left: free it now.
            state.frames.clear();
            state.send_wakers.wake_all();
            drop(state);
            self.shared.writable.notify_all();
        }
    }
}

const NOT_CROSS_PROCESS: &str = "a local (in-process) endpoint";

impl Handoff for LocalSender {
    const KIND: &'static str = "local.sender";

    fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
        Err(HandoffError::Unsupported {
            what: NOT_CROSS_PROCESS,
        })
    }

    fn open(_payload: &str) -> Result<Self, OpenError> {
        Err(OpenError::malformed("local endpoints have no hand-off tokens"))
    }
}

impl Handoff for LocalReceiver {
    const KIND: &'static str = "local.receiver";

    fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
        Err(HandoffError::Unsupported {
            what: NOT_CROSS_PROCESS,
        })
    }

    fn open(_payload: &str) -> Result<Self, OpenError> {
        Err(OpenError::malformed("local endpoints have no hand-off tokens"))
    }
}

/// A two-way end of a local duplex pair.
#[derive(Debug)]
pub struct LocalEnd {
    tx: LocalSender,
    rx: LocalReceiver,
}

impl LocalEnd {
    pub(super) fn new(tx: LocalSender, rx: LocalReceiver) -> Self {
        LocalEnd { tx, rx }
    }
}

impl RawSender for LocalEnd {
    fn send_frame(&self, wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
        self.tx.send_frame(wait, fill)
    }

    fn max_message_size(&self) -> usize {
        self.tx.max_message_size()
    }

    fn occupancy(&self) -> Option<Occupancy> {
        RawSender::occupancy(&self.tx)
    }
}

impl RawReceiver for LocalEnd {
    type Frame = Frame;

    fn recv_frame(&self, wait: Wait) -> Result<Frame, RawRecvError> {
        self.rx.recv_frame(wait)
    }

    fn occupancy(&self) -> Option<Occupancy> {
        RawReceiver::occupancy(&self.rx)
    }
}

impl PollSend for LocalEnd {
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tx.poll_send_ready(cx)
    }
}

impl PollRecv for LocalEnd {
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.rx.poll_recv_ready(cx)
    }
}

impl Handoff for LocalEnd {
    const KIND: &'static str = "local.end";

    fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
        Err(HandoffError::Unsupported {
            what: NOT_CROSS_PROCESS,
        })
    }

    fn open(_payload: &str) -> Result<Self, OpenError> {
        Err(OpenError::malformed("local endpoints have no hand-off tokens"))
    }
}
