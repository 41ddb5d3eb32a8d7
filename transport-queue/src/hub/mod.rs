//! The hub: the queue's state in the creating process, and the threads
//! that serve handles in other processes.
//!
//! Local handles lock the state and work on it directly. From the first
//! hand-off on, every member's `up` channel sits in one ipc-channel receiver
//! set; whoever holds the set waits on all of them at once and applies the
//! requests: the hub thread, or a local get that would wait anyway
//! ([`lead`]). The hub thread stops when no handle is left anywhere.

// Only Linux reads members' bytes itself; the decoder is built (and
// tested, and fuzzed) everywhere.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) mod decode;
mod guard;
mod lead;
mod member;
mod outbox;
mod state;

use std::{
    sync::{Arc, Mutex, PoisonError},
    thread,
};

pub(crate) use guard::Locked;
pub(crate) use lead::Lead;
pub(crate) use member::Violation;
pub(crate) use outbox::Outbox;
pub(crate) use state::{Signals, State};

use crate::{
    config::Config,
    sys::{HubSet, NewMember},
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
        let shared = Arc::clone(self);
        let limit = self.config.max_message_size;
        // The receiver set is made on the hub thread, which holds it first.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        thread::Builder::new()
            .name("transport-queue-hub".into())
            .spawn(move || match HubSet::new(limit) {
                Ok((set, handle)) => {
                    let _ = started_tx.send(Ok(handle));
                    shared.serve(set);
                }
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                }
            })?;
        let handle = started_rx
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the hub thread did not start")))?;
        self.lock().lead.started(handle);
        Ok(())
    }

    /// Tells whoever waits on the members' channels to check whether the
    /// hub is still needed.
    pub(crate) fn wake_hub(&self) {
        let ctl = self.lock().lead.ctl();
        self.signals.hub.notify_all();
        if let Some(ctl) = ctl {
            ctl.wake();
        }
    }

    /// Adds the member a child of this process opened.
    pub(crate) fn adopt(&self, new: NewMember) -> std::io::Result<()> {
        let NewMember { up, down, role } = new;
        let outbox = Outbox::start(down)?;
        let mut st = self.lock();
        let added = st.add_member(role, Arc::clone(&outbox));
        let ctl = st.lead.ctl();
        drop(st);
        let key = match added {
            Ok(key) => key,
            Err(reason) => {
                outbox.refuse(reason.clone());
                return Err(std::io::Error::other(reason));
            }
        };
        let sent = match ctl {
            Some(ctl) => ctl.add(key, up),
            None => Err(std::io::Error::other("the hub thread is not running")),
        };
        if let Err(e) = sent {
            self.lock().remove_member(key, &self.signals);
            return Err(e);
        }
        Ok(())
    }
}
