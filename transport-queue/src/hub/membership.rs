//! [`Membership`]: what the hub (in the creating process) knows of one
//! member (a handle in another process), and the limits that bound what
//! one member can make the hub hold.
//!
//! A member is another process of the same user; it may be buggy or
//! hostile. Whatever it asks, the hub keeps at most:
//! - [`MAX_PENDING`] requests waiting for something (a put parked on a full
//!   queue, with its frame, and joins), and one watch for room;
//! - [`MAX_SLABS`] of its slabs (shared items it put, in the queue or on
//!   their way to a consumer), a descriptor each;
//! - as many items as it may prefetch ([`Membership::prefetch`]), on their way
//!   to it or held there; on a bounded queue they count against the
//!   capacity until the member says its gets took them;
//! - [`MAX_BACKLOG`](super::outbox::MAX_BACKLOG) messages it has not read
//!   yet.
//!
//! A member that asks for more, reports what cannot be, or gives back what
//! it was never given has broken the protocol ([`Violation`]): the hub
//! drops it, as if it had died.

use std::sync::Arc;

use super::outbox::Outbox;
use crate::{
    sys::MAX_SLABS,
    wire::{Role, Violation},
};

/// Requests of one member that wait at the hub at once, at most: puts
/// parked on a full queue and joins. A member process keeps its own
/// threads within this (they wait in that process for a slot).
pub(crate) const MAX_PENDING: usize = 32;

/// What the hub knows of one member.
#[derive(Debug)]
pub(crate) struct Membership {
    pub(crate) role: Role,
    /// How many more items it asked for.
    pub(crate) credit: u32,
    /// How many items it may hold ahead of its gets (told in its welcome).
    pub(crate) prefetch: u32,
    pub(crate) outbox: Arc<Outbox>,
    /// Items sent to it and not given back: what is left over (less what
    /// it marked done) when it dies no longer counts against `join`.
    pub(crate) taken: u64,
    /// Of those, how many its gets took, as it last said.
    pub(crate) took: u64,
    pub(crate) done: u64,
    /// Its parked puts and joins.
    pub(crate) pending: usize,
    /// Whether it waits for room.
    pub(crate) watching: bool,
    /// Its slabs the hub holds or lent to a consumer (its shared items in
    /// the queue, parked, or not yet copied out).
    pub(crate) slabs: usize,
}

impl Membership {
    pub(crate) fn new(role: Role, prefetch: u32, outbox: Arc<Outbox>) -> Self {
        Membership {
            role,
            credit: 0,
            prefetch,
            outbox,
            taken: 0,
            took: 0,
            done: 0,
            pending: 0,
            watching: false,
            slabs: 0,
        }
    }

    /// Whether the items it holds count against a bounded queue's capacity:
    /// a member that prefetches holds items no get waits for yet. (An item
    /// handed to a member that takes one at a time goes to a get waiting
    /// for it: it has left the queue.)
    pub(crate) fn counts_held(&self) -> bool {
        self.prefetch > 1
    }

    /// Items sent to it that its gets have not taken, as far as the hub
    /// knows.
    pub(crate) fn held(&self) -> u64 {
        self.taken - self.took
    }

    /// What of [`held`](Self::held) counts against the capacity.
    pub(crate) fn counted(&self) -> u64 {
        if self.counts_held() { self.held() } else { 0 }
    }

    /// Takes the member's count of items its gets took.
    pub(crate) fn report(&mut self, took: u64) -> Result<(), Violation> {
        if took < self.took || took > self.taken {
            return Err(Violation::new(format!(
                "it said its gets took {took} items, after {} of the {} it was given",
                self.took, self.taken
            )));
        }
        self.took = took;
        Ok(())
    }

    /// Checks that the member may give back `n` items.
    pub(crate) fn check_return(&self, n: usize) -> Result<(), Violation> {
        if n as u64 > self.held() {
            return Err(Violation::new(format!(
                "it gave back {n} items while it held {}",
                self.held()
            )));
        }
        Ok(())
    }

    /// Takes a slot for a request that waits at the hub.
    pub(crate) fn take_slot(&mut self) -> Result<(), Violation> {
        if self.pending >= MAX_PENDING {
            return Err(Violation::new(format!(
                "it has more than {MAX_PENDING} requests waiting at once"
            )));
        }
        self.pending += 1;
        Ok(())
    }

    /// Counts one more of its slabs held by the hub: at most
    /// [`MAX_SLABS`], as many as a member of this crate has.
    #[allow(
        clippy::absurd_extreme_comparisons,
        reason = "MAX_SLABS is 0 where members have no slabs (Windows): every slab is refused"
    )]
    pub(crate) fn take_slab(&mut self) -> Result<(), Violation> {
        if self.slabs >= MAX_SLABS {
            return Err(Violation::new(format!(
                "it has more than {MAX_SLABS} shared items out at once"
            )));
        }
        self.slabs += 1;
        Ok(())
    }

    /// Frees a slot taken by [`take_slot`](Self::take_slot).
    pub(crate) fn free_slot(&mut self) {
        self.pending = self.pending.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(prefetch: u32) -> Membership {
        let (_up, _down, hub_ends) = crate::sys::member_channels().expect("channels");
        Membership::new(
            Role::Recv,
            prefetch,
            Outbox::start(hub_ends.down_sender()).expect("an outbox"),
        )
    }

    #[test]
    fn reports_must_be_possible() {
        let mut m = member(8);
        m.taken = 5;
        m.report(3).expect("three of five");
        assert_eq!(m.held(), 2);
        assert!(m.report(2).is_err(), "a count going back");
        assert!(m.report(6).is_err(), "more than it was given");
        assert!(m.check_return(3).is_err(), "more than it holds");
        m.check_return(2).expect("what it holds");
    }

    #[test]
    fn pending_requests_are_bounded() {
        let mut m = member(1);
        for _ in 0..MAX_PENDING {
            m.take_slot().expect("a slot");
        }
        assert!(m.take_slot().is_err());
        m.free_slot();
        m.take_slot().expect("a freed slot");
        assert_eq!(
            m.counted(),
            0,
            "a member that takes one at a time holds nothing counted"
        );
    }
}
