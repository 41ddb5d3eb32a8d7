//! The hub's receiver set where ipc-channel reads members' bytes itself
//! (every platform but Linux): an ipc-channel receiver set with the
//! members' `up` channels and a control channel.
//!
//! ipc-channel's platform code trusts the framing of what it reads, and
//! its deserialization panics on a channel index past those that came;
//! here a panic in either is caught: in decoding it drops that member, in
//! the set's own reading it ends the set (every member is dropped, the
//! creating process carries on and its gets see the queue as gone). What
//! ipc-channel does not panic on (a reader blocked by a lying fragment
//! header, an allocation past the memory) is out of this crate's reach on
//! these platforms.

use std::{
    collections::{HashMap, HashSet},
    io,
    panic::{AssertUnwindSafe, catch_unwind},
};

use ipc_channel::{
    TrySelectError,
    ipc::{self, IpcMessage, IpcReceiver, IpcReceiverSet, IpcSelectionResult, IpcSender},
};
use serde::{Deserialize, Serialize};
use transport_core::Wait;

use crate::{
    sys::api::{DownSender, Event, HubRequest, NewMember, UpChannel},
    wire::{Request, Violation},
};

/// Creator-local control messages to the hub thread.
#[derive(Serialize, Deserialize, Debug)]
enum Ctl {
    /// Start reading a member's `up` channel.
    Add { key: u64, up: IpcReceiver<Request> },
    /// Something changed: check whether the hub is still needed.
    Wake,
}

/// The set: the control channel and every member's `up` channel.
pub(crate) struct HubSet {
    set: IpcReceiverSet,
    ctl_id: u64,
    /// Set ids of members' channels, and their members.
    keys: HashMap<u64, u64>,
    /// Members no longer read (ipc-channel cannot take a channel out of a
    /// set): what they send is dropped.
    forgotten: HashSet<u64>,
}

/// Wakes the set's holder, and hands it new members' channels.
#[derive(Clone, Debug)]
pub(crate) struct SetHandle(IpcSender<Ctl>);

impl SetHandle {
    /// Wakes whoever waits on the set; false if the set is gone.
    pub(crate) fn wake(&self) -> bool {
        self.0.send(Ctl::Wake).is_ok()
    }

    /// Has the set read member `key`'s channel.
    pub(crate) fn add(&self, key: u64, up: UpChannel) -> io::Result<()> {
        self.0
            .send(Ctl::Add { key, up })
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

impl HubSet {
    /// A new set, made on the thread that holds it first.
    pub(crate) fn new(_max_message: usize) -> io::Result<(HubSet, SetHandle)> {
        let (tx, rx) = ipc::channel::<Ctl>()?;
        let mut set = IpcReceiverSet::new()?;
        let ctl_id = set.add(rx)?;
        Ok((
            HubSet {
                set,
                ctl_id,
                keys: HashMap::new(),
                forgotten: HashSet::new(),
            },
            SetHandle(tx),
        ))
    }

    /// Reads member `key`'s channel from now on.
    pub(crate) fn add(&mut self, key: u64, up: UpChannel) -> io::Result<()> {
        let id = self.set.add(up)?;
        self.keys.insert(id, key);
        Ok(())
    }

    /// Stops reading member `key`'s channel.
    pub(crate) fn forget(&mut self, key: u64) {
        if let Some((&id, _)) = self.keys.iter().find(|&(_, &k)| k == key) {
            self.keys.remove(&id);
            self.forgotten.insert(id);
        }
    }

    /// Waits at most as long as `wait` allows: `None` when the wait ran
    /// out.
    pub(crate) fn select(&mut self, wait: Wait) -> Option<io::Result<Vec<Event>>> {
        let selected = catch_unwind(AssertUnwindSafe(|| match wait.remaining() {
            None => Some(self.set.select()),
            Some(left) => match self.set.try_select_timeout(left) {
                Ok(results) => Some(Ok(results)),
                Err(TrySelectError::Empty) => None,
                Err(TrySelectError::IoError(e)) => Some(Err(e)),
            },
        }));
        let results = match selected {
            Ok(Some(Ok(results))) => results,
            Ok(None) => return None,
            Ok(Some(Err(e))) => return Some(Err(e)),
            Err(_) => return Some(Err(io::Error::other("reading the members' channels panicked"))),
        };
        let mut events = Vec::with_capacity(results.len());
        for result in results {
            match result {
                IpcSelectionResult::MessageReceived(id, msg) if id == self.ctl_id => match msg.to::<Ctl>() {
                    Ok(Ctl::Add { key, up }) => match self.add(key, up) {
                        Ok(()) => {}
                        Err(_) => events.push(Event::Closed { key }),
                    },
                    Ok(Ctl::Wake) | Err(_) => events.push(Event::Woken),
                },
                IpcSelectionResult::MessageReceived(id, msg) => {
                    let Some(&key) = self.keys.get(&id) else { continue };
                    match decode(msg) {
                        Ok(req) => events.push(Event::Request { key, req }),
                        Err(why) => {
                            self.forget(key);
                            events.push(Event::Broken { key, why });
                        }
                    }
                }
                IpcSelectionResult::ChannelClosed(id) => {
                    self.forgotten.remove(&id);
                    if let Some(key) = self.keys.remove(&id) {
                        events.push(Event::Closed { key });
                    }
                }
            }
        }
        Some(Ok(events))
    }
}

/// Decodes a member's message, behind a boundary that turns a panic in
/// ipc-channel's deserialization into a violation.
fn decode(msg: IpcMessage) -> Result<HubRequest, Violation> {
    let req = catch_unwind(AssertUnwindSafe(|| msg.to::<Request>()))
        .map_err(|_| Violation::new("a message that made ipc-channel panic"))?
        .map_err(|e| Violation::new(format!("a request that does not decode: {e}")))?;
    let Request { read, took, up } = req;
    let up = up.try_map(
        |join| {
            Ok::<_, Violation>(NewMember {
                up: join.up,
                down: DownSender(join.down),
                role: join.role,
            })
        },
        |no| match no {},
    )?;
    Ok(Request { read, took, up })
}
