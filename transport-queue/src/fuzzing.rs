//! Entry points for the fuzz targets (`fuzz/`), behind the `fuzzing`
//! feature: not part of the API.

use crate::wire::decode;

/// What the hub does with one datagram from a member, whole: the first
/// byte of `data` says how many descriptors came with it (0 to 3) and
/// whether it came to a hand-off server (odd) or on a member's `up`
/// channel (even); the rest is the datagram. Panics only if the decoder
/// breaks its own promises (a violation is the expected answer to junk).
pub fn hub_datagram(data: &[u8]) {
    let Some((&head, datagram)) = data.split_first() else {
        return;
    };
    let fds = usize::from(head >> 1) & 3;
    let handoff = head & 1 == 1;
    let limit = 1 << 20;
    let Ok(first) = decode::first(datagram, fds, limit) else {
        return;
    };
    assert!(first.total <= limit, "a total past the limit passed");
    let payload = &datagram[decode::HEADER..];
    if first.fragmented {
        assert!(fds > 0 && first.total > payload.len());
        return;
    }
    assert_eq!(first.total, payload.len());
    if handoff {
        if let Ok(crate::wire::Boot::Join(join)) = decode::boot(payload, fds) {
            assert!(fds == 2 && join.up != join.down && join.up < 2 && join.down < 2);
        }
    } else if let Ok(req) = decode::request(payload, fds) {
        match req.up {
            crate::wire::Up::Adopt(join) => {
                assert!(fds == 2 && join.up != join.down && join.up < 2 && join.down < 2);
            }
            _ => assert_eq!(fds, 0, "a request with descriptors passed"),
        }
    }
}
