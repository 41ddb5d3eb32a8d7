//! How full a lane channel is: [`Occupancy`] from each lane's two message
//! counts, the producer's `sent` and the consumer's `received` (see
//! [`LaneCtl`](super::layout::LaneCtl)).
//!
//! Neither count takes part in the ring's protocol: a producer writes its
//! count just before the tail that publishes the messages, the receiver
//! its own as it hands a message out, and nothing but this module reads
//! them. Both are words a peer can write, so each lane's difference is
//! clamped to what the lane can hold: a peer that writes them can make the
//! count wrong, never make it panic, overflow or pass the bound.

use std::sync::atomic::Ordering;

use transport_core::Occupancy;

use super::{chan::Chan, layout::record_len};

impl Chan {
    /// Messages sent and not yet received on every open lane, and the
    /// channel's capacity per producer (`None`: bounded in bytes only). A
    /// snapshot, lane by lane.
    pub(crate) fn occupancy(&self) -> Occupancy {
        let g = &self.geo;
        let capacity = (g.capacity != 0).then_some(g.capacity);
        // The most records a lane holds: its bytes in the smallest records.
        let most = (g.lane_bytes / record_len(0)) as u64;
        let bound = capacity.map_or(most, |c| c.min(most));
        let len = (0..g.lanes)
            .filter(|&i| self.lane(i).closed.load(Ordering::Acquire) == 0)
            .map(|i| self.queued(i).min(bound))
            .fold(0u64, u64::saturating_add);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Occupancy::new(size(len), capacity.map(size))
    }

    /// Lane `i`'s messages sent and not yet received, unclamped.
    ///
    /// `received` is read first: the receiver counted those messages after
    /// it acquired a tail stored after their `sent` count, so the `sent`
    /// read after it is at least as large (an honest lane never looks
    /// negative; one that does counts as empty).
    fn queued(&self, i: usize) -> u64 {
        let lane = self.lane(i);
        let received = lane.received.load(Ordering::Acquire);
        let sent = lane.sent.load(Ordering::Acquire);
        sent.saturating_sub(received)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, atomic::Ordering};

    use transport_core::{
        Occupancy,
        backend::{RawReceiver, RawSender, Wait},
    };

    use crate::{
        ShmConfig,
        channel::{layout::record_len, raw_channel, raw_mpsc_channel},
    };

    /// Messages up to 256 bytes, 4 KiB of them queued per producer.
    fn small(capacity: usize) -> ShmConfig {
        ShmConfig::bounded(capacity)
            .max_message_size(256)
            .buffer_bytes(4096)
    }

    #[test]
    fn both_ends_count_what_was_sent_and_not_yet_received() {
        let (tx, rx) = raw_channel(&small(4)).unwrap();
        let empty = Occupancy::new(0, Some(4));
        assert_eq!((tx.occupancy(), rx.occupancy()), (Some(empty), Some(empty)));
        for n in 1..=4u8 {
            tx.send_bytes(&[n; 8], Wait::Never).unwrap();
            assert_eq!(rx.occupancy().unwrap().len, usize::from(n));
        }
        assert!(tx.occupancy().unwrap().is_full());
        // A message held in place no longer counts (its room does).
        let held = rx.recv_frame(Wait::Never).unwrap();
        assert_eq!(tx.occupancy(), Some(Occupancy::new(3, Some(4))));
        drop(held);
        while rx.recv_frame(Wait::Never).is_ok() {}
        assert_eq!(tx.occupancy(), Some(empty));
    }

    #[test]
    fn every_producer_counts_and_the_capacity_is_per_producer() {
        let (tx, rx) = raw_mpsc_channel(&small(4).max_producers(2)).unwrap();
        let second = tx.try_clone().unwrap();
        for n in 0..3u8 {
            tx.send_bytes(&[n; 8], Wait::Never).unwrap();
            second.send_bytes(&[n; 8], Wait::Never).unwrap();
        }
        let both = Occupancy::new(6, Some(4));
        assert_eq!(
            (tx.occupancy(), second.occupancy(), rx.occupancy()),
            (Some(both), Some(both), Some(both))
        );
        drop(rx.recv_frame(Wait::Never).unwrap());
        assert_eq!(rx.occupancy().unwrap().len, 5);
    }

    #[test]
    fn impossible_counts_stay_within_what_a_lane_holds() {
        let (tx, rx) = raw_mpsc_channel(&small(4).max_producers(2)).unwrap();
        let chan = Arc::clone(rx.chan());
        for lane in 0..2 {
            chan.lane(lane).sent.store(u64::MAX, Ordering::SeqCst);
            chan.lane(lane).received.store(0, Ordering::SeqCst);
        }
        assert_eq!(tx.occupancy(), Some(Occupancy::new(8, Some(4))));
        // Received past sent: an empty lane.
        chan.lane(1).received.store(u64::MAX, Ordering::SeqCst);
        chan.lane(1).sent.store(3, Ordering::SeqCst);
        assert_eq!(rx.occupancy(), Some(Occupancy::new(4, Some(4))));
        // A closed lane is read no more: its count is gone with it.
        chan.lane(0).closed.store(1, Ordering::SeqCst);
        assert_eq!(rx.occupancy(), Some(Occupancy::new(0, Some(4))));

        // Without a capacity, a lane holds at most its bytes in the
        // smallest records.
        let config = ShmConfig::default().max_message_size(256).buffer_bytes(4096);
        let (tx, rx) = raw_channel(&config).unwrap();
        let chan = Arc::clone(rx.chan());
        chan.lane(0).sent.store(u64::MAX, Ordering::SeqCst);
        let most = chan.geo.lane_bytes / record_len(0);
        assert_eq!(tx.occupancy(), Some(Occupancy::new(most, None)));
    }

    #[test]
    fn a_new_producer_on_a_drained_lane_counts_from_the_receiver() {
        let (tx, rx) = raw_mpsc_channel(&small(4).max_producers(2)).unwrap();
        let chan = Arc::clone(rx.chan());
        let second = tx.try_clone().unwrap();
        second.send_bytes(b"one", Wait::Never).unwrap();
        drop(rx.recv_frame(Wait::Never).unwrap());
        drop(second);
        // As if the lane's producer was killed between its count and its
        // tail: the count is one ahead of what the lane holds.
        chan.lane(1).sent.fetch_add(1, Ordering::SeqCst);
        assert_eq!(rx.occupancy().unwrap().len, 1);
        let third = tx.try_clone().expect("the drained lane again");
        third.send_bytes(b"two", Wait::Never).unwrap();
        assert_eq!(rx.occupancy().unwrap().len, 1);
        drop(rx.recv_frame(Wait::Never).unwrap());
        assert_eq!(rx.occupancy().unwrap().len, 0);
    }
}
