//! Decoding what a member sends, from its bytes, without trusting them.
//!
//! Members write with ipc-channel. On its Unix socket platform a message is
//! one datagram (ipc-channel's *first fragment*), or, past one socket
//! buffer, a first fragment that carries the receiving end of a dedicated
//! socket and the rest as further datagrams on it:
//!
//! ```text
//! first fragment: [fragment size: usize][total size: usize][first part of the payload]
//!                 + descriptors (the message's channels, then the dedicated socket)
//! payload:        postcard of the message; a channel is the index of its descriptor
//! ```
//!
//! ipc-channel's own reader believes both sizes (a total with no
//! descriptor panics, a huge one aborts the process, a fragment size that
//! lies blocks the reader). The hub reads members' sockets itself (the
//! Linux `sys` module) and checks everything here first: every function
//! returns a [`Violation`] for bytes no member of this crate writes, and
//! never panics (a panic in the decoder is caught and counted as a
//! violation too).

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{Boot, Down, Item, JoinIndices, Request, SegmentRef, Up, violation::Violation};

/// The header of a first fragment: two native-endian `usize`s.
pub(crate) const HEADER: usize = 2 * size_of::<usize>();

/// What the first datagram of a message says of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct First {
    /// The whole payload's length.
    pub(crate) total: usize,
    /// Whether more of it comes on a dedicated socket.
    pub(crate) fragmented: bool,
}

/// Checks the first datagram of a message (`datagram`, which came with
/// `fds` descriptors): its sizes must agree with what was received, the
/// payload must be at most `max_total` bytes, and a fragmented message
/// must carry its dedicated socket.
pub(crate) fn first(datagram: &[u8], fds: usize, max_total: usize) -> Result<First, Violation> {
    let Some((head, part)) = datagram.split_at_checked(HEADER) else {
        return Err(Violation::new(format!(
            "a datagram of {} bytes, shorter than a message header",
            datagram.len()
        )));
    };
    const W: usize = size_of::<usize>();
    let word = |i: usize| {
        let mut w = [0; W];
        w.copy_from_slice(&head[i * W..(i + 1) * W]);
        usize::from_ne_bytes(w)
    };
    let (fragment, total) = (word(0), word(1));
    if fragment != datagram.len() {
        return Err(Violation::new(format!(
            "a datagram of {} bytes whose header says {fragment}",
            datagram.len()
        )));
    }
    if total > max_total {
        return Err(Violation::new(format!(
            "a message of {total} bytes, past the limit of {max_total}"
        )));
    }
    if total < part.len() {
        return Err(Violation::new(format!(
            "a message of {total} bytes whose first part has {}",
            part.len()
        )));
    }
    let fragmented = total > part.len();
    if fragmented && fds == 0 {
        return Err(Violation::new(
            "a message in fragments without the socket that carries them",
        ));
    }
    Ok(First { total, fragmented })
}

/// Runs `f`, turning a panic into a violation.
fn guarded<T>(f: impl FnOnce() -> Result<T, Violation>) -> Result<T, Violation> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Violation::new("a message that made the decoder panic")))
}

/// Checks that a join's two channels are the message's `channels`
/// descriptors, each used once.
fn check_join(join: &JoinIndices, channels: usize) -> Result<(), Violation> {
    let ok = channels == 2 && join.up < 2 && join.down < 2 && join.up != join.down;
    if ok {
        Ok(())
    } else {
        Err(Violation::new(format!(
            "a join naming channels {} and {} of the {channels} it carries",
            join.up, join.down
        )))
    }
}

/// Decodes a member's request from its whole payload, which came with
/// `fds` descriptors (the dedicated socket of a fragmented message not
/// counted). Only an adoption carries descriptors, exactly its two
/// channels, and a shared put, exactly its one slab (descriptor 0); what
/// kind each descriptor is, the caller checks.
pub(crate) fn request(payload: &[u8], fds: usize) -> Result<Request<JoinIndices, SegmentRef>, Violation> {
    guarded(|| {
        let req: Request<JoinIndices, SegmentRef> = postcard::from_bytes(payload)
            .map_err(|e| Violation::new(format!("a request that does not decode: {e}")))?;
        match &req.up {
            Up::Adopt(join) => check_join(join, fds)?,
            Up::PutShared { segment, .. } if fds != 1 || segment.fd != 0 => {
                return Err(Violation::new(format!(
                    "a shared put naming descriptor {} of the {fds} it carries",
                    segment.fd
                )));
            }
            Up::PutShared { .. } => {}
            _ if fds != 0 => {
                return Err(Violation::new(format!(
                    "a request with {fds} descriptors it has no use for"
                )));
            }
            _ => {}
        }
        Ok(req)
    })
}

/// Decodes one of the hub's messages, which came with `fds` descriptors:
/// its shared items name each of them exactly once.
pub(crate) fn down(payload: &[u8], fds: usize) -> Result<Down<SegmentRef>, Violation> {
    guarded(|| {
        let msg: Down<SegmentRef> = postcard::from_bytes(payload)
            .map_err(|e| Violation::new(format!("a message that does not decode: {e}")))?;
        let mut used = vec![false; fds];
        let mut count = 0;
        if let Down::Items(items) = &msg {
            for item in items {
                if let Item::Shared(seg) = item {
                    let slot = used
                        .get_mut(seg.fd as usize)
                        .filter(|u| !**u)
                        .ok_or_else(|| Violation::new(format!("a segment naming descriptor {}", seg.fd)))?;
                    *slot = true;
                    count += 1;
                }
            }
        }
        if count != fds {
            return Err(Violation::new(format!(
                "a message with {fds} descriptors and {count} segments"
            )));
        }
        Ok(msg)
    })
}

/// Decodes a child's first message to a hand-off server, which came with
/// `channels` descriptors.
pub(crate) fn boot(payload: &[u8], channels: usize) -> Result<Boot<JoinIndices>, Violation> {
    guarded(|| {
        let boot: Boot<JoinIndices> = postcard::from_bytes(payload)
            .map_err(|e| Violation::new(format!("a hand-off message that does not decode: {e}")))?;
        match &boot {
            Boot::Join(join) => check_join(join, channels)?,
            Boot::Cancel => return Err(Violation::new("a cancel from outside")),
        }
        Ok(boot)
    })
}

/// The first datagram of a message of `payload` that fits in one datagram,
/// as ipc-channel writes it.
pub(crate) fn datagram(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&(HEADER + payload.len()).to_ne_bytes());
    out.extend_from_slice(&payload.len().to_ne_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Bytes, QueueFrame, Role};

    fn encode(up: Up<JoinIndices, SegmentRef>) -> Vec<u8> {
        postcard::to_stdvec(&Request { read: 1, took: 0, up }).expect("encoding")
    }

    #[test]
    fn a_whole_message_passes() {
        let payload = encode(Up::Len { id: 7 });
        let d = datagram(&payload);
        let f = first(&d, 0, 1 << 20).expect("a whole message");
        assert_eq!(
            f,
            First {
                total: payload.len(),
                fragmented: false
            }
        );
        assert!(matches!(
            request(&payload, 0),
            Ok(Request {
                up: Up::Len { id: 7 },
                ..
            })
        ));
    }

    #[test]
    fn lying_headers_are_violations() {
        let mut d = datagram(&encode(Up::Unwant));
        // The fragment size says more than came.
        d[0] = d[0].wrapping_add(1);
        assert!(first(&d, 0, 1 << 20).is_err());
        // A total past the limit, or with no dedicated socket.
        let mut d = datagram(&[0; 8]);
        d[size_of::<usize>()..HEADER].copy_from_slice(&(1usize << 46).to_ne_bytes());
        assert!(first(&d, 1, 1 << 30).is_err());
        d[size_of::<usize>()..HEADER].copy_from_slice(&100usize.to_ne_bytes());
        assert!(first(&d, 0, 1 << 30).is_err());
        assert_eq!(
            first(&d, 1, 1 << 30),
            Ok(First {
                total: 100,
                fragmented: true
            })
        );
        assert!(first(&[0; 5], 0, 1 << 30).is_err());
    }

    #[test]
    fn channels_must_match() {
        let join = JoinIndices {
            up: 0,
            down: 1,
            role: Role::Both,
        };
        let adopt = encode(Up::Adopt(join));
        assert!(request(&adopt, 2).is_ok());
        assert!(
            request(&adopt, 0).is_err(),
            "an adoption naming channels it does not carry"
        );
        let same = encode(Up::Adopt(JoinIndices {
            up: 1,
            down: 1,
            role: Role::Both,
        }));
        assert!(request(&same, 2).is_err());
        let put = encode(Up::Put {
            id: 1,
            frame: Bytes(QueueFrame::new()),
            block: false,
        });
        assert!(request(&put, 1).is_err(), "a put with a descriptor");
        assert!(request(&[0xff; 3], 0).is_err());
    }

    #[test]
    fn a_shared_put_carries_exactly_its_slab() {
        let seg = |fd| SegmentRef {
            fd,
            tag: 3,
            len: 1 << 20,
        };
        let shared = |fd| {
            encode(Up::PutShared {
                id: 1,
                segment: seg(fd),
                block: true,
            })
        };
        assert!(request(&shared(0), 1).is_ok());
        assert!(request(&shared(0), 0).is_err(), "no descriptor");
        assert!(request(&shared(0), 2).is_err(), "a descriptor too many");
        assert!(request(&shared(1), 1).is_err(), "past the descriptors");
        let release = encode(Up::Release { tickets: vec![1, 2] });
        assert!(request(&release, 0).is_ok());
        assert!(request(&release, 1).is_err());
    }

    #[test]
    fn segments_of_a_message_name_each_descriptor_once() {
        let items = |fds: &[u32]| {
            let items: Vec<Item<SegmentRef>> = fds
                .iter()
                .map(|&fd| Item::Shared(SegmentRef { fd, tag: 0, len: 8 }))
                .chain([Item::Inline(Bytes(QueueFrame::new()))])
                .collect();
            postcard::to_stdvec(&Down::Items(items)).expect("encoding")
        };
        assert!(down(&items(&[1, 0]), 2).is_ok());
        assert!(down(&items(&[0, 0]), 2).is_err(), "one descriptor twice");
        assert!(down(&items(&[0]), 2).is_err(), "a descriptor unused");
        assert!(down(&items(&[2]), 1).is_err(), "past the descriptors");
        let welcome = postcard::to_stdvec(&Down::<SegmentRef>::Unwanted).expect("encoding");
        assert!(down(&welcome, 0).is_ok());
        assert!(down(&welcome, 1).is_err());
    }
}
