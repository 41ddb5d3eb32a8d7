//! A peer of the same user that writes raw words into the shared mapping,
//! as a buggy or hostile process would: the receiving process must get a
//! typed error or a closed lane, never a crash, a loop, a duplicate or a
//! silent wedge. Each case runs across real processes: the process that
//! scribbles maps the segment by name itself (`support/raw.rs`), with
//! nothing of this crate in between.
#![cfg(target_os = "linux")]

#[path = "support/raw.rs"]
mod raw;

use std::time::Duration;

use raw::{CH_LANE_BYTES, OBJ_LEN, RawSegment, SEG_SIZE, WRAP};
use transport_core::{
    Handoff, RecvTimeoutError,
    conformance::{Harness, LONG, PEER_TIMEOUT, Peer, Role},
    from_env,
};
use transport_shm::{
    SharedArray, SharedEvent, ShmConfig,
    channel::{self, MpscSender, Receiver},
};

/// How long a receive that must end at once may take before the case calls
/// it a hang (far more than a passing run needs).
const HANG: Duration = Duration::from_secs(30);

transport_core::cross_process_tests!("shm", cases;
    size_flipped_while_senders_open,
    size_flipped_while_arrays_open,
    array_length_rewritten_after_open,
    wrap_words_up_to_a_far_tail_do_not_loop,
    wrap_past_the_tail_is_an_error_not_a_wedge,
    stale_records_behind_a_corrupted_tail_are_not_delivered,
    misaligned_tail_is_malformed,
    misaligned_tail_is_malformed_untrusted,
    corrupted_head_does_not_stop_the_ring,
);

/// A small ring: 16-byte records up to 256 bytes, 4 KiB of queued bytes.
fn small() -> ShmConfig {
    ShmConfig::default().max_message_size(256).buffer_bytes(4096)
}

/// A 100-byte message (a 128-byte record) carrying `seq`.
fn message(seq: u64) -> Vec<u8> {
    let mut m = vec![0xA5; 100];
    m[..8].copy_from_slice(&seq.to_le_bytes());
    m
}

/// A few hundred nanoseconds of spinning.
fn pause() {
    for _ in 0..64 {
        std::hint::spin_loop();
    }
}

/// Starts `openers` children, eight at a time (`spawn(i)` starts the
/// `i`-th), and counts those that report `opened`; every other must report
/// a refusal.
fn count_opened(openers: usize, opened: &str, mut spawn: impl FnMut(usize) -> Peer) -> usize {
    let mut count = 0;
    for batch in 0..openers / 8 {
        let peers: Vec<Peer> = (0..8).map(|i| spawn(batch * 8 + i)).collect();
        for peer in peers {
            let report = peer.wait(PEER_TIMEOUT);
            assert_eq!(report.len(), 1, "{report:?}");
            if report[0] == opened {
                count += 1;
            } else {
                assert!(report[0].starts_with("refused: "), "{report:?}");
            }
        }
    }
    count
}

/// Forever: sets every `(offset, fake, real)` word of `seg` to its fake
/// value, pauses, sets them back to the real one, pauses. Each state is
/// held for about as long as an open takes from its size check to its
/// geometry check.
fn flip(seg: &RawSegment, words: &[(usize, u64, u64)]) -> ! {
    loop {
        for &(offset, fake, _) in words {
            seg.put(offset, fake);
        }
        pause();
        for &(offset, _, real) in words {
            seg.put(offset, real);
        }
        pause();
    }
}

fn seq_of(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
}

/// Opens endpoint `name`, or says why not.
fn try_open<E: Handoff>(name: &str) -> Result<E, String> {
    from_env::<E>(name).map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    })
}

/// What a receive gave, in words a parent can compare.
fn outcome(r: Result<Vec<u8>, RecvTimeoutError>) -> String {
    match r {
        Ok(bytes) => format!("message {}", seq_of(&bytes)),
        Err(RecvTimeoutError::Malformed(_)) => "malformed".into(),
        Err(RecvTimeoutError::Disconnected) => "disconnected".into(),
        Err(RecvTimeoutError::Timeout) => "timeout".into(),
        Err(e) => format!("error: {e}"),
    }
}

fn recv_outcome(rx: &Receiver<u64>, timeout: Duration) -> String {
    outcome(
        rx.recv_bytes_timeout(timeout)
            .map(|f| transport_core::backend::Frame::bytes(&f).to_vec()),
    )
}

mod cases {
    use super::*;

    /// Flips the segment's size word and the channel geometry between their
    /// real values and a consistent fake (lanes of 64 MiB in a mapping of a
    /// few hundred KiB) while senders open in other processes: a sender
    /// that read the size once and checked the geometry against it opens
    /// with the real geometry or refuses; one that read the size again
    /// writes past its mapping.
    pub fn size_flipped_while_senders_open(h: &Harness) {
        const OPENERS: usize = 64;
        match h.role() {
            Role::Parent => {
                let config = small().max_producers(OPENERS + 1);
                let (tx, _rx) = channel::mpsc::<u64>(&config).expect("creating the channel");
                let name = tx.raw().segment_name().to_owned();
                let mut flipper = h.child("flipper").param("name", &name).spawn();
                assert_eq!(flipper.expect_report(LONG), "flipping");
                let opened = count_opened(OPENERS, "opened", |seq| {
                    let clone = tx.try_clone().expect("a free lane");
                    h.child("opener").endpoint("tx", clone).param("seq", seq).spawn()
                });
                flipper.kill();
                eprintln!("{opened} of {OPENERS} senders opened, the others were refused");
            }
            Role::Child("flipper") => {
                let seg = RawSegment::open(&h.param::<String>("name"));
                let size = seg.get(SEG_SIZE);
                let lane_bytes = seg.lane_bytes();
                h.report("flipping");
                flip(
                    &seg,
                    &[(SEG_SIZE, 1 << 40, size), (CH_LANE_BYTES, 64 << 20, lane_bytes)],
                );
            }
            Role::Child("opener") => {
                let seq: u64 = h.param("seq");
                match try_open::<MpscSender<u64>>("tx") {
                    Ok(tx) => {
                        // A sender with a fake geometry writes outside
                        // its mapping here.
                        tx.send_timeout(seq, LONG).expect("sending");
                        h.report("opened");
                    }
                    Err(e) => h.report(format!("refused: {e}")),
                }
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// As above for a shared array: the size word and the array's length
    /// flip between the real ones and a consistent fake of 2^36 elements.
    pub fn size_flipped_while_arrays_open(h: &Harness) {
        const OPENERS: usize = 64;
        match h.role() {
            Role::Parent => {
                let values: Vec<u64> = (1..=16).collect();
                let array = SharedArray::from_slice(&values).expect("creating the array");
                let name = array.segment_name().to_owned();
                let mut flipper = h.child("flipper").param("name", &name).spawn();
                assert_eq!(flipper.expect_report(LONG), "flipping");
                let opened = count_opened(OPENERS, "opened 16 136", |_| {
                    h.child("opener").endpoint("array", array.clone()).spawn()
                });
                flipper.kill();
                eprintln!("{opened} of {OPENERS} arrays opened, the others were refused");
            }
            Role::Child("flipper") => {
                let seg = RawSegment::open(&h.param::<String>("name"));
                let size = seg.get(SEG_SIZE);
                let len = seg.get(OBJ_LEN);
                h.report("flipping");
                flip(&seg, &[(SEG_SIZE, 1 << 40, size), (OBJ_LEN, 1 << 36, len)]);
            }
            Role::Child("opener") => match try_open::<SharedArray<u64>>("array") {
                Ok(array) => {
                    let values = array.to_vec().expect("reading");
                    let sum: u64 = values.iter().sum();
                    h.report(format!("opened {} {sum}", array.len()));
                }
                Err(e) => h.report(format!("refused: {e}")),
            },
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// A peer rewrites an open array's length word to 2^40: the array keeps
    /// the length it checked when it opened.
    pub fn array_length_rewritten_after_open(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let values: Vec<u64> = (1..=8).collect();
                let array = SharedArray::from_slice(&values).expect("creating the array");
                let go = SharedEvent::new().expect("creating the event");
                let mut peer = h
                    .child("reader")
                    .endpoint("array", array.clone())
                    .endpoint("go", go.clone())
                    .spawn();
                assert_eq!(peer.expect_report(LONG), "opened");
                let seg = RawSegment::open(array.segment_name());
                seg.put(OBJ_LEN, 1 << 40);
                go.set();
                assert_eq!(peer.wait(PEER_TIMEOUT), ["8 elements, sum 36, last 8"]);
            }
            Role::Child("reader") => {
                let array: SharedArray<u64> = h.endpoint("array");
                let go: SharedEvent = h.endpoint("go");
                h.report("opened");
                assert!(go.wait_timeout(LONG), "the parent never said go");
                let guard = array.lock().expect("locking");
                let (len, sum, last) = (array.len(), guard.iter().sum::<u64>(), guard[guard.len() - 1]);
                h.report(format!("{len} elements, sum {sum}, last {last}"));
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// The tail is set 2^62 bytes ahead and the lane's first record header
    /// says "wrap": a receiver that walks to the tail one wrap at a time
    /// never returns; it must give `Malformed` at once.
    pub fn wrap_words_up_to_a_far_tail_do_not_loop(h: &Harness) {
        scribble_then_receive(h, |seg| {
            seg.put(seg.data(0, 0), WRAP);
            seg.put(seg.data(0, 0) + 8, !0);
            seg.put(seg.tail(0), 1 << 62);
        });
    }

    /// A lane holds one message; then a "wrap" record is written after it
    /// and the tail set just past that record, short of the lap's end: the
    /// receiver must say the ring is malformed, not wait for the tail to
    /// reach the wrap's target forever.
    pub fn wrap_past_the_tail_is_an_error_not_a_wedge(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let (tx, rx) = channel::channel::<u64>(&small()).expect("creating the channel");
                let go = SharedEvent::new().expect("creating the event");
                let mut peer = h
                    .child("receiver")
                    .endpoint("rx", rx)
                    .endpoint("go", go.clone())
                    .spawn();
                tx.send_bytes(&message(0)).expect("sending");
                assert_eq!(peer.expect_report(LONG), "message 0");
                let seg = RawSegment::open(tx.raw().segment_name());
                let at = seg.get(seg.tail(0));
                assert_eq!(at, 128, "one 128-byte record");
                seg.put(seg.data(0, at), WRAP);
                seg.put(seg.data(0, at) + 8, !at);
                seg.put(seg.tail(0), at + 16);
                go.set();
                let reports = peer.wait(PEER_TIMEOUT);
                assert_eq!(reports, ["malformed", "disconnected"]);
                drop(tx);
            }
            Role::Child("receiver") => {
                let rx: Receiver<u64> = h.endpoint("rx");
                let go: SharedEvent = h.endpoint("go");
                h.report(recv_outcome(&rx, LONG));
                assert!(go.wait_timeout(LONG), "the parent never said go");
                // The sender stays alive: only the ring's words can end
                // these waits.
                h.report(recv_outcome(&rx, Duration::from_secs(2)));
                h.report(recv_outcome(&rx, Duration::from_secs(2)));
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// 100 messages go through a ring of 33 records per lap and are
    /// received; then the tail is moved 8 records ahead, over records of
    /// the last lap. None of them may be delivered again.
    pub fn stale_records_behind_a_corrupted_tail_are_not_delivered(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let (tx, rx) = channel::channel::<u64>(&small()).expect("creating the channel");
                let go = SharedEvent::new().expect("creating the event");
                let mut peer = h
                    .child("receiver")
                    .endpoint("rx", rx)
                    .endpoint("go", go.clone())
                    .spawn();
                for seq in 0..100 {
                    tx.send_bytes(&message(seq)).expect("sending");
                }
                assert_eq!(peer.expect_report(LONG), "received 100");
                let seg = RawSegment::open(tx.raw().segment_name());
                let tail = seg.get(seg.tail(0));
                assert!(tail > seg.lane_bytes(), "the ring went round");
                seg.put(seg.tail(0), tail + 8 * 128);
                go.set();
                let reports = peer.wait(PEER_TIMEOUT);
                assert_eq!(reports, ["malformed"], "records of the last lap came again");
                drop(tx);
            }
            Role::Child("receiver") => {
                let rx: Receiver<u64> = h.endpoint("rx");
                let go: SharedEvent = h.endpoint("go");
                for seq in 0..100 {
                    assert_eq!(recv_outcome(&rx, LONG), format!("message {seq}"));
                }
                h.report("received 100");
                assert!(go.wait_timeout(LONG), "the parent never said go");
                let mut reports = Vec::new();
                loop {
                    let got = recv_outcome(&rx, Duration::from_secs(2));
                    let done = !got.starts_with("message ");
                    reports.push(got);
                    if done || reports.len() > 8 {
                        break;
                    }
                }
                h.report(reports.join(", "));
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// A rejected record, then a tail at an offset that is not a record
    /// boundary (4 past a multiple of 16) with a plausible header there:
    /// the receiver must never read a header or a message there.
    pub fn misaligned_tail_is_malformed(h: &Harness) {
        misaligned_tail(h, small());
    }

    /// As above, in untrusted mode (messages copied out before
    /// validation).
    pub fn misaligned_tail_is_malformed_untrusted(h: &Harness) {
        misaligned_tail(h, small().untrusted(true));
    }

    fn misaligned_tail(h: &Harness, config: ShmConfig) {
        match h.role() {
            Role::Parent => {
                let (tx, rx) = channel::channel::<u64>(&config).expect("creating the channel");
                let go = SharedEvent::new().expect("creating the event");
                let mut peer = h
                    .child("receiver")
                    .endpoint("rx", rx)
                    .endpoint("go", go.clone())
                    .spawn();
                tx.send_bytes(&message(0)).expect("sending");
                assert_eq!(peer.expect_report(LONG), "message 0");
                let seg = RawSegment::open(tx.raw().segment_name());
                // A record header of 2^40 bytes at 128, and a tail 100
                // bytes into the next record, 4 past a record boundary.
                seg.put(seg.data(0, 128), 1 << 40);
                seg.put(seg.tail(0), 228);
                go.set();
                assert_eq!(peer.expect_report(LONG), "malformed");
                // Then a plausible record at 228, and a tail after it.
                seg.u32_at(seg.data(0, 228))
                    .store(100, std::sync::atomic::Ordering::SeqCst);
                seg.put(seg.tail(0), 228 + 128);
                go.set();
                let reports = peer.wait(PEER_TIMEOUT);
                assert!(
                    reports == ["disconnected"] || reports == ["malformed"],
                    "{reports:?}"
                );
                drop(tx);
            }
            Role::Child("receiver") => {
                let rx: Receiver<u64> = h.endpoint("rx");
                let go: SharedEvent = h.endpoint("go");
                h.report(recv_outcome(&rx, LONG));
                assert!(go.wait_timeout(LONG), "the parent never said go");
                go.clear();
                h.report(recv_outcome(&rx, Duration::from_secs(2)));
                assert!(go.wait_timeout(LONG), "the parent never said go again");
                h.report(recv_outcome(&rx, Duration::from_secs(2)));
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// The consumer's head word is moved back 16 bytes while the consumer
    /// holds a message: the consumer's releases must keep moving it, so
    /// the producer keeps finding room (and the consumer keeps no record of
    /// releases it cannot apply).
    pub fn corrupted_head_does_not_stop_the_ring(h: &Harness) {
        const MORE: u64 = 2000;
        match h.role() {
            Role::Parent => {
                let (tx, rx) = channel::channel::<u64>(&small()).expect("creating the channel");
                let go = SharedEvent::new().expect("creating the event");
                let mut peer = h
                    .child("receiver")
                    .endpoint("rx", rx)
                    .endpoint("go", go.clone())
                    .spawn();
                for seq in 0..3 {
                    tx.send_bytes(&message(seq)).expect("sending");
                }
                assert_eq!(peer.expect_report(LONG), "holding message 2");
                let seg = RawSegment::open(tx.raw().segment_name());
                let head = seg.get(seg.head(0));
                assert_eq!(head, 256, "two records released");
                seg.put(seg.head(0), head - 16);
                go.set();
                for seq in 3..3 + MORE {
                    if let Err(e) = tx.send_timeout(seq, Duration::from_secs(10)) {
                        panic!("message {seq} found no room: {e}");
                    }
                }
                drop(tx);
                assert_eq!(peer.wait(PEER_TIMEOUT), [format!("received {MORE} more")]);
            }
            Role::Child("receiver") => {
                let rx: Receiver<u64> = h.endpoint("rx");
                let go: SharedEvent = h.endpoint("go");
                for _ in 0..2 {
                    rx.recv_bytes_timeout(LONG).expect("receiving");
                }
                let held = rx.recv_bytes_timeout(LONG).expect("receiving");
                h.report(format!(
                    "holding message {}",
                    seq_of(transport_core::backend::Frame::bytes(&held))
                ));
                assert!(go.wait_timeout(LONG), "the parent never said go");
                drop(held);
                let mut n = 0;
                while let Ok(m) = rx.recv_timeout(LONG) {
                    assert_eq!(m.to_native(), 3 + n, "in order");
                    n += 1;
                }
                h.report(format!("received {n} more"));
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// The parent lets the child receiver open, scribbles with `scribble`,
    /// and expects the child's receive to end at once with `Malformed`.
    fn scribble_then_receive(h: &Harness, scribble: fn(&RawSegment)) {
        match h.role() {
            Role::Parent => {
                let (tx, rx) = channel::channel::<u64>(&small()).expect("creating the channel");
                let go = SharedEvent::new().expect("creating the event");
                let mut peer = h
                    .child("receiver")
                    .endpoint("rx", rx)
                    .endpoint("go", go.clone())
                    .spawn();
                assert_eq!(peer.expect_report(LONG), "ready");
                let seg = RawSegment::open(tx.raw().segment_name());
                scribble(&seg);
                go.set();
                // A receiver that loops never reports.
                assert_eq!(peer.expect_report(HANG), "malformed");
                peer.wait(PEER_TIMEOUT);
                drop(tx);
            }
            Role::Child("receiver") => {
                let rx: Receiver<u64> = h.endpoint("rx");
                let go: SharedEvent = h.endpoint("go");
                h.report("ready");
                assert!(go.wait_timeout(LONG), "the parent never said go");
                h.report(recv_outcome(&rx, Duration::from_millis(500)));
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }
}
