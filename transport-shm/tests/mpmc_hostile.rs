//! A peer of the same user that writes raw words into a multi-consumer
//! ring's mapping, as a buggy or hostile process would: the other ends get
//! a typed error or pass the slot, never a crash, a loop or a wedge. The
//! process that scribbles maps the segment by name itself
//! (`support/raw.rs`), with nothing of this crate in between.
#![cfg(target_os = "linux")]

#[path = "support/raw.rs"]
mod raw;

use std::time::Duration;

use raw::{CTL, PAYLOAD, RawSegment};
use transport_core::{
    RecvTimeoutError, SendTimeoutError,
    conformance::{Harness, PEER_TIMEOUT, Role},
};
use transport_shm::{
    ShmConfig,
    channel::mpmc::{MpmcReceiver, MpmcSender},
};

/// How long a receive that must end at once may take before the case calls
/// it a hang (far more than a passing run needs).
const HANG: Duration = Duration::from_secs(30);

/// The ring's slots start a page after the channel header (one lane's
/// control block after the header, rounded up to a page).
const SLOTS: usize = PAYLOAD + 4096;
/// Bytes per slot for messages up to 64 bytes: 16 of header, rounded to 64.
const STRIDE: usize = 128;
/// A slot state's kinds, in its top two bits.
const WRITING: u64 = 1 << 62;
/// The participant index field of a slot state.
const INDEX_SHIFT: u32 = 56;

transport_core::cross_process_tests!("shm-mpmc", cases;
    a_holder_on_a_free_slot_is_malformed_then_disconnected,
    a_slot_claimed_by_a_dead_writer_is_passed,
);

/// The channel every case uses: 4 slots of 64 bytes.
fn ring() -> (MpmcSender<u64>, MpmcReceiver<u64>) {
    transport_shm::channel::mpmc::mpmc::<u64>(&ShmConfig::bounded(4).max_message_size(64))
        .expect("creating the ring")
}

/// In the parent: the ring holding message 1, after a child process
/// wrote raw words into it with `scribble`. `None` in that child.
fn scribbled(
    h: &Harness,
    scribble: impl FnOnce(&RawSegment),
) -> Option<(MpmcSender<u64>, MpmcReceiver<u64>)> {
    match h.role() {
        Role::Parent => {
            let (tx, rx) = ring();
            tx.send(1).expect("sending");
            let child = h
                .child("scribbler")
                .param("name", tx.raw().segment_name())
                .spawn();
            child.wait(PEER_TIMEOUT);
            Some((tx, rx))
        }
        Role::Child("scribbler") => {
            scribble(&RawSegment::open(&h.param::<String>("name")));
            None
        }
        Role::Child(other) => panic!("no role `{other}`"),
    }
}

mod cases {
    use super::*;

    /// A free slot's word that names a holder is no state: the receiver
    /// that finds it says `Malformed` once, then `Disconnected`; a sender
    /// that finds it counts the receivers as gone.
    pub fn a_holder_on_a_free_slot_is_malformed_then_disconnected(h: &Harness) {
        let Some((tx, rx)) = scribbled(h, |seg| {
            // Slot 1, free for lap 0, with participant 5 named.
            seg.put(SLOTS + STRIDE, 5 << INDEX_SHIFT);
        }) else {
            return;
        };
        assert_eq!(rx.recv_timeout(HANG).expect("the message before").to_native(), 1);
        assert!(matches!(
            rx.recv_timeout(HANG),
            Err(RecvTimeoutError::Malformed(_))
        ));
        assert!(matches!(
            rx.recv_timeout(HANG),
            Err(RecvTimeoutError::Disconnected)
        ));
        assert!(matches!(
            tx.send_timeout(2, HANG),
            Err(SendTimeoutError::Disconnected(_))
        ));
    }

    /// Position 1 claimed by a producer that is no participant (it died
    /// before publishing): the receiver passes it and gets what follows.
    pub fn a_slot_claimed_by_a_dead_writer_is_passed(h: &Harness) {
        let Some((tx, rx)) = scribbled(h, |seg| {
            // Slot 1 writing for lap 0 by entry 63 (nobody), and the write
            // position past it.
            seg.put(SLOTS + STRIDE, WRITING | (63 << INDEX_SHIFT));
            seg.put(CTL, 2);
        }) else {
            return;
        };
        assert_eq!(tx.len(), Some(2), "the write position is past the dead claim");
        tx.send_timeout(3, HANG).expect("sending after the dead claim");
        assert_eq!(rx.recv_timeout(HANG).expect("the first").to_native(), 1);
        assert_eq!(rx.recv_timeout(HANG).expect("the one after").to_native(), 3);
        // The slot went free for its next lap: four fit again.
        for seq in 10..14 {
            tx.send_timeout(seq, HANG).expect("sending");
        }
        for seq in 10..14 {
            assert_eq!(rx.recv_timeout(HANG).expect("receiving").to_native(), seq);
        }
    }
}
