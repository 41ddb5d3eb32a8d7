//! [`Inbox`]: a member's state and its `down` channel, and who reads the
//! channel (code of a process other than the creator).
//!
//! Any thread of the process may read the channel: the first one that
//! needs a message takes it (it *leads*), files whatever it reads (items,
//! replies) and wakes the others, which wait on a condition variable until
//! their own answer is filed or the channel is free for them to lead.
//!
//! An async task cannot lead: it has no thread to block. The first time a
//! task waits on a member, the channel moves to the process's bridge thread
//! ([`super::bridge`]), which from then on reads it for every thread and
//! task of the member, exactly as a leader would. Members that are never
//! used from async code keep their direct reads, except where a channel
//! that was read directly cannot move to the bridge later (Windows, see
//! [`crate::sys`]): there the bridge reads it from the start.

use std::{
    io,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    task::Waker,
    time::{Duration, Instant},
};

use ipc_channel::{TryRecvError, ipc::IpcReceiver};
use transport_core::{
    Wait,
    sync::{LockExt, Waited as CondvarWaited, wait_as},
};

use super::{
    bridge::{self, Recipient},
    state::MemberState,
};
use crate::{sys, wire::Down};

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
    state: Mutex<MemberState>,
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

fn wake(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

fn deadline_passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

impl Inbox {
    /// The inbox of a member whose `down` channel is `down`, not read yet
    /// (the hub's welcome is filed as [`MemberState::greeting`]). Where a
    /// channel read directly could not move to the bridge later, the bridge
    /// takes it now; that fails only if the bridge thread cannot start.
    pub(crate) fn new(down: IpcReceiver<Down>) -> io::Result<Arc<Inbox>> {
        let (reader, to_bridge) = if sys::DIRECT_READS {
            (Reader::Here(down), None)
        } else {
            (Reader::Bridged, Some(down))
        };
        let inbox = Arc::new(Inbox {
            down: Mutex::new(reader),
            state: Mutex::new(MemberState::default()),
            changed: Condvar::new(),
        });
        if let Some(down) = to_bridge {
            bridge::watch(Arc::clone(&inbox) as Arc<dyn Recipient>, down).map_err(|(e, _)| e)?;
        }
        Ok(inbox)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, MemberState> {
        self.state.lock_unpoisoned()
    }

    /// Marks the hub as gone (a request could not be sent) and wakes every
    /// waiter.
    pub(crate) fn set_gone(&self, st: &mut MemberState) {
        st.gone = true;
        self.notify(st);
        wake(st.ready_wakers());
    }

    /// Wakes the threads waiting for a change (a notify costs a system call
    /// even with nobody waiting).
    pub(crate) fn notify(&self, st: &MemberState) {
        if st.sleepers > 0 {
            self.changed.notify_all();
        }
    }

    /// Makes sure someone reads the channel for an async task that just
    /// registered its waker: the bridge, from now on. If a thread leads
    /// right now, it wakes the task when it lets go of the channel, and the
    /// task's next poll moves the channel then.
    pub(crate) fn ensure_reader(self: &Arc<Self>, st: &mut MemberState) -> io::Result<()> {
        let Some(mut reader) = self.down.try_lock_unpoisoned() else {
            return Ok(());
        };
        let Reader::Here(_) = &*reader else { return Ok(()) };
        let Reader::Here(down) = std::mem::replace(&mut *reader, Reader::Bridged) else {
            unreachable!("checked above")
        };
        match bridge::watch(Arc::clone(self) as Arc<dyn Recipient>, down) {
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
        mut st: MutexGuard<'a, MemberState>,
        deadline: Option<Instant>,
        mut ready: impl FnMut(&mut MemberState) -> Option<R>,
    ) -> (MutexGuard<'a, MemberState>, Result<R, Waited>) {
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
            let reader = self.down.try_lock_unpoisoned();
            match reader {
                Some(reader) if matches!(*reader, Reader::Here(_)) => {
                    (st, last_look) = self.lead(st, reader, left, deadline);
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
                    let wait = deadline.map_or(Wait::Forever, Wait::Until);
                    let (guard, _): (_, CondvarWaited) = wait_as(&self.changed, st, wait);
                    st = guard;
                    st.sleepers -= 1;
                }
            }
        }
    }

    /// Reads one message as the leader (the state unlocked meanwhile) and
    /// files it; whether that was the last look before the deadline.
    fn lead<'a>(
        &'a self,
        st: MutexGuard<'a, MemberState>,
        reader: MutexGuard<'_, Reader>,
        left: Option<Duration>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, MemberState>, bool) {
        let Reader::Here(down) = &*reader else {
            unreachable!("the caller checked")
        };
        drop(st);
        let got = recv(down, left);
        let mut st = self.lock();
        let mut last_look = false;
        match got {
            Ok(Some(msg)) => st.file(msg),
            Ok(None) => last_look = left.is_some_and(|l| l.is_zero()) || deadline_passed(deadline),
            Err(()) => st.gone = true,
        }
        drop(reader);
        self.notify(&st);
        // An async task may wait on this member: it cannot count on this
        // thread reading any more, so it polls again (and moves the channel
        // to the bridge).
        if !st.recv_wakers.is_empty() || !st.send_wakers.is_empty() {
            let wakers = st.all_wakers();
            drop(st);
            wake(wakers);
            st = self.lock();
        }
        (st, last_look)
    }
}

impl Recipient for Inbox {
    /// Files a message the bridge read, and wakes whoever it concerns.
    fn deliver(&self, msg: Down) {
        let mut st = self.lock();
        st.file(msg);
        let wakers = st.ready_wakers();
        self.notify(&st);
        drop(st);
        wake(wakers);
    }

    /// The bridge found the channel closed (or unreadable): the hub is gone.
    fn lost(&self) {
        let mut st = self.lock();
        st.gone = true;
        let wakers = st.ready_wakers();
        self.notify(&st);
        drop(st);
        wake(wakers);
    }
}
