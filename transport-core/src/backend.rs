//! The backend-author API: what a backend implements and what it is
//! given, kept apart from the API applications use.
//!
//! An application needs none of this: it creates channels through a
//! backend's functions or a [`Transport`](crate::Transport), and uses the
//! typed [`Sender`](crate::Sender), [`Receiver`](crate::Receiver) and
//! [`Connection`](crate::Connection). A backend crate implements:
//! - [`RawSender`] and [`RawReceiver`] on its ends: frames (the bytes of one
//!   message), written in place by a [`Fill`] callback through a
//!   [`FrameWriter`] and received as a [`Frame`];
//! - [`Handoff`](crate::Handoff) on its ends, so they move to children;
//! - [`PollSend`] and [`PollRecv`], so the async adapters can wait for its
//!   ends without a thread per channel;
//! - [`Transport`](crate::Transport) (and [`Duplex`](crate::Duplex)) on a
//!   marker type, and the conformance suite in its tests (feature
//!   `conformance`).
//!
//! ```
//! use transport_core::backend::{Fill, RawSendError, RawSender, Wait, fill_aligned};
//!
//! /// A sender that keeps what it is sent (for illustration).
//! struct Keep(std::sync::Mutex<Vec<Vec<u8>>>);
//!
//! impl RawSender for Keep {
//!     fn send_frame(&self, _wait: Wait, fill: &mut Fill<'_>) -> Result<(), RawSendError> {
//!         let frame = fill_aligned(self.max_message_size(), fill)?;
//!         self.0.lock().unwrap().push(frame.to_vec());
//!         Ok(())
//!     }
//!
//!     fn max_message_size(&self) -> usize {
//!         1 << 20
//!     }
//! }
//!
//! let tx = transport_core::Sender::<u32, _>::from_raw(Keep(Default::default()));
//! tx.send(7).unwrap();
//! ```

pub use crate::{
    frame::Frame,
    message::{FRAME_ALIGN, FrameWriter, Overflow},
    occupancy::Occupancy,
    raw::{Fill, RawReceiver, RawRecvError, RawSendError, RawSender, fill_aligned},
    ready::{PollRecv, PollSend},
    shape::{MultiConsumer, MultiProducer},
    wait::Wait,
};
