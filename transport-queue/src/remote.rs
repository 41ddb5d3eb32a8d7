//! Handles in processes other than the creator: members that talk to the
//! hub over their two private channels.
//!
//! Any thread of the process may read the member's `down` channel: the
//! first one that needs a message takes it (a "leader"), files whatever it
//! reads (items, replies) in the member's state, and wakes the others, which
//! wait on a condition variable until their own answer is filed or the
//! channel is free for them to lead.

use std::{
    collections::{HashMap, VecDeque},
    io,
    sync::{Condvar, Mutex, MutexGuard, PoisonError, TryLockError},
    time::{Duration, Instant},
};

use ipc_channel::{
    IpcError, TryRecvError,
    ipc::{self, IpcReceiver, IpcSender},
};
use transport_core::{OpenError, Wait};

use crate::{
    op::{GetError, OpError, PutError},
    wire::{Boot, Bytes, Down, Frame, JoinRequest, Reply, Role, Up, Welcome},
};

/// How long the hub may take to answer a request before it counts as gone.
/// It answers at once unless its process is stopped or overloaded.
pub(crate) const REPLY_BOUND: Duration = Duration::from_secs(60);

/// How long a child waits for the queue to welcome it when it opens a
/// hand-off.
pub(crate) const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// What the member's threads share.
#[derive(Debug, Default)]
struct Member {
    /// Items received and not yet taken by a get.
    items: VecDeque<Frame>,
    /// Items asked for and not yet received.
    outstanding: u32,
    /// An `Unwant` was sent and its answer has not arrived.
    unwanting: bool,
    /// Answers to requests, by id.
    replies: HashMap<u64, Reply>,
    /// The hub answered a want with "drained".
    drained: bool,
    /// The hub is gone.
    gone: bool,
    next_id: u64,
}

impl Member {
    fn file(&mut self, msg: Down) {
        match msg {
            Down::Items(frames) => {
                self.outstanding = self.outstanding.saturating_sub(frames.len() as u32);
                self.items.extend(frames.into_iter().map(|b| b.0));
            }
            Down::Drained => {
                self.drained = true;
                self.outstanding = 0;
            }
            Down::Unwanted => {
                self.outstanding = 0;
                self.unwanting = false;
            }
            Down::Reply { id, reply } => {
                self.replies.insert(id, reply);
            }
            Down::Welcome(_) => {}
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// Why a wait ended without what it waited for.
enum Waited {
    Gone,
    Timeout,
}

/// A queue handle in a process other than the creator's.
#[derive(Debug)]
pub(crate) struct Remote {
    up: Mutex<IpcSender<Up>>,
    down: Mutex<IpcReceiver<Down>>,
    member: Mutex<Member>,
    changed: Condvar,
    welcome: Welcome,
}

fn ipc_to_io(e: IpcError) -> io::Error {
    match e {
        IpcError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// Rounds up to whole milliseconds, the resolution ipc-channel waits with.
fn ceil_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX))
}

/// Receives one message: `Ok(None)` when none came in time, `Err` when the
/// hub is gone (or sent something this protocol does not know).
fn recv(down: &IpcReceiver<Down>, left: Option<Duration>) -> Result<Option<Down>, ()> {
    let result = match left {
        None => down.recv().map_err(TryRecvError::IpcError),
        Some(left) if left.is_zero() => down.try_recv(),
        Some(left) => down.try_recv_timeout(ceil_ms(left)),
    };
    match result {
        Ok(msg) => Ok(Some(msg)),
        Err(TryRecvError::Empty) => Ok(None),
        Err(TryRecvError::IpcError(_)) => Err(()),
    }
}

impl Remote {
    /// Joins the queue through the one-shot server `name` of a hand-off.
    pub(crate) fn open(name: &str, role: Role) -> Result<Remote, OpenError> {
        let (up_tx, up_rx) = ipc::channel::<Up>().map_err(|e| OpenError::io("a channel to the queue", e))?;
        let (down_tx, down_rx) =
            ipc::channel::<Down>().map_err(|e| OpenError::io("a channel from the queue", e))?;
        let boot = IpcSender::<Boot>::connect(name.to_owned()).map_err(|_| OpenError::Gone {
            what: format!("hand-off `{name}` (the parent gave up on it, or has exited)"),
        })?;
        // The request moves the channel ends: from here on only the hub holds
        // the `down` sender, and only this process the `up` sender.
        boot.send(Boot::Join(JoinRequest {
            up: up_rx,
            down: down_tx,
            role,
        }))
        .map_err(|e| OpenError::io(format!("hand-off `{name}`"), ipc_to_io(e)))?;
        drop(boot);
        match down_rx.try_recv_timeout(OPEN_TIMEOUT) {
            Ok(Down::Welcome(welcome)) => Ok(Remote {
                up: Mutex::new(up_tx),
                down: Mutex::new(down_rx),
                member: Mutex::new(Member::default()),
                changed: Condvar::new(),
                welcome,
            }),
            Ok(other) => Err(OpenError::malformed(format!(
                "the queue answered a join with {other:?} instead of a welcome"
            ))),
            Err(TryRecvError::Empty) => Err(OpenError::Gone {
                what: format!("the queue behind hand-off `{name}` (no answer within {OPEN_TIMEOUT:?})"),
            }),
            Err(TryRecvError::IpcError(_)) => Err(OpenError::Gone {
                what: format!("the queue behind hand-off `{name}`"),
            }),
        }
    }

    pub(crate) fn welcome(&self) -> Welcome {
        self.welcome
    }

    fn lock(&self) -> MutexGuard<'_, Member> {
        self.member.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends to the hub; false (and the member marked gone) if it is gone.
    fn send(&self, st: &mut Member, up: Up) -> bool {
        if st.gone {
            return false;
        }
        let sent = self.up.lock().unwrap_or_else(PoisonError::into_inner).send(up);
        if sent.is_err() {
            st.gone = true;
            self.changed.notify_all();
        }
        sent.is_ok()
    }

    /// Sends to the hub without holding the member's lock (for frames,
    /// which may be large).
    fn send_unlocked(&self, up: Up) -> bool {
        let sent = self.up.lock().unwrap_or_else(PoisonError::into_inner).send(up);
        if sent.is_err() {
            self.lock().gone = true;
            self.changed.notify_all();
        }
        sent.is_ok()
    }

    /// Waits until `ready` gives a value, reading the `down` channel when no
    /// other thread is. Past the deadline it still files whatever is already
    /// waiting in the channel before it gives up.
    fn wait_for<'a, R>(
        &'a self,
        mut st: MutexGuard<'a, Member>,
        deadline: Option<Instant>,
        mut ready: impl FnMut(&mut Member) -> Option<R>,
    ) -> (MutexGuard<'a, Member>, Result<R, Waited>) {
        let mut last_look = false;
        loop {
            if let Some(r) = ready(&mut st) {
                return (st, Ok(r));
            }
            if st.gone {
                return (st, Err(Waited::Gone));
            }
            if last_look {
                return (st, Err(Waited::Timeout));
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let down = match self.down.try_lock() {
                Ok(down) => Some(down),
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            match down {
                Some(down) => {
                    drop(st);
                    let got = recv(&down, left);
                    st = self.lock();
                    match got {
                        Ok(Some(msg)) => st.file(msg),
                        Ok(None) => {
                            last_look = left.is_some_and(|l| l.is_zero()) || deadline_passed(deadline)
                        }
                        Err(()) => st.gone = true,
                    }
                    drop(down);
                    self.changed.notify_all();
                }
                None => {
                    if left.is_some_and(|l| l.is_zero()) {
                        // Another thread is reading; it files what it reads.
                        last_look = true;
                        continue;
                    }
                    st = match left {
                        None => self.changed.wait(st).unwrap_or_else(PoisonError::into_inner),
                        Some(left) => {
                            self.changed
                                .wait_timeout(st, left)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0
                        }
                    };
                }
            }
        }
    }

    /// Sends a request and waits for its answer until `deadline`.
    fn request(
        &self,
        make: impl FnOnce(u64) -> Up,
        deadline: Option<Instant>,
    ) -> Result<(u64, Reply), Waited> {
        let mut st = self.lock();
        let id = st.next_id();
        if !self.send(&mut st, make(id)) {
            return Err(Waited::Gone);
        }
        let (_st, reply) = self.wait_for(st, deadline, |m| m.replies.remove(&id));
        reply.map(|r| (id, r))
    }

    /// Waits at most [`REPLY_BOUND`] for the answer to request `id`.
    fn answer(&self, id: u64) -> Result<Reply, Waited> {
        let st = self.lock();
        self.wait_for(st, Some(Instant::now() + REPLY_BOUND), |m| m.replies.remove(&id))
            .1
    }

    pub(crate) fn put(&self, frame: Frame, wait: Wait) -> Result<(), PutError> {
        let block = wait != Wait::Never;
        let id = self.lock().next_id();
        if !self.send_unlocked(Up::Put {
            id,
            frame: Bytes(frame),
            block,
        }) {
            return Err(PutError::Disconnected);
        }
        let deadline = if block {
            wait.deadline()
        } else {
            Some(Instant::now() + REPLY_BOUND)
        };
        let (st, waited) = self.wait_for(self.lock(), deadline, |m| m.replies.remove(&id));
        drop(st);
        let reply = match waited {
            Ok(reply) => reply,
            Err(Waited::Gone) => return Err(PutError::Disconnected),
            Err(Waited::Timeout) if !block => return Err(PutError::Disconnected),
            Err(Waited::Timeout) => {
                // Withdraw the parked put; it may have got in meanwhile.
                let mut st = self.lock();
                if !self.send(&mut st, Up::CancelPut { id }) {
                    return Err(PutError::Disconnected);
                }
                drop(st);
                match self.answer(id) {
                    Ok(reply) => reply,
                    Err(_) => return Err(PutError::Disconnected),
                }
            }
        };
        match reply {
            Reply::PutOk => Ok(()),
            Reply::PutFull | Reply::PutCancelled => Err(PutError::NotReady),
            Reply::PutTooLarge { len, limit } => Err(PutError::TooLarge {
                len: len as usize,
                limit: limit as usize,
            }),
            _ => Err(PutError::Disconnected),
        }
    }

    /// Asks for more items when a prefetching member runs low.
    fn top_up(&self, st: &mut Member) {
        let prefetch = self.welcome.prefetch;
        if prefetch > 1 && !st.unwanting {
            let have = st.items.len() as u32 + st.outstanding;
            if have <= prefetch / 2 {
                let n = prefetch - have;
                if self.send(st, Up::Want { n }) {
                    st.outstanding += n;
                }
            }
        }
    }

    pub(crate) fn get(&self, wait: Wait) -> Result<Frame, GetError> {
        let prefetch = self.welcome.prefetch.max(1);
        let mut st = self.lock();
        loop {
            if let Some(frame) = st.items.pop_front() {
                self.top_up(&mut st);
                return Ok(frame);
            }
            if st.gone {
                return Err(GetError::Disconnected);
            }
            if st.drained {
                // One "drained" answers one want; the next get asks again,
                // in case items came back from a member that left.
                st.drained = false;
                return Err(GetError::Disconnected);
            }
            if st.outstanding == 0 && !st.unwanting {
                if !self.send(&mut st, Up::Want { n: prefetch }) {
                    return Err(GetError::Disconnected);
                }
                st.outstanding = prefetch;
            }
            let (guard, waited) = self.wait_for(st, wait.deadline(), |m| {
                (!m.items.is_empty() || m.drained || (m.outstanding == 0 && !m.unwanting)).then_some(())
            });
            st = guard;
            match waited {
                Ok(()) => continue,
                Err(Waited::Gone) => return Err(GetError::Disconnected),
                Err(Waited::Timeout) => {}
            }
            if prefetch > 1 || st.outstanding == 0 {
                return Err(GetError::NotReady);
            }
            // Asking for one item only while a get waits: withdraw the want.
            // An item the hub sent before it saw the withdrawal is returned.
            if !self.send(&mut st, Up::Unwant) {
                return Err(GetError::Disconnected);
            }
            st.unwanting = true;
            let (mut st, waited) = self.wait_for(st, Some(Instant::now() + REPLY_BOUND), |m| {
                (!m.items.is_empty() || !m.unwanting).then_some(())
            });
            if let Some(frame) = st.items.pop_front() {
                return Ok(frame);
            }
            return match waited {
                Ok(()) => Err(GetError::NotReady),
                Err(_) => Err(GetError::Disconnected),
            };
        }
    }

    fn gone_or_late(w: Waited) -> OpError {
        match w {
            Waited::Gone => OpError::Disconnected,
            Waited::Timeout => OpError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the queue did not answer within {REPLY_BOUND:?}"),
            )),
        }
    }

    pub(crate) fn len(&self) -> Result<usize, OpError> {
        match self.request(|id| Up::Len { id }, Some(Instant::now() + REPLY_BOUND)) {
            Ok((_, Reply::Len(n))) => Ok(n as usize),
            Ok(_) => Err(OpError::Disconnected),
            Err(w) => Err(Self::gone_or_late(w)),
        }
    }

    pub(crate) fn close(&self) -> Result<(), OpError> {
        match self.request(|id| Up::Close { id }, Some(Instant::now() + REPLY_BOUND)) {
            Ok(_) => Ok(()),
            Err(w) => Err(Self::gone_or_late(w)),
        }
    }

    pub(crate) fn task_done(&self) -> Result<(), OpError> {
        match self.request(|id| Up::TaskDone { id }, Some(Instant::now() + REPLY_BOUND)) {
            Ok((_, Reply::Done(true))) => Ok(()),
            Ok((_, Reply::Done(false))) => Err(OpError::TooManyTaskDone),
            Ok(_) => Err(OpError::Disconnected),
            Err(w) => Err(Self::gone_or_late(w)),
        }
    }

    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<(), OpError> {
        let mut st = self.lock();
        let id = st.next_id();
        if !self.send(&mut st, Up::Join { id }) {
            return Err(OpError::Disconnected);
        }
        let (mut st, waited) = self.wait_for(st, deadline, |m| m.replies.remove(&id));
        match waited {
            Ok(_) => Ok(()),
            Err(Waited::Gone) => Err(OpError::Disconnected),
            Err(Waited::Timeout) => {
                // Withdraw the join; the hub answers `Joined` if every item
                // was done meanwhile, `JoinCancelled` otherwise.
                if !self.send(&mut st, Up::CancelJoin { id }) {
                    return Err(OpError::Disconnected);
                }
                drop(st);
                match self.answer(id) {
                    Ok(Reply::Joined) => Ok(()),
                    Ok(_) => Err(OpError::Timeout),
                    Err(w) => Err(Self::gone_or_late(w)),
                }
            }
        }
    }

    /// Adds a child of this process, which opened a hand-off of this
    /// member's queue, as a member of its own.
    pub(crate) fn adopt(&self, req: JoinRequest) -> io::Result<()> {
        self.up
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(Up::Adopt(req))
            .map_err(ipc_to_io)
    }
}

fn deadline_passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Give back what was prefetched and not taken, so nothing is lost
        // when a receiver leaves: first stop further deliveries, then hand
        // back everything that arrived before the hub saw that.
        let mut st = self.lock();
        if st.gone {
            return;
        }
        if st.outstanding > 0 || st.unwanting {
            if !st.unwanting && !self.send(&mut st, Up::Unwant) {
                return;
            }
            st.unwanting = true;
            let (guard, _) = self.wait_for(st, Some(Instant::now() + REPLY_BOUND), |m| {
                (!m.unwanting).then_some(())
            });
            st = guard;
        }
        if !st.items.is_empty() {
            let frames = st.items.drain(..).map(Bytes).collect();
            self.send(&mut st, Up::Return { frames });
        }
    }
}
