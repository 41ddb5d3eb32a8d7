//! Entry points for the fuzz targets (`fuzz/`), behind the `fuzzing`
//! feature: not part of the API.

use crate::wire::decode;

/// What the hub does with one datagram from a member, whole: the first
/// byte of `data` says how many descriptors came with it (0 to 3) and
/// whether it came to a hand-off server (odd) or on a member's `up`
/// channel (even); the rest is the datagram. With the first byte's bit 3
/// set, the rest is instead a message of the hub's as a member decodes it
/// (see `member_message`). Panics only if the decoder
/// breaks its own promises (a violation is the expected answer to junk):
/// a request that passes uses exactly the descriptors that came, an
/// adoption two distinct channels, a shared put its one slab.
pub fn hub_datagram(data: &[u8]) {
    let Some((&head, datagram)) = data.split_first() else {
        return;
    };
    if head & 8 != 0 {
        return member_message(head, datagram);
    }
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
            crate::wire::Up::PutShared { segment, .. } => {
                assert!(
                    fds == 1 && segment.fd == 0,
                    "a shared put with other descriptors passed"
                );
            }
            _ => assert_eq!(fds, 0, "a request with descriptors passed"),
        }
    }
}

/// What a member does with one message of the hub's payload: `head`'s low
/// two bits say how many descriptors came with it. A message that passes
/// names each descriptor in exactly one shared item.
fn member_message(head: u8, payload: &[u8]) {
    let fds = usize::from(head) & 3;
    if let Ok(crate::wire::Down::Items(items)) = decode::down(payload, fds) {
        let mut named: Vec<u32> = items
            .iter()
            .filter_map(|i| match i {
                crate::wire::Item::Shared(s) => Some(s.fd),
                crate::wire::Item::Inline(_) => None,
            })
            .collect();
        named.sort_unstable();
        assert!(
            named.iter().copied().eq(0..fds as u32),
            "descriptors named {named:?} of {fds}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every seed of the fuzz target goes through it, and the seeds of the
    /// shared-memory messages decode.
    #[test]
    fn the_seeds_pass() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/queue_hub");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("the seeds") {
            let data = std::fs::read(entry.expect("a seed").path()).expect("reading a seed");
            hub_datagram(&data);
            seen += 1;
        }
        assert!(seen >= 14);
        let put = std::fs::read(dir.join("put_shared")).expect("the shared put");
        let first = decode::first(&put[1..], 1, 1 << 20).expect("its framing");
        assert!(!first.fragmented);
        assert!(matches!(
            decode::request(&put[1 + decode::HEADER..], 1).map(|r| r.up),
            Ok(crate::wire::Up::PutShared { .. })
        ));
        let items = std::fs::read(dir.join("items_shared")).expect("the shared items");
        assert!(decode::down(&items[1..], 1).is_ok());
    }
}
