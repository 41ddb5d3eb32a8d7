//! A member's side of its `up` socket (Linux): [`UpSender`] writes the
//! member's requests with ipc-channel's framing, and the descriptors an
//! adoption (the child's two sockets) or a shared put (its slab) carries.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::frames;
use crate::{
    sys::api::{MemberRequest, NewMember},
    wire::{JoinIndices, Request, SegmentRef, Up},
};

/// A member's end of its `up` socket.
#[derive(Debug)]
pub(crate) struct UpSender(OwnedFd);

impl UpSender {
    pub(crate) fn new(socket: OwnedFd) -> Self {
        UpSender(socket)
    }

    /// Sends `req`, waiting for room. The descriptors it carries are
    /// closed here once sent (a shared put's slab stays in its pool).
    pub(crate) fn send(&self, req: MemberRequest) -> std::io::Result<()> {
        let Request { read, took, up } = req;
        // The descriptors the message carries: kept open until it is sent
        // (only one of the two maps below runs).
        let mut joins: Vec<NewMember> = Vec::new();
        let mut slabs = Vec::new();
        let up: Up<JoinIndices, SegmentRef> = up.try_map(
            |new: NewMember| {
                let role = new.role;
                joins.push(new);
                Ok::<_, std::io::Error>(JoinIndices { up: 0, down: 1, role })
            },
            |written| {
                let seg = SegmentRef {
                    fd: 0,
                    tag: written.slab.tag(),
                    len: written.len as u64,
                };
                // The slab stays lent (off its pool's free list) until the
                // hub says it is free.
                slabs.push(written);
                Ok(seg)
            },
        )?;
        let fds: Vec<RawFd> = joins
            .iter()
            .flat_map(|new| [new.up.as_raw_fd(), new.down.raw()])
            .chain(slabs.iter().map(|w| w.slab.fd().as_raw_fd()))
            .collect();
        let payload = postcard::to_stdvec(&Request { read, took, up }).map_err(std::io::Error::other)?;
        frames::send(self.0.as_raw_fd(), &payload, &fds)
    }
}
