//! The hub: the queue's state in the creating process, and the thread that
//! serves handles in other processes.
//!
//! Local handles lock the state and work on it directly. The hub thread
//! starts at the first hand-off; it waits on every member's `up` channel
//! at once (an ipc-channel receiver set), applies their requests, and stops
//! when no handle is left anywhere.

mod guard;
mod outbox;
mod state;

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    thread,
};

use ipc_channel::ipc::{self, IpcReceiverSet, IpcSelectionResult, IpcSender};

pub(crate) use guard::Locked;
pub(crate) use outbox::Outbox;
pub(crate) use state::{Signals, State};

use crate::{
    config::Config,
    wire::{Ctl, JoinRequest, Up},
};

/// A queue, as its creating process holds it.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    pub(crate) signals: Signals,
    pub(crate) config: Config,
    /// The hub thread's control channel, once the thread runs.
    hub: Mutex<Option<IpcSender<Ctl>>>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State::new(config)),
            signals: Signals::default(),
            config,
            hub: Mutex::new(None),
        })
    }

    /// Locks the state. It is consistent at every unlock, so a panic
    /// elsewhere while it was held leaves nothing to repair.
    pub(crate) fn lock(&self) -> Locked<'_> {
        Locked::new(self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn hub(&self) -> MutexGuard<'_, Option<IpcSender<Ctl>>> {
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the hub thread unless it runs already.
    pub(crate) fn ensure_hub(self: &Arc<Self>) -> std::io::Result<()> {
        let mut hub = self.hub();
        if hub.is_some() {
            return Ok(());
        }
        let (ctl_tx, ctl_rx) = ipc::channel::<Ctl>()?;
        let shared = Arc::clone(self);
        // The receiver set is made on the hub thread: on Windows it holds
        // handles that may not move between threads.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        thread::Builder::new()
            .name("transport-queue-hub".into())
            .spawn(move || {
                let set = IpcReceiverSet::new().and_then(|mut set| {
                    let ctl_id = set.add(ctl_rx)?;
                    Ok((set, ctl_id))
                });
                match set {
                    Ok((set, ctl_id)) => {
                        let _ = started_tx.send(Ok(()));
                        shared.serve(set, ctl_id);
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                }
            })?;
        started_rx
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the hub thread did not start")))?;
        *hub = Some(ctl_tx);
        Ok(())
    }

    /// Tells the hub thread to check whether it is still needed.
    pub(crate) fn wake_hub(&self) {
        if let Some(ctl) = self.hub().as_ref() {
            let _ = ctl.send(Ctl::Wake);
        }
    }

    /// Adds the member a child of this process opened.
    pub(crate) fn adopt(&self, req: JoinRequest) -> std::io::Result<()> {
        let JoinRequest { up, down, role } = req;
        let outbox = Outbox::start(down)?;
        let key = self.lock().add_member(role, outbox);
        let sent = match self.hub().as_ref() {
            Some(ctl) => ctl.send(Ctl::Add { key, up }).map_err(std::io::Error::other),
            None => Err(std::io::Error::other("the hub thread is not running")),
        };
        if let Err(e) = sent {
            self.lock().remove_member(key, &self.signals);
            return Err(e);
        }
        Ok(())
    }

    /// The hub thread.
    fn serve(self: Arc<Self>, mut set: IpcReceiverSet, ctl_id: u64) {
        loop {
            let Ok(results) = set.select() else {
                // The receiver set itself failed: nothing can be served any
                // more. Dropping it closes every member's channels, so they
                // all see the queue as gone.
                break;
            };
            let mut st = self.lock();
            for result in results {
                match result {
                    IpcSelectionResult::MessageReceived(id, msg) if id == ctl_id => {
                        if let Ok(Ctl::Add { key, up }) = msg.to::<Ctl>() {
                            match set.add(up) {
                                Ok(set_id) => {
                                    st.set_keys.insert(set_id, key);
                                }
                                Err(_) => st.remove_member(key, &self.signals),
                            }
                        }
                    }
                    IpcSelectionResult::MessageReceived(id, msg) => {
                        let Some(&key) = st.set_keys.get(&id) else {
                            continue;
                        };
                        // A message that does not decode is not from this
                        // crate's protocol: it is ignored.
                        match msg.to::<Up>() {
                            Ok(Up::Adopt(req)) => self.adopt_here(&mut st, &mut set, req),
                            Ok(up) => st.request(key, up, &self.signals),
                            Err(_) => {}
                        }
                    }
                    IpcSelectionResult::ChannelClosed(id) => {
                        if let Some(key) = st.set_keys.remove(&id) {
                            st.remove_member(key, &self.signals);
                        }
                    }
                }
            }
            if st.abandoned() {
                break;
            }
        }
        *self.hub() = None;
    }

    /// Adds a member on the hub thread (a grandchild, adopted through its
    /// parent member).
    fn adopt_here(&self, st: &mut State, set: &mut IpcReceiverSet, req: JoinRequest) {
        let JoinRequest { up, down, role } = req;
        let Ok(outbox) = Outbox::start(down) else { return };
        let key = st.add_member(role, outbox);
        match set.add(up) {
            Ok(set_id) => {
                st.set_keys.insert(set_id, key);
            }
            Err(_) => st.remove_member(key, &self.signals),
        }
    }
}
