//! [`Hub`]: a queue as its creating process holds it: the state behind
//! its lock, the condition variables local handles wait on, and its
//! settings. The threads that serve members are in [`super::serve`].

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use transport_core::{Fill, RawSendError, fill_aligned, sync::LockExt};

use super::{
    locked::LockedState,
    state::{Signals, State},
};
use crate::{
    config::Config,
    sys::{Produced, SlabPool, SlabReader},
};

/// A queue, as its creating process holds it.
#[derive(Debug)]
pub(crate) struct Hub {
    state: Mutex<State>,
    pub(crate) signals: Signals,
    pub(crate) config: Config,
    /// Held while the hub thread is being started.
    pub(super) starting: Mutex<()>,
    /// This process's slabs for large items, where it has them.
    pool: Option<Arc<SlabPool>>,
    /// Whether a member that may get ever joined: only then do large items
    /// put here go into slabs (a get in this process copies them out).
    members_get: AtomicBool,
    /// Copies members' shared items out, for gets in this process.
    pub(crate) reader: Mutex<SlabReader>,
}

impl Hub {
    pub(crate) fn new(config: Config) -> Arc<Hub> {
        let pool = SlabPool::new(config.max_message_size).map(Arc::new);
        Arc::new(Hub {
            state: Mutex::new(State::new(config, pool.clone())),
            signals: Signals::default(),
            config,
            starting: Mutex::new(()),
            pool,
            members_get: AtomicBool::new(false),
            #[allow(
                clippy::default_constructed_unit_structs,
                reason = "a unit struct on Windows only, where members have no slabs"
            )]
            reader: Mutex::new(SlabReader::default()),
        })
    }

    /// A member that may get joined.
    pub(crate) fn member_gets(&self) {
        self.members_get.store(true, Ordering::Relaxed);
    }

    /// Has `fill` write an item: into a slab if it is large and a member
    /// may take it, into bytes of its own otherwise.
    pub(crate) fn produce(&self, fill: &mut Fill<'_>) -> Result<Produced, RawSendError> {
        let limit = self.config.max_message_size;
        match &self.pool {
            Some(pool) if self.members_get.load(Ordering::Relaxed) => pool.produce(limit, fill),
            _ => fill_aligned(limit, fill).map(Produced::Inline),
        }
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
