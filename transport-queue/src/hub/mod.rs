//! The hub: the queue's state in the creating process, and the threads
//! that serve handles in other processes.
//!
//! Local handles lock the state and work on it directly. From the first
//! hand-off on, every member's `up` channel sits in one ipc-channel receiver
//! set; whoever holds the set waits on all of them at once and applies the
//! requests: the hub thread, or a local get that would wait anyway
//! ([`lead`]). The hub thread stops when no handle is left anywhere.

mod guard;
mod lead;
mod outbox;
mod state;

use std::{
    sync::{Arc, Mutex, PoisonError},
    thread,
};

use ipc_channel::ipc::{self, IpcReceiverSet};

pub(crate) use guard::Locked;
pub(crate) use lead::{HubSet, Lead};
pub(crate) use outbox::Outbox;
pub(crate) use state::{Signals, State};

use crate::{
    config::Config,
    wire::{Ctl, JoinRequest},
};

/// A queue, as its creating process holds it.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    pub(crate) signals: Signals,
    pub(crate) config: Config,
    /// Held while the hub thread is being started.
    starting: Mutex<()>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State::new(config)),
            signals: Signals::default(),
            config,
            starting: Mutex::new(()),
        })
    }

    /// Locks the state. It is consistent at every unlock, so a panic
    /// elsewhere while it was held leaves nothing to repair.
    pub(crate) fn lock(&self) -> Locked<'_> {
        Locked::new(self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Starts the hub thread unless it runs already.
    pub(crate) fn ensure_hub(self: &Arc<Self>) -> std::io::Result<()> {
        let _starting = self.starting.lock().unwrap_or_else(PoisonError::into_inner);
        if self.lock().lead.running() {
            return Ok(());
        }
        let (ctl_tx, ctl_rx) = ipc::channel::<Ctl>()?;
        let shared = Arc::clone(self);
        // The receiver set is made on the hub thread, which holds it first.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        thread::Builder::new()
            .name("transport-queue-hub".into())
            .spawn(move || {
                let set = IpcReceiverSet::new().and_then(|mut set| {
                    let ctl_id = set.add(ctl_rx)?;
                    Ok(lead::HubSet::new(set, ctl_id))
                });
                match set {
                    Ok(set) => {
                        let _ = started_tx.send(Ok(()));
                        shared.serve(set);
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                }
            })?;
        started_rx
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the hub thread did not start")))?;
        self.lock().lead.started(ctl_tx);
        Ok(())
    }

    /// Tells whoever waits on the members' channels to check whether the
    /// hub is still needed.
    pub(crate) fn wake_hub(&self) {
        let ctl = self.lock().lead.ctl();
        self.signals.hub.notify_all();
        if let Some(ctl) = ctl {
            let _ = ctl.send(Ctl::Wake);
        }
    }

    /// Adds the member a child of this process opened.
    pub(crate) fn adopt(&self, req: JoinRequest) -> std::io::Result<()> {
        let JoinRequest { up, down, role } = req;
        let outbox = Outbox::start(down)?;
        let mut st = self.lock();
        let key = st.add_member(role, outbox);
        let ctl = st.lead.ctl();
        drop(st);
        let sent = match ctl {
            Some(ctl) => ctl.send(Ctl::Add { key, up }).map_err(std::io::Error::other),
            None => Err(std::io::Error::other("the hub thread is not running")),
        };
        if let Err(e) = sent {
            self.lock().remove_member(key, &self.signals);
            return Err(e);
        }
        Ok(())
    }
}
