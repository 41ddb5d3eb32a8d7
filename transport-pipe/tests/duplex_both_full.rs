//! Both ends of a duplex pipe send at once, far more than both kernel
//! buffers hold, before either receives: Python's `Pipe` and ipc-channel
//! deadlock here. Each case runs across two real processes.

use transport_core::conformance::{self, Blob, Harness, Item, LONG, PEER_TIMEOUT, Role, pattern};
use transport_pipe::{Connection, PipeEnd};

/// Runs `case` as libtest's test `name`, parent and child.
fn run(name: &str, case: conformance::Case) {
    conformance::run(conformance::test_name(module_path!(), name), "pipe", true, case);
}

const BIG: usize = 1 << 20;
const BIG_COUNT: u64 = 32;
const SMALL_COUNT: u64 = 200_000;

/// Sends `count` blobs of 1 MiB, then receives `count` from the peer.
fn blobs_both_ways(end: &Connection<Blob, Blob>, mine: u64, theirs: u64) {
    for i in 0..BIG_COUNT {
        end.send_timeout(Blob::new(mine + i, BIG), LONG)
            .unwrap_or_else(|e| panic!("sending blob {i}: {e}"));
    }
    for i in 0..BIG_COUNT {
        let blob = end
            .recv_timeout(LONG)
            .unwrap_or_else(|e| panic!("receiving blob {i}: {e}"));
        assert_eq!(blob.salt, theirs + i);
        assert!(
            blob.data.as_slice() == pattern(theirs + i, BIG),
            "blob {i} is corrupt"
        );
    }
}

fn duplex_blobs(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = transport_pipe::duplex::<Blob, Blob>().expect("a duplex pipe");
            let peer = h.child("peer").endpoint("end", theirs).spawn();
            blobs_both_ways(&mine, 1000, 2000);
            assert_eq!(peer.wait(PEER_TIMEOUT), ["done"]);
        }
        Role::Child(_) => {
            let end: Connection<Blob, Blob> = h.endpoint("end");
            blobs_both_ways(&end, 2000, 1000);
            h.report("done");
        }
    }
}

#[test]
fn both_ends_send_big_typed_messages_at_once() {
    run("both_ends_send_big_typed_messages_at_once", duplex_blobs);
}

/// Raw 1 MiB frames take the large-send path (no backlog, no copy).
fn raw_both_ways(end: &PipeEnd, mine: u64, theirs: u64) {
    use transport_core::backend::{Frame, RawReceiver, RawSender, Wait};
    for i in 0..BIG_COUNT {
        end.send_bytes(&pattern(mine + i, BIG), Wait::timeout(LONG))
            .unwrap_or_else(|e| panic!("sending raw frame {i}: {e:?}"));
    }
    for i in 0..BIG_COUNT {
        let frame = end
            .recv_frame(Wait::timeout(LONG))
            .unwrap_or_else(|e| panic!("receiving raw frame {i}: {e:?}"));
        assert!(
            frame.bytes() == pattern(theirs + i, BIG),
            "raw frame {i} is corrupt"
        );
    }
}

fn duplex_raw(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = transport_pipe::duplex::<Blob, Blob>().expect("a duplex pipe");
            let peer = h.child("peer").endpoint("end", theirs.into_raw()).spawn();
            raw_both_ways(mine.raw(), 10, 20);
            assert_eq!(peer.wait(PEER_TIMEOUT), ["done"]);
        }
        Role::Child(_) => {
            let end: PipeEnd = h.endpoint("end");
            raw_both_ways(&end, 20, 10);
            h.report("done");
        }
    }
}

#[test]
fn both_ends_send_big_raw_frames_at_once() {
    run("both_ends_send_big_raw_frames_at_once", duplex_raw);
}

/// Many small messages: the burst path, with backlogs on both sides.
fn items_both_ways(end: &Connection<Item, Item>, mine: u32, theirs: u32) {
    for seq in 0..SMALL_COUNT {
        end.send_timeout(Item::new(mine, seq), LONG)
            .unwrap_or_else(|e| panic!("sending item {seq}: {e}"));
    }
    for seq in 0..SMALL_COUNT {
        end.recv_timeout(LONG)
            .unwrap_or_else(|e| panic!("receiving item {seq}: {e}"))
            .assert_is(theirs, seq);
    }
}

fn duplex_items(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = transport_pipe::duplex::<Item, Item>().expect("a duplex pipe");
            let peer = h.child("peer").endpoint("end", theirs).spawn();
            items_both_ways(&mine, 1, 2);
            assert_eq!(peer.wait(PEER_TIMEOUT), ["done"]);
        }
        Role::Child(_) => {
            let end: Connection<Item, Item> = h.endpoint("end");
            items_both_ways(&end, 2, 1);
            h.report("done");
        }
    }
}

#[test]
fn both_ends_send_many_small_messages_at_once() {
    run("both_ends_send_many_small_messages_at_once", duplex_items);
}
