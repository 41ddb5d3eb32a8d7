//! The hub's side of a member's two sockets (Linux): the `up` socket it
//! reads ([`UpChannel`], read by [`super::set`]) and the `down` socket it
//! writes ([`DownSender`]), each with ipc-channel's framing
//! ([`super::frames`]) and the descriptors of shared items alongside.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::{frames, segment::Outgoing};
use crate::wire::{Down, SegmentRef};

/// A member's `up` channel, as the hub holds it: the socket.
pub(crate) type UpChannel = OwnedFd;

/// The hub's end of a member's `down` socket.
#[derive(Debug)]
pub(crate) struct DownSender(OwnedFd);

impl DownSender {
    pub(crate) fn new(socket: OwnedFd) -> Self {
        DownSender(socket)
    }

    /// The socket (to write a refusal by hand).
    pub(crate) fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Sends `msg`, its shared items' descriptors with it, waiting for room.
    pub(crate) fn send(&self, msg: Down<Outgoing>) -> std::io::Result<()> {
        let mut fds: Vec<RawFd> = Vec::new();
        // The outgoing segments live until the send is done.
        let mut keep = Vec::new();
        let wire = msg.try_map(|out| {
            let index = u32::try_from(fds.len()).map_err(|_| std::io::Error::other("too many segments"))?;
            fds.push(out.segment.raw_fd());
            let seg = SegmentRef {
                fd: index,
                tag: out.ticket,
                len: out.segment.len() as u64,
            };
            keep.push(out);
            Ok::<_, std::io::Error>(seg)
        })?;
        let payload = postcard::to_stdvec(&wire).map_err(std::io::Error::other)?;
        frames::send(self.0.as_raw_fd(), &payload, &fds)
    }
}
