//! The threads of the creating process that serve members: the hub thread,
//! which waits on the members' `up` channels whenever no local get does,
//! and a local get that waits on them itself ([`wait_on_members`]); both
//! apply what members send the same way. Who holds the channels when is
//! [`super::reading`]'s state machine. The hub thread stops when no handle
//! is left anywhere.

use std::{
    io,
    sync::{Arc, mpsc},
    thread,
};

use transport_core::{Wait, sync::LockExt};

use super::{locked::LockedState, outbox::Outbox, reading::Next, shared::Hub};
use crate::{
    sys::{self, Event, HubSet, NewMember},
    wire::{Request, Up},
};

/// Starts the hub thread unless it runs already.
pub(crate) fn ensure_started(hub: &Arc<Hub>) -> io::Result<()> {
    let _starting = hub.starting.lock_unpoisoned();
    if hub.lock().reading.running() {
        return Ok(());
    }
    let serving = Arc::clone(hub);
    let limit = hub.config.max_message_size;
    // The receiver set is made on the hub thread, which holds it first.
    let (started_tx, started_rx) = mpsc::channel();
    thread::Builder::new()
        .name("transport-queue-hub".into())
        .spawn(move || match HubSet::new(limit) {
            Ok((set, handle)) => {
                let _ = started_tx.send(Ok(handle));
                transport_core::event!(DEBUG, "queue hub thread started");
                serve(&serving, set);
                transport_core::event!(DEBUG, "queue hub thread stopped");
            }
            Err(e) => {
                let _ = started_tx.send(Err(e));
            }
        })?;
    let handle = started_rx
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("the hub thread did not start")))?;
    hub.lock().reading.started(handle);
    Ok(())
}

/// Tells whoever waits on the members' channels to check whether the hub
/// is still needed.
pub(crate) fn wake(hub: &Hub) {
    let ctl = hub.lock().reading.ctl();
    hub.signals.hub.notify_all();
    if let Some(ctl) = ctl {
        ctl.wake();
    }
}

/// Adds the member a child of this process opened.
pub(crate) fn adopt(hub: &Hub, new: NewMember) -> io::Result<()> {
    let NewMember { up, down, role } = new;
    let outbox = Outbox::start(down)?;
    if role.receives() {
        hub.member_gets();
    }
    let mut st = hub.lock();
    let added = st.add_member(role, Arc::clone(&outbox));
    let ctl = st.reading.ctl();
    drop(st);
    let key = match added {
        Ok(key) => key,
        Err(reason) => {
            outbox.refuse(reason.clone());
            return Err(io::Error::other(reason));
        }
    };
    let sent = match ctl {
        Some(ctl) => ctl.add(key, up),
        None => Err(io::Error::other("the hub thread is not running")),
    };
    if let Err(e) = sent {
        hub.lock().remove_member(key, &hub.signals);
        return Err(e);
    }
    Ok(())
}

/// The hub thread: waits on the set whenever no local get does, and stops
/// when no handle is left anywhere (or the set failed).
fn serve(hub: &Hub, first: HubSet) {
    let mut held = Some(first);
    let mut st = hub.lock();
    loop {
        let Some((guard, mut set)) = take_set(hub, st, &mut held) else {
            return;
        };
        drop(guard);
        let results = set.select(Wait::Forever);
        st = hub.lock();
        match results {
            Some(Ok(events)) => apply(hub, &mut st, &mut set, events),
            // The set itself failed: nothing can be served any more.
            // Dropping it closes every member's channels, so they all see
            // the queue as gone.
            _ => {
                st.reading.fail();
                continue;
            }
        }
        held = offer_to_gets(&mut st, set);
        // Unlock before waiting again: replies leave from this thread.
        drop(st);
        st = hub.lock();
    }
}

/// The hub thread waits until it may hold the set (it holds it already,
/// or takes it back from local gets): `None` when it must stop.
fn take_set<'a>(
    hub: &'a Hub,
    mut st: LockedState<'a>,
    held: &mut Option<HubSet>,
) -> Option<(LockedState<'a>, HubSet)> {
    loop {
        if st.abandoned() || st.reading.failed() {
            st.reading.stopped();
            return None;
        }
        if let Some(set) = held.take() {
            return Some((st, set));
        }
        match st.reading.next() {
            Next::Take => {
                if let Some(set) = st.reading.take_for_hub() {
                    return Some((st, set));
                }
            }
            Next::WaitUntil(until) => {
                st = hub
                    .wait(st, &hub.signals.hub, Wait::Until(until))
                    .unwrap_or_else(|| hub.lock());
            }
            Next::Park => {
                st.reading.set_hub_parked(true);
                st = hub
                    .wait(st, &hub.signals.hub, Wait::Forever)
                    .unwrap_or_else(|| hub.lock());
                st.reading.set_hub_parked(false);
            }
        }
    }
}

/// After the hub thread applied what it read: if local gets were just
/// given items, their next wait may take the set (where it may move
/// between threads). Returns the set if the hub thread keeps it.
fn offer_to_gets(st: &mut LockedState<'_>, set: HubSet) -> Option<HubSet> {
    if st.local_getters == 0 || st.items.is_empty() {
        return Some(set);
    }
    match sys::movable(set) {
        Ok(movable) => {
            st.reading.hand_to_gets(movable);
            None
        }
        Err(set) => Some(set),
    }
}

/// A local get about to wait: if the set is free, waits on it (as `wait`
/// allows) until an item or the end is there, applying what members send.
/// Returns at once, doing nothing, if the set is taken.
pub(crate) fn wait_on_members<'a>(hub: &'a Hub, mut st: LockedState<'a>, wait: Wait) -> LockedState<'a> {
    let Some(mut movable) = st.reading.take_for_get() else {
        return st;
    };
    st.local_getters += 1;
    loop {
        st.reading.get_waits();
        drop(st);
        let results = movable.get_mut().select(wait);
        st = hub.lock();
        st.reading.get_applies();
        match results {
            Some(Ok(events)) => apply(hub, &mut st, movable.get_mut(), events),
            None => {}
            Some(Err(_)) => {
                // Dropping the set closes every member's channels.
                st.reading.fail();
                st.local_getters -= 1;
                #[allow(
                    clippy::drop_non_drop,
                    reason = "closes the members' channels on Unix; nothing to close on Windows"
                )]
                drop(movable);
                hub.signals.hub.notify_all();
                return st;
            }
        }
        if !st.items.is_empty() || st.drained() || wait.expired() {
            break;
        }
    }
    st.local_getters -= 1;
    give_back(hub, &mut st, movable);
    st
}

/// The local get gives the set back: kept for this process's next get,
/// unless something else here waits for members (then the hub thread
/// takes it now).
fn give_back(hub: &Hub, st: &mut LockedState<'_>, movable: sys::MovableSet) {
    st.reading.give_back(movable);
    if st.others_wait() {
        st.reading.end_grace();
        hub.signals.hub.notify_all();
    } else {
        st.reading.get_returned();
        if st.reading.hub_parked() {
            hub.signals.hub.notify_all();
        }
    }
}

/// Applies what the set gave.
fn apply(hub: &Hub, st: &mut LockedState<'_>, set: &mut HubSet, events: Vec<Event>) {
    for event in events {
        match event {
            Event::Woken => {}
            Event::Request {
                req: Request {
                    up: Up::Adopt(new), ..
                },
                ..
            } => adopt_here(hub, st, set, new),
            Event::Request {
                key,
                req: Request { read, took, up },
            } => st.request(key, read, took, up, &hub.signals),
            Event::Broken { key, why } => st.drop_member(key, why, &hub.signals),
            Event::Closed { key } => st.remove_member(key, &hub.signals),
        }
    }
    // Members dropped for breaking the protocol are no longer read.
    for key in std::mem::take(&mut st.dropped) {
        set.forget(key);
    }
}

/// Adds a member while holding the set (a grandchild, adopted through its
/// parent member).
fn adopt_here(hub: &Hub, st: &mut LockedState<'_>, set: &mut HubSet, new: NewMember) {
    let NewMember { up, down, role } = new;
    let Ok(outbox) = Outbox::start(down) else {
        return;
    };
    if role.receives() {
        hub.member_gets();
    }
    match st.add_member(role, Arc::clone(&outbox)) {
        Ok(key) => {
            if set.add(key, up).is_err() {
                st.remove_member(key, &hub.signals);
            }
        }
        Err(reason) => outbox.refuse(reason),
    }
}
