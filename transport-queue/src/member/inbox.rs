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
    sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock},
    task::Waker,
    time::{Duration, Instant},
};

use transport_core::{
    Wait,
    sync::{LockExt, wait_as},
};

use super::{
    bridge::{self, Recipient},
    state::MemberState,
};
use crate::{
    sys::{self, Delivered, DownReceiver, MemberRequest, NewMember, SlabPool, UpSender, Written},
    wire::{Request, Up},
};

/// Who reads the member's `down` channel.
#[derive(Debug)]
enum Reader {
    /// Whichever thread holds the lock on this (the leader).
    Here(DownReceiver),
    /// The process's bridge thread.
    Bridged,
}

/// Why a wait ended without what it waited for.
pub(crate) enum Waited {
    Gone,
    Timeout,
}

/// A member's state, its two channels, and its slabs.
#[derive(Debug)]
pub(crate) struct Inbox {
    down: Mutex<Reader>,
    state: Mutex<MemberState>,
    changed: Condvar,
    /// The `up` channel: whoever files a message may have to answer it.
    up: Mutex<UpSender>,
    /// This process's slabs for large items it puts, where it has them
    /// (made once the welcome said the queue's limit).
    pool: OnceLock<SlabPool>,
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
    pub(crate) fn new(down: DownReceiver, up: UpSender) -> io::Result<Arc<Inbox>> {
        let (reader, to_bridge) = if sys::DIRECT_READS {
            (Reader::Here(down), None)
        } else {
            (Reader::Bridged, Some(down))
        };
        let inbox = Arc::new(Inbox {
            down: Mutex::new(reader),
            state: Mutex::new(MemberState::default()),
            changed: Condvar::new(),
            up: Mutex::new(up),
            pool: OnceLock::new(),
        });
        if let Some(down) = to_bridge {
            bridge::watch(Arc::clone(&inbox) as Arc<dyn Recipient>, down).map_err(|(e, _)| e)?;
        }
        Ok(inbox)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, MemberState> {
        self.state.lock_unpoisoned()
    }

    /// Makes this process's slabs, once the welcome said the queue's limit.
    pub(crate) fn make_pool(&self, limit: usize) {
        if let Some(pool) = SlabPool::new(limit) {
            let _ = self.pool.set(pool);
        }
    }

    /// This process's slabs, where it has them.
    pub(crate) fn pool(&self) -> Option<&SlabPool> {
        self.pool.get()
    }

    /// Sends a request to the hub, after the tickets of shared items
    /// copied out and kept back (see
    /// [`RELEASE_BATCH`](super::state::RELEASE_BATCH)); false (and the
    /// member marked gone) if it is gone.
    pub(crate) fn send(&self, st: &mut MemberState, up: Up<NewMember, Written>) -> bool {
        if let Some(tickets) = st.take_copied() {
            if !self.send_one(st, Up::Release { tickets }) {
                return false;
            }
        }
        self.send_one(st, up)
    }

    fn send_one(&self, st: &mut MemberState, up: Up<NewMember, Written>) -> bool {
        if st.gone {
            return false;
        }
        let req: MemberRequest = Request {
            read: st.read,
            took: st.took,
            up,
        };
        let sent = self.up.lock_unpoisoned().send(req).is_ok();
        if !sent {
            self.set_gone(st);
        }
        sent
    }

    /// Sends a request to the hub without the state locked (for items,
    /// which may be large); false if the hub is gone.
    pub(crate) fn send_unlocked(&self, read: u64, took: u64, up: Up<NewMember, Written>) -> bool {
        let sent = self.up.lock_unpoisoned().send(Request { read, took, up }).is_ok();
        if !sent {
            self.set_gone(&mut self.lock());
        }
        sent
    }

    /// Files a message of the hub's: slabs it freed go back to the pool,
    /// and the tickets of shared items copied out go back to the hub, a
    /// batch at a time.
    fn file(&self, st: &mut MemberState, delivered: Delivered) {
        let Delivered { msg, tickets } = delivered;
        let freed = st.file(msg);
        if let Some(pool) = self.pool.get() {
            for tag in freed {
                pool.give_back(tag);
            }
        }
        if let Some(tickets) = st.copied_out(tickets) {
            self.send_one(st, Up::Release { tickets });
        }
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
                    st = wait_as(&self.changed, st, wait).0;
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
        mut reader: MutexGuard<'_, Reader>,
        left: Option<Duration>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, MemberState>, bool) {
        let Reader::Here(down) = &mut *reader else {
            unreachable!("the caller checked")
        };
        drop(st);
        let got = down.recv(left);
        let mut st = self.lock();
        let mut last_look = false;
        match got {
            Ok(Some(delivered)) => self.file(&mut st, delivered),
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
    fn deliver(&self, delivered: Delivered) {
        let mut st = self.lock();
        self.file(&mut st, delivered);
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
