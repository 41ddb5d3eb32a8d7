//! Handles in processes other than the creator: members that talk to the
//! hub over their two private channels. Their shared state, and who reads
//! the `down` channel, is the member's [`Inbox`].

use std::{
    io,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use ipc_channel::{
    IpcError,
    ipc::{self, IpcSender},
};
use transport_core::{OpenError, Wait};

use crate::{
    inbox::{Greeting, Inbox, Member, Waited},
    op::{GetError, OpError, PutError},
    sys::{self, NewMember},
    wire::{Boot, Bytes, Down, Frame, JoinRequest, RETURN_BYTES, Reply, Request, Role, Up, Welcome},
};

/// How long the hub may take to answer a request before it counts as gone.
/// It answers at once unless its process is stopped or overloaded.
pub(crate) const REPLY_BOUND: Duration = Duration::from_secs(60);

/// How long a child waits for the queue to welcome it when it opens a
/// hand-off.
pub(crate) const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long past the caller's own deadline a member waits for the hub to
/// answer the withdrawal of a put or a join that ran out of time.
pub(crate) const REPLY_GRACE: Duration = Duration::from_secs(1);

/// A member's requests that wait at the hub at once, at most (the hub's
/// limit, see [`crate::hub`]).
const MAX_PENDING: usize = 32;

/// A prefetching member asks for more items once it has taken this many
/// since it last asked (or half its prefetch, if that is fewer).
pub(crate) const TOP_UP_STEP: u32 = 64;

/// A queue handle in a process other than the creator's.
#[derive(Debug)]
pub(crate) struct Remote {
    up: Mutex<IpcSender<Request>>,
    inbox: Arc<Inbox>,
    welcome: Welcome,
}

pub(crate) fn ipc_to_io(e: IpcError) -> io::Error {
    match e {
        IpcError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

impl Remote {
    /// Joins the queue through the hand-off server the token `payload`
    /// names.
    pub(crate) fn open(payload: &str, role: Role) -> Result<Remote, OpenError> {
        let (name, release) = sys::rendezvous(payload)?;
        let opened = Remote::join_queue(&name, role);
        // The parent needs this process's end of the pipe that tells it
        // this process is alive only until it answered.
        release.release();
        opened
    }

    fn join_queue(name: &str, role: Role) -> Result<Remote, OpenError> {
        let (up_tx, up_rx) =
            ipc::channel::<Request>().map_err(|e| OpenError::io("a channel to the queue", e))?;
        let (down_tx, down_rx) =
            ipc::channel::<Down>().map_err(|e| OpenError::io("a channel from the queue", e))?;
        // Whoever reads the channel files the hub's first message (its
        // welcome) for the wait below.
        let inbox =
            Inbox::new(down_rx).map_err(|e| OpenError::io("the thread that reads a queue's channels", e))?;
        let boot = IpcSender::<Boot>::connect(name.to_owned()).map_err(|e| sys::connect_error(name, e))?;
        // The request moves the channel ends: from here on only the hub holds
        // the `down` sender, and only this process the `up` sender.
        boot.send(Boot::Join(JoinRequest {
            up: up_rx,
            down: down_tx,
            role,
        }))
        .map_err(|e| OpenError::io(format!("hand-off `{name}`"), ipc_to_io(e)))?;
        drop(boot);
        let deadline = Some(Instant::now() + OPEN_TIMEOUT);
        let (st, greeting) = inbox.wait_for(inbox.lock(), deadline, |m| m.greeting.clone());
        drop(st);
        match greeting {
            Ok(Ok(welcome)) => Ok(Remote {
                up: Mutex::new(up_tx),
                inbox,
                welcome,
            }),
            Ok(Err(Greeting::Refused {
                already_used: true,
                reason,
            })) => Err(OpenError::already_used(format!("hand-off `{name}` ({reason})"))),
            Ok(Err(Greeting::Refused { reason, .. })) => Err(OpenError::refused(
                format!("the queue behind hand-off `{name}`"),
                reason,
            )),
            Ok(Err(Greeting::Unexpected(other))) => Err(OpenError::malformed(format!(
                "the queue answered a join with {other} instead of a welcome"
            ))),
            Err(Waited::Timeout) => Err(OpenError::Gone {
                what: format!("the queue behind hand-off `{name}` (no answer within {OPEN_TIMEOUT:?})"),
            }),
            Err(Waited::Gone) => Err(OpenError::Gone {
                what: format!(
                    "the queue behind hand-off `{name}` (it closed the channel without a word: it was \
                     withdrawn, or the parent exited)"
                ),
            }),
        }
    }

    pub(crate) fn welcome(&self) -> Welcome {
        self.welcome
    }

    fn lock(&self) -> MutexGuard<'_, Member> {
        self.inbox.lock()
    }

    /// Sends to the hub; false (and the member marked gone) if it is gone.
    fn send(&self, st: &mut Member, up: Up) -> bool {
        if st.gone {
            return false;
        }
        let (read, took) = (st.read, st.took);
        let sent = self
            .up
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(Request { read, took, up });
        if sent.is_err() {
            self.inbox.set_gone(st);
        }
        sent.is_ok()
    }

    /// Sends to the hub without holding the member's lock (for frames,
    /// which may be large).
    fn send_unlocked(&self, read: u64, took: u64, up: Up) -> bool {
        let sent = self
            .up
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(Request { read, took, up });
        if sent.is_err() {
            self.inbox.set_gone(&mut self.lock());
        }
        sent.is_ok()
    }

    fn wait_for<'a, R>(
        &'a self,
        st: MutexGuard<'a, Member>,
        deadline: Option<Instant>,
        ready: impl FnMut(&mut Member) -> Option<R>,
    ) -> (MutexGuard<'a, Member>, Result<R, Waited>) {
        self.inbox.wait_for(st, deadline, ready)
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

    /// Waits at most [`REPLY_GRACE`] for the answer to the withdrawal of
    /// request `id`, whose caller's time ran out.
    fn answer(&self, id: u64) -> Result<Reply, Waited> {
        let st = self.lock();
        self.wait_for(st, Some(Instant::now() + REPLY_GRACE), |m| m.replies.remove(&id))
            .1
    }

    /// Takes a slot for a request that may wait at the hub, waiting (as
    /// `deadline` allows) while this process has the most there already.
    fn take_slot(&self, deadline: Option<Instant>) -> Result<(), Waited> {
        let st = self.lock();
        let (mut st, got) = self.wait_for(st, deadline, |m| (m.pending < MAX_PENDING).then_some(()));
        got?;
        st.pending += 1;
        Ok(())
    }

    fn free_slot(&self) {
        let mut st = self.lock();
        st.pending -= 1;
        self.inbox.notify(&st);
    }

    pub(crate) fn put(&self, frame: Frame, wait: Wait) -> Result<(), PutError> {
        let block = wait != Wait::Never;
        if block {
            match self.take_slot(wait.deadline()) {
                Ok(()) => {}
                Err(Waited::Timeout) => return Err(PutError::NotReady),
                Err(Waited::Gone) => return Err(PutError::Disconnected),
            }
        }
        let done = self.put_in_slot(frame, wait, block);
        if block {
            self.free_slot();
        }
        done
    }

    fn put_in_slot(&self, frame: Frame, wait: Wait, block: bool) -> Result<(), PutError> {
        let (id, read, took) = {
            let mut st = self.lock();
            (st.next_id(), st.read, st.took)
        };
        if !self.send_unlocked(
            read,
            took,
            Up::Put {
                id,
                frame: Bytes(frame),
                block,
            },
        ) {
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

    /// Asks for more items when a prefetching member has taken
    /// [`TOP_UP_STEP`] items (or half its prefetch) since it last asked.
    /// Asking often keeps the hub's count of what the member has read
    /// recent, so the hub can send items at once rather than through its
    /// writer thread.
    fn top_up(&self, st: &mut Member) {
        let prefetch = self.welcome.prefetch;
        if prefetch > 1 && !st.unwanting {
            let have = st.items.len() as u32 + st.outstanding;
            if have <= prefetch - (prefetch / 2).min(TOP_UP_STEP) {
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
                st.took += 1;
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
            if prefetch > 1 || st.outstanding == 0 || (st.async_claim && wait == Wait::Never) {
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
                st.took += 1;
                return Ok(frame);
            }
            return match waited {
                Ok(()) => Err(GetError::NotReady),
                Err(_) => Err(GetError::Disconnected),
            };
        }
    }

    /// Ready once a get would not wait: an item is here, or the queue
    /// drained or is gone. Until then the member asks for items as a get
    /// would, and keeps asking: its non-blocking gets no longer withdraw
    /// the request (a task's future may be dropped and polled again).
    pub(crate) fn poll_get(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let prefetch = self.welcome.prefetch.max(1);
        let mut st = self.lock();
        st.async_claim = true;
        if st.outstanding == 0 && !st.unwanting && st.items.is_empty() && !st.drained && !st.gone {
            if !self.send(&mut st, Up::Want { n: prefetch }) {
                return Poll::Ready(Ok(()));
            }
            st.outstanding = prefetch;
        }
        if !st.items.is_empty() || st.drained || st.gone {
            return Poll::Ready(Ok(()));
        }
        match &mut st.recv_waker {
            Some(w) => w.clone_from(cx.waker()),
            none => *none = Some(cx.waker().clone()),
        }
        self.inbox
            .ensure_reader(&mut st)
            .map_or_else(|e| Poll::Ready(Err(e)), |()| Poll::Pending)
    }

    /// Ready once a put would not find the queue full: the hub said there
    /// was room (it answers a watch as soon as there is), or the queue is
    /// gone. An unbounded queue is always ready.
    pub(crate) fn poll_put(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.lock();
        if st.gone || self.welcome.capacity.is_none() {
            return Poll::Ready(Ok(()));
        }
        if st.room {
            st.room = false;
            return Poll::Ready(Ok(()));
        }
        if st.watching.is_none() {
            let id = st.next_id();
            if !self.send(&mut st, Up::WatchRoom { id }) {
                return Poll::Ready(Ok(()));
            }
            st.watching = Some(id);
        }
        match &mut st.send_waker {
            Some(w) => w.clone_from(cx.waker()),
            none => *none = Some(cx.waker().clone()),
        }
        self.inbox
            .ensure_reader(&mut st)
            .map_or_else(|e| Poll::Ready(Err(e)), |()| Poll::Pending)
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
        match self.take_slot(deadline) {
            Ok(()) => {}
            Err(Waited::Timeout) => return Err(OpError::Timeout),
            Err(Waited::Gone) => return Err(OpError::Disconnected),
        }
        let joined = self.join_in_slot(deadline);
        self.free_slot();
        joined
    }

    fn join_in_slot(&self, deadline: Option<Instant>) -> Result<(), OpError> {
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
    pub(crate) fn adopt(&self, new: NewMember) -> io::Result<()> {
        let NewMember { up, down, role } = new;
        let up = sys::to_ipc_up(up)?;
        let (read, took) = {
            let st = self.lock();
            (st.read, st.took)
        };
        self.up
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(Request {
                read,
                took,
                up: Up::Adopt(JoinRequest { up, down, role }),
            })
            .map_err(ipc_to_io)
    }
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
        // In messages of at most `RETURN_BYTES` of items (or one item).
        while !st.items.is_empty() {
            let mut frames = Vec::new();
            let mut bytes = 0;
            while let Some(next) = st.items.front() {
                let cost = next.len() + 16;
                if !frames.is_empty() && bytes + cost > RETURN_BYTES {
                    break;
                }
                bytes += cost;
                frames.extend(st.items.pop_front().map(Bytes));
            }
            if !self.send(&mut st, Up::Return { frames }) {
                return;
            }
        }
    }
}
