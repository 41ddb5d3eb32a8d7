//! The bridge: one thread per member process that reads, all at once, the
//! `down` channels of the members async tasks wait on, so that no thread
//! has to be blocked per member or per message.
//!
//! A member's channel comes here the first time an async task waits on it
//! (on Windows, where a channel read directly cannot move here later, when
//! the member opens: see [`crate::sys`]) and stays until the hub closes it
//! (the member left, or the hub's process died). The thread hands what it
//! reads to the member's [`Recipient`] (its inbox), which files it exactly
//! as a leading thread of the member would and wakes its threads and tasks. It
//! starts with the first channel and stops when the last one closes, so a
//! process with no async waiter (on Windows: no member) has no bridge. If
//! the thread ends otherwise (its receiver set failed, or it panicked),
//! every member it read for learns at once that the hub is out of reach.

use std::{
    collections::HashMap,
    io,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    thread,
};

use transport_core::sync::LockExt;

use crate::sys::{Delivered, DownReceiver, DownSet, DownSetCtl, SetEvent};

/// Whom the bridge gives what it reads from one member's channel.
pub(crate) trait Recipient: Send + Sync {
    /// A message from the hub.
    fn deliver(&self, delivered: Delivered);
    /// The channel closed (or cannot be read): the hub is gone.
    fn lost(&self);
}

/// The running bridge of this process, if any.
static BRIDGE: Mutex<Option<Bridge>> = Mutex::new(None);

/// Numbers the bridges this process started.
static STARTED: AtomicU64 = AtomicU64::new(0);

/// How the rest of the process reaches the bridge thread.
struct Bridge {
    /// Which bridge this is (of those this process started).
    id: u64,
    /// Carries channels to the thread (and wakes it from its wait).
    ctl: DownSetCtl,
    /// Channels given to the thread and not closed yet.
    watched: usize,
    /// The recipients of channels on their way to the thread, by token.
    arriving: HashMap<u64, Arc<dyn Recipient>>,
    next_token: u64,
}

fn slot() -> MutexGuard<'static, Option<Bridge>> {
    BRIDGE.lock_unpoisoned()
}

/// Has the bridge read `down` for `recipient` from now on, starting the
/// thread if it is not running. On failure the channel comes back when it
/// was not handed over yet.
pub(crate) fn watch(
    recipient: Arc<dyn Recipient>,
    down: DownReceiver,
) -> Result<(), (io::Error, Option<DownReceiver>)> {
    let mut slot = slot();
    let bridge = match &mut *slot {
        Some(bridge) => bridge,
        empty => match start() {
            Ok(bridge) => empty.insert(bridge),
            Err(e) => return Err((e, Some(down))),
        },
    };
    let token = bridge.next_token;
    bridge.next_token += 1;
    bridge.arriving.insert(token, recipient);
    bridge.watched += 1;
    if let Err((e, _)) = bridge.ctl.add(token, down) {
        // The thread is gone; the next watch starts another.
        *slot = None;
        return Err((e, None));
    }
    Ok(())
}

fn start() -> io::Result<Bridge> {
    let id = STARTED.fetch_add(1, Ordering::Relaxed);
    // The set is made on its own thread: on Windows it holds handles that
    // may not move between threads.
    let (started_tx, started_rx) = mpsc::channel();
    thread::Builder::new()
        .name("transport-queue-bridge".into())
        .spawn(move || match DownSet::new() {
            Ok((set, ctl)) => {
                let _ = started_tx.send(Ok(ctl));
                transport_core::event!(DEBUG, bridge = id, "queue bridge thread started");
                run(id, set);
                transport_core::event!(DEBUG, bridge = id, "queue bridge thread stopped");
            }
            Err(e) => {
                let _ = started_tx.send(Err(e));
            }
        })?;
    let ctl = started_rx
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("the bridge thread did not start")))?;
    Ok(Bridge {
        id,
        ctl,
        watched: 0,
        arriving: HashMap::new(),
        next_token: 0,
    })
}

/// Counts one watched channel as closed; true when it was the last, and the
/// bridge is then gone (the thread must stop).
fn closed_one() -> bool {
    let mut slot = slot();
    let Some(bridge) = slot.as_mut() else { return true };
    bridge.watched = bridge.watched.saturating_sub(1);
    if bridge.watched == 0 {
        *slot = None;
        return true;
    }
    false
}

/// The members the thread reads for. Dropped when the thread ends: on a
/// normal stop there are none; otherwise (the set failed, a panic) each of
/// them, and each on its way, is told that nothing reads its channel now.
struct Readers {
    bridge: u64,
    recipients: HashMap<u64, Arc<dyn Recipient>>,
}

impl Drop for Readers {
    fn drop(&mut self) {
        // The channels on their way belong to this bridge only while it is
        // the running one. (Recipients are locked after the slot is
        // released: `watch` runs with an inbox locked and then takes the
        // slot.)
        let arriving = {
            let mut slot = slot();
            match slot.as_ref() {
                Some(b) if b.id == self.bridge => slot.take().map(|b| b.arriving).unwrap_or_default(),
                _ => HashMap::new(),
            }
        };
        for recipient in self.recipients.values().chain(arriving.values()) {
            recipient.lost();
        }
    }
}

/// The bridge thread.
fn run(bridge: u64, mut set: DownSet) {
    let mut readers = Readers {
        bridge,
        recipients: HashMap::new(),
    };
    let recipients = &mut readers.recipients;
    loop {
        // If the set fails, nothing can be read any more: `readers` tells
        // every member as the thread ends.
        let Ok(events) = set.select() else { return };
        for event in events {
            match event {
                SetEvent::Added { token, id } => {
                    let recipient = slot().as_mut().and_then(|b| b.arriving.remove(&token));
                    if let Some(recipient) = recipient {
                        recipients.insert(id, recipient);
                    }
                }
                SetEvent::AddFailed { token } => {
                    let recipient = slot().as_mut().and_then(|b| b.arriving.remove(&token));
                    if let Some(recipient) = recipient {
                        recipient.lost();
                        if closed_one() {
                            return;
                        }
                    }
                }
                SetEvent::Message { id, delivered } => {
                    if let Some(recipient) = recipients.get(&id) {
                        recipient.deliver(delivered);
                    }
                }
                SetEvent::Closed { id } => {
                    if let Some(recipient) = recipients.remove(&id) {
                        recipient.lost();
                        if closed_one() {
                            return;
                        }
                    }
                }
            }
        }
    }
}
