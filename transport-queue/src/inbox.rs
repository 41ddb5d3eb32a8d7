//! What a member's threads share: its state, filled from its `down`
//! channel, and who reads that channel.
//!
//! Any thread of the process may read the channel: the first one that
//! needs a message takes it (a "leader"), files whatever it reads (items,
//! replies) and wakes the others, which wait on a condition variable until
//! their own answer is filed or the channel is free for them to lead.
//!
//! An async task cannot lead: it has no thread to block. The first time a
//! task waits on a member, the channel moves to the process's bridge thread
//! ([`crate::bridge`]), which from then on reads it for every thread and
//! task of the member, exactly as a leader would. Members that are never
//! used from async code keep their direct reads, except where a channel
//! that was read directly cannot move to the bridge later (Windows, see
//! [`crate::sys`]): there the bridge reads it from the start.

use std::{
    collections::{HashMap, VecDeque},
    io,
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError},
    task::Waker,
    time::{Duration, Instant},
};

use ipc_channel::{TryRecvError, ipc::IpcReceiver};

use crate::{
    bridge, sys,
    wire::{Down, Frame, Reply, Welcome},
};

/// What the member's threads share.
#[derive(Debug, Default)]
pub(crate) struct Member {
    /// Items received and not yet taken by a get.
    pub(crate) items: VecDeque<Frame>,
    /// Items asked for and not yet received.
    pub(crate) outstanding: u32,
    /// An `Unwant` was sent and its answer has not arrived.
    pub(crate) unwanting: bool,
    /// Answers to requests, by id.
    pub(crate) replies: HashMap<u64, Reply>,
    /// The hub answered a want with "drained".
    pub(crate) drained: bool,
    /// The hub is gone.
    pub(crate) gone: bool,
    next_id: u64,
    /// The async task waiting for an item (or the end), and the one
    /// waiting for room (or the end): the latest poll's wakers.
    pub(crate) recv_waker: Option<Waker>,
    pub(crate) send_waker: Option<Waker>,
    /// The request id of the outstanding `WatchRoom`, if any.
    pub(crate) watching: Option<u64>,
    /// The hub said there was room, and no poll has used that yet.
    pub(crate) room: bool,
    /// The member was polled for an item: its non-blocking gets keep the
    /// item they asked for instead of withdrawing the request.
    pub(crate) async_claim: bool,
    /// How many of the hub's messages were read (the welcome included);
    /// every request reports it.
    pub(crate) read: u64,
    /// The hub's first message, once read: its welcome, or what came
    /// instead.
    pub(crate) greeting: Option<Result<Welcome, Greeting>>,
    /// Items its gets took (every request says so).
    pub(crate) took: u64,
    /// Its requests waiting at the hub: puts that may park, and joins (at
    /// most [`crate::hub`]'s limit; more threads wait here for a slot).
    pub(crate) pending: usize,
    /// Threads waiting on the condition variable.
    sleepers: usize,
}

impl Member {
    fn file(&mut self, msg: Down) {
        self.read += 1;
        if self.greeting.is_none() {
            self.greeting = Some(match msg {
                Down::Welcome(welcome) => Ok(welcome),
                Down::Refused { already_used, reason } => Err(Greeting::Refused { already_used, reason }),
                other => Err(Greeting::Unexpected(format!("{other:?}"))),
            });
            return;
        }
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
            Down::Reply {
                id,
                reply: Reply::Room,
            } => {
                if self.watching == Some(id) {
                    self.watching = None;
                    self.room = true;
                }
            }
            Down::Reply { id, reply } => {
                self.replies.insert(id, reply);
            }
            Down::Welcome(_) | Down::Refused { .. } => {}
        }
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Whether a get could make progress without waiting: an item, the
    /// end, or nothing asked for (so the get would ask).
    pub(crate) fn recv_ready(&self) -> bool {
        !self.items.is_empty() || self.drained || self.gone || (self.outstanding == 0 && !self.unwanting)
    }

    /// The wakers of the tasks that can make progress now, to be woken once
    /// the lock is released.
    fn ready_wakers(&mut self) -> [Option<Waker>; 2] {
        let recv = if self.recv_ready() {
            self.recv_waker.take()
        } else {
            None
        };
        let send = if self.room || self.gone {
            self.send_waker.take()
        } else {
            None
        };
        [recv, send]
    }
}

/// What the hub said instead of a welcome.
#[derive(Debug, Clone)]
pub(crate) enum Greeting {
    /// It turned the member away.
    Refused { already_used: bool, reason: String },
    /// Something this protocol does not start with.
    Unexpected(String),
}

/// Who reads the member's `down` channel.
#[derive(Debug)]
enum Reader {
    /// Whichever thread holds the lock on this (the leader).
    Here(IpcReceiver<Down>),
    /// The process's bridge thread.
    Bridged,
}

/// Why a wait ended without what it waited for.
pub(crate) enum Waited {
    Gone,
    Timeout,
}

/// A member's state and its `down` channel.
#[derive(Debug)]
pub(crate) struct Inbox {
    down: Mutex<Reader>,
    member: Mutex<Member>,
    changed: Condvar,
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

fn wake(wakers: [Option<Waker>; 2]) {
    for waker in wakers.into_iter().flatten() {
        waker.wake();
    }
}

fn deadline_passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

impl Inbox {
    /// The inbox of a member whose `down` channel is `down`, not read yet
    /// (the hub's welcome is filed as [`Member::greeting`]). Where a channel
    /// read directly could not move to the bridge later, the bridge takes it
    /// now; that fails only if the bridge thread cannot start.
    pub(crate) fn new(down: IpcReceiver<Down>) -> io::Result<Arc<Inbox>> {
        let (reader, to_bridge) = if sys::DIRECT_READS {
            (Reader::Here(down), None)
        } else {
            (Reader::Bridged, Some(down))
        };
        let inbox = Arc::new(Inbox {
            down: Mutex::new(reader),
            member: Mutex::new(Member::default()),
            changed: Condvar::new(),
        });
        if let Some(down) = to_bridge {
            bridge::watch(Arc::clone(&inbox), down).map_err(|(e, _)| e)?;
        }
        Ok(inbox)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Member> {
        self.member.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the hub as gone (a request could not be sent) and wakes every
    /// waiter.
    pub(crate) fn set_gone(&self, st: &mut Member) {
        st.gone = true;
        self.notify(st);
        wake(st.ready_wakers());
    }

    /// Wakes the threads waiting for a change (a notify costs a system call
    /// even with nobody waiting).
    pub(crate) fn notify(&self, st: &Member) {
        if st.sleepers > 0 {
            self.changed.notify_all();
        }
    }

    /// Files a message the bridge read, and wakes whoever it concerns.
    pub(crate) fn deliver(&self, msg: Down) {
        let mut st = self.lock();
        st.file(msg);
        let wakers = st.ready_wakers();
        self.notify(&st);
        drop(st);
        wake(wakers);
    }

    /// The bridge found the channel closed (or unreadable): the hub is gone.
    pub(crate) fn lost(&self) {
        let mut st = self.lock();
        st.gone = true;
        let wakers = st.ready_wakers();
        self.notify(&st);
        drop(st);
        wake(wakers);
    }

    /// Makes sure someone reads the channel for an async task that just
    /// registered its waker: the bridge, from now on. If a thread leads
    /// right now, it wakes the task when it lets go of the channel, and the
    /// task's next poll moves the channel then.
    pub(crate) fn ensure_reader(self: &Arc<Self>, st: &mut Member) -> io::Result<()> {
        let mut reader = match self.down.try_lock() {
            Ok(reader) => reader,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Ok(()),
        };
        let Reader::Here(_) = &*reader else { return Ok(()) };
        let Reader::Here(down) = std::mem::replace(&mut *reader, Reader::Bridged) else {
            unreachable!("checked above")
        };
        match bridge::watch(Arc::clone(self), down) {
            Ok(()) => Ok(()),
            Err((e, Some(down))) => {
                *reader = Reader::Here(down);
                Err(e)
            }
            Err((e, None)) => {
                // The channel went to a bridge that could not take it:
                // nothing can read it any more.
                self.set_gone(st);
                Err(e)
            }
        }
    }

    /// Waits until `ready` gives a value, reading the `down` channel when no
    /// other thread is (and no bridge does). Past the deadline it still
    /// files whatever is already waiting in the channel before it gives up.
    pub(crate) fn wait_for<'a, R>(
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
            let reader = match self.down.try_lock() {
                Ok(reader) => Some(reader),
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            match reader {
                Some(reader) if matches!(*reader, Reader::Here(_)) => {
                    let Reader::Here(down) = &*reader else {
                        unreachable!("matched above")
                    };
                    drop(st);
                    let got = recv(down, left);
                    st = self.lock();
                    match got {
                        Ok(Some(msg)) => st.file(msg),
                        Ok(None) => {
                            last_look = left.is_some_and(|l| l.is_zero()) || deadline_passed(deadline)
                        }
                        Err(()) => st.gone = true,
                    }
                    drop(reader);
                    self.notify(&st);
                    // An async task may wait on this member: it cannot count
                    // on this thread reading any more, so it polls again
                    // (and moves the channel to the bridge).
                    if st.recv_waker.is_some() || st.send_waker.is_some() {
                        let wakers = [st.recv_waker.take(), st.send_waker.take()];
                        drop(st);
                        wake(wakers);
                        st = self.lock();
                    }
                }
                other => {
                    // Another thread or the bridge reads, and files what it
                    // reads.
                    drop(other);
                    if left.is_some_and(|l| l.is_zero()) {
                        last_look = true;
                        continue;
                    }
                    st.sleepers += 1;
                    st = match left {
                        None => self.changed.wait(st).unwrap_or_else(PoisonError::into_inner),
                        Some(left) => {
                            self.changed
                                .wait_timeout(st, left)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0
                        }
                    };
                    st.sleepers -= 1;
                }
            }
        }
    }
}
