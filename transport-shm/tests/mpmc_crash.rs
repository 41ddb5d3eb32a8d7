//! What a process killed with `SIGKILL` in the middle of traffic on a
//! multi-consumer ring ([`ShmMpmc`](transport_shm::ShmMpmc)) can lose,
//! checked against the numbers its module documents ("Crashes"):
//! - four consumers, one killed mid-stream: the other three receive every
//!   message the killed one had not taken, none twice; the killed one loses
//!   what it had received, plus at most the one it was copying out;
//! - two producers, one killed mid-stream: no message whose send returned
//!   is lost, none is duplicated, and the other producer's all arrive.
//!
//! Each case runs several trials, killing at a random moment.

#[path = "support/crash.rs"]
mod crash;

use std::{
    collections::HashSet,
    sync::atomic::{AtomicU64, Ordering},
};

use transport_core::{
    RecvTimeoutError,
    conformance::{Harness, LONG, PEER_TIMEOUT, Role},
};
use transport_shm::{
    SharedAtomic, ShmConfig,
    channel::mpmc::{MpmcReceiver, MpmcSender, mpmc},
};

use crash::{assert_removed, drain, rng, until};

const TRIALS: u64 = 4;
const CONSUMERS: u64 = 4;
const MESSAGES: u64 = 20_000;

transport_core::cross_process_tests!("shm-mpmc", cases;
    a_killed_consumer_loses_only_what_it_took,
    a_killed_producer_loses_no_returned_send
);

fn config() -> ShmConfig {
    ShmConfig::bounded(16).max_message_size(64)
}

/// What a consumer took, in one word it stores at once: the count in the
/// high 24 bits, the sum of the sequence numbers in the low 40.
fn tally(count: u64, sum: u64) -> u64 {
    (count << 40) | sum
}

fn untally(word: u64) -> (u64, u64) {
    (word >> 40, word & ((1 << 40) - 1))
}

mod cases {
    use super::*;

    pub fn a_killed_consumer_loses_only_what_it_took(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let mut rng = rng("mpmc_crash");
                for trial in 0..TRIALS {
                    let (tx, rx) = mpmc::<u64>(&config()).expect("creating the channel");
                    let name = tx.raw().segment_name().to_owned();
                    let took = SharedAtomic::new(AtomicU64::new(0)).expect("creating the tally");
                    let mut victim = h
                        .child("victim")
                        .endpoint("rx", rx.try_clone().expect("a consumer clones"))
                        .endpoint("took", took.clone())
                        .spawn();
                    let survivors: Vec<_> = (1..CONSUMERS)
                        .map(|_| {
                            h.child("consumer")
                                .endpoint("rx", rx.try_clone().expect("a consumer clones"))
                                .spawn()
                        })
                        .collect();
                    drop(rx);
                    let kill_at = 100 + rng.u64(..MESSAGES / 2);
                    let mut sent = 0u64;
                    while sent < MESSAGES {
                        if sent == kill_at {
                            // Mid-stream: once the victim has taken some.
                            until(
                                trial,
                                "the victim took nothing",
                                || untally(took.load(Ordering::SeqCst)).0 > 0,
                                || {
                                    tx.send_timeout(sent, LONG).expect("sending");
                                    sent += 1;
                                },
                            );
                            victim.kill();
                        }
                        tx.send_timeout(sent, LONG).expect("sending");
                        sent += 1;
                    }
                    drop(tx);
                    let mut seen = HashSet::new();
                    let mut sum = 0u64;
                    for peer in survivors {
                        let report = peer.wait(PEER_TIMEOUT);
                        for seq in report.iter().flat_map(|l| l.split(' ')).filter(|s| !s.is_empty()) {
                            let seq: u64 = seq.parse().expect("a number");
                            assert!(seq < sent, "trial {trial}: message {seq} was never sent");
                            assert!(seen.insert(seq), "trial {trial}: message {seq} arrived twice");
                            sum += seq;
                        }
                    }
                    let (victim_count, victim_sum) = untally(took.load(Ordering::SeqCst));
                    let got = seen.len() as u64 + victim_count;
                    assert!(
                        got == sent || got + 1 == sent,
                        "trial {trial}: {sent} sent, the others got {}, the victim took {victim_count}",
                        seen.len()
                    );
                    // The sums say which one is missing, if one is: the one
                    // the victim was copying out when it died.
                    let missing = (0..sent).sum::<u64>() - sum - victim_sum;
                    if got == sent {
                        assert_eq!(missing, 0, "trial {trial}: some message duplicated");
                    } else {
                        assert!(
                            missing < sent && !seen.contains(&missing),
                            "trial {trial}: the sums do not add up to one lost message"
                        );
                    }
                    eprintln!(
                        "trial {trial}: the victim took {victim_count} before its kill, the others {}, \
                         {} lost in the copy",
                        seen.len(),
                        sent - got
                    );
                    drop(took);
                    assert_removed(trial, &name);
                }
            }
            Role::Child("victim") => {
                let rx: MpmcReceiver<u64> = h.endpoint("rx");
                let took: SharedAtomic<AtomicU64> = h.endpoint("took");
                let (mut count, mut sum) = (0, 0);
                loop {
                    let m = rx.recv_timeout(LONG).expect("receiving").to_native();
                    count += 1;
                    sum += m;
                    took.store(tally(count, sum), Ordering::SeqCst);
                }
            }
            Role::Child("consumer") => {
                let rx: MpmcReceiver<u64> = h.endpoint("rx");
                let mut line = String::new();
                let mut last = None;
                loop {
                    match rx.recv_timeout(LONG) {
                        Ok(m) => {
                            let m = m.to_native();
                            assert!(last <= Some(m), "{m} after {last:?}");
                            last = Some(m);
                            line.push_str(&format!("{m} "));
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                        Err(e) => panic!("receiving: {e}"),
                    }
                }
                h.report(line);
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    pub fn a_killed_producer_loses_no_returned_send(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let mut rng = rng("mpmc_crash");
                for trial in 0..TRIALS {
                    let (tx, rx) = mpmc::<u64>(&config()).expect("creating the channel");
                    let name = tx.raw().segment_name().to_owned();
                    let sent = SharedAtomic::new(AtomicU64::new(0)).expect("creating the counter");
                    let mut victim = h
                        .child("victim")
                        .endpoint("tx", tx.try_clone().expect("a producer clones"))
                        .endpoint("sent", sent.clone())
                        .spawn();
                    let other = h
                        .child("producer")
                        .endpoint("tx", tx.try_clone().expect("a producer clones"))
                        .spawn();
                    drop(tx);
                    // The victim sends `v << 32 | seq`, the other `seq`.
                    let kill_after = 1 + rng.u64(..5000);
                    let mut next = [0u64; 2];
                    let take = |next: &mut [u64; 2], m: u64| {
                        let (who, seq) = ((m >> 32) as usize, m & 0xFFFF_FFFF);
                        assert_eq!(seq, next[who], "trial {trial}: producer {who} in order, once");
                        next[who] += 1;
                    };
                    while next[1] < kill_after {
                        take(&mut next, rx.recv_timeout(LONG).expect("receiving").to_native());
                    }
                    victim.kill();
                    let returned = sent.load(Ordering::SeqCst);
                    drain(
                        trial,
                        || rx.recv_timeout(LONG).map(|m| m.to_native()),
                        |m| take(&mut next, m),
                    );
                    other.wait(PEER_TIMEOUT);
                    assert_eq!(next[0], MESSAGES, "trial {trial}: the other producer's messages");
                    assert!(
                        (returned..=returned + 1).contains(&next[1]),
                        "trial {trial}: {returned} sends returned, {} arrived",
                        next[1]
                    );
                    drop(rx);
                    drop(sent);
                    assert_removed(trial, &name);
                }
            }
            Role::Child("victim") => {
                let tx: MpmcSender<u64> = h.endpoint("tx");
                let sent: SharedAtomic<AtomicU64> = h.endpoint("sent");
                for seq in 0.. {
                    tx.send((1 << 32) | seq).expect("sending");
                    sent.store(seq + 1, Ordering::SeqCst);
                }
            }
            Role::Child("producer") => {
                let tx: MpmcSender<u64> = h.endpoint("tx");
                for seq in 0..MESSAGES {
                    tx.send(seq).expect("sending");
                }
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }
}
