//! How full a channel is, through the async ends: the blocking ends'
//! [`Occupancy`] and its `len` / `capacity` / `is_empty` / `is_full`, where
//! the backend counts messages (`local`, the queue), `None` elsewhere.

use transport_core::{
    Message, Occupancy,
    backend::{PollRecv, PollSend},
};

use crate::{AsyncReceiver, AsyncSender};

/// The same five methods on each async end, each delegating to the
/// blocking end inside (`$end` is the doc link to it).
macro_rules! occupancy_methods {
    ($end:literal) => {
        /// How full the channel is, where the backend counts messages; `None`
        /// where it cannot tell.
        ///
        #[doc = concat!("As [`", $end, "::occupancy`](transport_core::", $end, "::occupancy).")]
        pub fn occupancy(&self) -> Option<Occupancy> {
            self.get_ref().occupancy()
        }

        /// Messages waiting in the channel; `None` where the backend cannot
        /// tell. A snapshot: other ends may change it the next moment.
        pub fn len(&self) -> Option<usize> {
            self.get_ref().len()
        }

        /// Whether no message waits; `None` where the backend cannot tell.
        pub fn is_empty(&self) -> Option<bool> {
            self.get_ref().is_empty()
        }

        /// Whether a bounded channel is full; `None` where the backend
        /// cannot tell.
        pub fn is_full(&self) -> Option<bool> {
            self.get_ref().is_full()
        }

        /// The most messages the channel holds: `None` for an unbounded
        /// channel, and where the backend cannot tell
        /// ([`occupancy`](Self::occupancy) tells the two apart).
        pub fn capacity(&self) -> Option<usize> {
            self.get_ref().capacity()
        }
    };
}

impl<T: Message, S: PollSend> AsyncSender<T, S> {
    occupancy_methods!("Sender");
}

impl<T: Message, R: PollRecv> AsyncReceiver<T, R> {
    occupancy_methods!("Receiver");
}
