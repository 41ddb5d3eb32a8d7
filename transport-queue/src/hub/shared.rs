//! [`Hub`]: a queue as its creating process holds it: the state behind
//! its lock, the condition variables local handles wait on, and its
//! settings. The threads that serve members are in [`super::serve`].

use std::sync::{Arc, Mutex};

use transport_core::sync::LockExt;

use super::{
    locked::LockedState,
    state::{Signals, State},
};
use crate::config::Config;

/// A queue, as its creating process holds it.
#[derive(Debug)]
pub(crate) struct Hub {
    state: Mutex<State>,
    pub(crate) signals: Signals,
    pub(crate) config: Config,
    /// Held while the hub thread is being started.
    pub(super) starting: Mutex<()>,
}

impl Hub {
    pub(crate) fn new(config: Config) -> Arc<Hub> {
        Arc::new(Hub {
            state: Mutex::new(State::new(config)),
            signals: Signals::default(),
            config,
            starting: Mutex::new(()),
        })
    }

    /// Locks the state. It is consistent at every unlock, so a panic
    /// elsewhere while it was held leaves nothing to repair.
    pub(crate) fn lock(&self) -> LockedState<'_> {
        LockedState::new(self.state.lock_unpoisoned())
    }

    /// Waits on `cv` as `wait` allows (see [`LockedState::wait`]).
    pub(crate) fn wait<'a>(
        &'a self,
        st: LockedState<'a>,
        cv: &std::sync::Condvar,
        wait: transport_core::Wait,
    ) -> Option<LockedState<'a>> {
        st.wait(&self.state, cv, wait)
    }
}
