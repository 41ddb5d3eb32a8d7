//! crossbar's block-pool path (`pool`): a `Publisher` loans a block of its
//! region's pool, the payload is copied in, and publishing writes the
//! block's index into the topic's ring; a `Stream` reads the block in place
//! (`Sample`, or `TypedSample` for the 256 B structured message).
//!
//! The ring overwrites its oldest slot on every publish and a subscriber
//! that falls behind skips ahead silently, so this path alone is lossy.
//! The benchmark makes it lossless with a credit window: the receiver
//! acknowledges every [`ack_every`] messages on the way back (a crossbar
//! message holding its count), and the sender never has more than the
//! ring's depth unacknowledged, so no slot is overwritten before it was
//! read. Every message carries its sequence number and the receiver checks
//! each one: a lost or reordered message fails the run.

use std::time::Instant;

use crossbar::{Config, Publisher, Stream, Subscriber, Topic};

use super::{
    depth, names, spin,
    wire::{PodQuote, check_seq, seq_of},
};
use crate::{
    exchange::{Step, drive},
    measure::{Deadline, Job, Pattern, Run, payload, touch},
    peer::{self, ChildJob, Spawn},
};

/// The topic every region carries.
const URI: &str = "/bench";

fn err<E: std::fmt::Debug>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("crossbar pool: {what}: {e:?}")
}

/// Messages between two acknowledgements: a quarter of the window, so the
/// sender rarely waits for one.
pub fn ack_every(window: usize) -> usize {
    (window / 4).max(1)
}

/// A region whose ring is `depth` deep and whose blocks hold `bytes`: the
/// ring keeps one block per slot, the publisher caches up to 8 and keeps a
/// recycled one, and each side holds at most one loan and one sample, so
/// `depth + 32` blocks never run out. Blocks start on cache lines.
fn config(depth: usize, bytes: usize) -> Config {
    let block = (bytes.max(8) + 8).next_multiple_of(64);
    Config {
        max_topics: 1,
        block_count: (depth + 32) as u32,
        block_size: block as u32,
        ring_depth: depth as u32,
        ..Config::default()
    }
}

/// What one side sends: bytes (loaned and copied in) or, for the
/// structured message, a typed value written into the loaned block.
enum Msg {
    Bytes(Vec<u8>),
    Quote(Box<PodQuote>),
}

/// A side's sending half: its own region, with one topic.
struct Out {
    publisher: Publisher,
    topic: Topic,
    msg: Msg,
}

impl Out {
    /// Creates region `name` and its topic, for `payload`-byte messages
    /// (the structured message at 256 B) in a ring `depth` deep.
    fn create(name: &str, len: usize, depth: usize) -> Result<Self, String> {
        let typed = len == 256;
        let bytes = if typed { size_of::<PodQuote>() } else { len };
        let mut publisher =
            Publisher::create(name, config(depth, bytes)).map_err(err("creating a region"))?;
        let topic = if typed {
            publisher.register_typed::<PodQuote>(URI)
        } else {
            publisher.register(URI)
        }
        .map_err(err("registering the topic"))?;
        let msg = if typed {
            Msg::Quote(Box::new(PodQuote::sample(0)))
        } else {
            Msg::Bytes(payload(len))
        };
        Ok(Out {
            publisher,
            topic,
            msg,
        })
    }

    /// Sends message `seq`: the payload, or only its first 8 bytes (the
    /// count) for an acknowledgement.
    fn send(&mut self, seq: u64, ack: bool) -> Result<(), String> {
        match &mut self.msg {
            Msg::Bytes(bytes) => {
                bytes[..8].copy_from_slice(&seq.to_le_bytes());
                let len = if ack { 8 } else { bytes.len() };
                let mut loan = self.publisher.loan(&self.topic).map_err(err("loan"))?;
                loan.set_data(&bytes[..len]).map_err(err("copying in"))?;
                loan.publish();
            }
            Msg::Quote(q) => {
                q.seq = seq;
                let loan = self
                    .publisher
                    .loan_typed::<PodQuote>(&self.topic)
                    .map_err(err("loan"))?;
                loan.send(**q);
            }
        }
        Ok(())
    }
}

/// A side's receiving half: the other side's region.
struct In {
    // Dropped before the subscriber, which keeps the mapping.
    stream: Stream,
    _subscriber: Subscriber,
    typed: bool,
    deadline: Deadline,
}

impl In {
    fn connect(name: &str, payload: usize, deadline: Deadline) -> Result<Self, String> {
        let subscriber = Subscriber::connect(name).map_err(err("connecting"))?;
        let stream = subscriber.subscribe(URI).map_err(err("subscribing"))?;
        Ok(In {
            stream,
            _subscriber: subscriber,
            typed: payload == 256,
            deadline,
        })
    }

    /// Waits for the next message, reads all of it, and returns its
    /// sequence number.
    fn recv(&self) -> Result<u64, String> {
        spin(&self.deadline, "crossbar pool: receive", || {
            if self.typed {
                Ok(self.stream.try_recv_typed::<PodQuote>().map(|q| {
                    q.read();
                    q.seq
                }))
            } else {
                match self.stream.try_recv() {
                    Some(sample) => {
                        touch(&sample);
                        seq_of(&sample)
                            .map(Some)
                            .ok_or_else(|| "crossbar pool: a message of fewer than 8 bytes".into())
                    }
                    None => Ok(None),
                }
            }
        })
    }

    /// Waits for the next message, reads all of it, copies it into a loan
    /// of `out` and publishes that; returns its sequence number.
    fn echo(&self, out: &mut Out) -> Result<u64, String> {
        spin(&self.deadline, "crossbar pool: receive", || {
            if self.typed {
                let Some(q) = self.stream.try_recv_typed::<PodQuote>() else {
                    return Ok(None);
                };
                q.read();
                let value = *q;
                drop(q);
                let loan = out
                    .publisher
                    .loan_typed::<PodQuote>(&out.topic)
                    .map_err(err("loan"))?;
                loan.send(value);
                Ok(Some(value.seq))
            } else {
                let Some(sample) = self.stream.try_recv() else {
                    return Ok(None);
                };
                touch(&sample);
                let seq = seq_of(&sample).ok_or("crossbar pool: a message of fewer than 8 bytes")?;
                let mut loan = out.publisher.loan(&out.topic).map_err(err("loan"))?;
                loan.set_data(&sample).map_err(err("copying in"))?;
                drop(sample);
                loan.publish();
                Ok(Some(seq))
            }
        })
    }
}

/// The blocks of the way back: the payload for round trips, 8-byte
/// acknowledgements (or a structured message) otherwise.
fn back_payload(pattern: Pattern, payload: usize) -> usize {
    if pattern == Pattern::Rtt || payload == 256 {
        payload
    } else {
        64
    }
}

/// The parent's side.
pub fn parent(job: &Job) -> Result<Run, String> {
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let (there, back) = names();
    let window = depth(job.payload);
    let mut out = Out::create(&there, job.payload, window)?;
    let mut child = Spawn::new(job)?
        .arg("there", &there)
        .arg("back", &back)
        .start(job.limit)?;
    let ready = child.ready()?;
    let deadline = Deadline(job.deadline(Instant::now()));
    let input = In::connect(&back, back_payload(job.pattern, job.payload), deadline)?;
    let mut run = Run {
        pinned: parent_pinned && ready.pinned,
        ..Run::default()
    };
    // Round trips send without credit (one message is out at a time);
    // the stream keeps at most a window unacknowledged.
    let round_trips = job.pattern == Pattern::Rtt;
    let mut credit = Credit::new(window);
    drive(job, Some(child.pid()), &mut run, |step| match step {
        Step::Send(seq) if round_trips => out.send(seq, false),
        Step::Send(seq) => credit.send_until(&mut out, &input, seq + 1),
        Step::Echo(seq) => check_seq(input.recv()?, seq),
        Step::Acked(total) => credit.wait_acked(&input, total),
    })?;
    super::expect_checked(&mut child, job)?;
    child.finish()?;
    drop((input, out));
    Ok(run)
}

/// The sender's side of the credit window.
struct Credit {
    window: u64,
    sent: u64,
    acked: u64,
}

impl Credit {
    fn new(window: usize) -> Self {
        Credit {
            window: window as u64,
            sent: 0,
            acked: 0,
        }
    }

    /// Takes one acknowledgement (waiting for it).
    fn take_ack(&mut self, input: &In) -> Result<(), String> {
        let count = input.recv()?;
        if count <= self.acked || count > self.sent {
            return Err(format!(
                "crossbar pool: acknowledgement of {count} after {} of {} sent",
                self.acked, self.sent
            ));
        }
        self.acked = count;
        Ok(())
    }

    /// Sends messages until `until` are sent, never more than the window
    /// ahead of the acknowledgements.
    fn send_until(&mut self, out: &mut Out, input: &In, until: u64) -> Result<(), String> {
        while self.sent < until {
            while self.sent - self.acked >= self.window {
                self.take_ack(input)?;
            }
            out.send(self.sent, false)?;
            self.sent += 1;
        }
        Ok(())
    }

    /// Waits until the receiver acknowledged `count` messages.
    fn wait_acked(&mut self, input: &In, count: u64) -> Result<(), String> {
        while self.acked < count {
            self.take_ack(input)?;
        }
        Ok(())
    }

    /// Whether the receiver acknowledges after its `received`-th message of
    /// a phase ending at `phase_end`.
    fn acks_at(every: u64, received: u64, phase_end: u64) -> bool {
        received.is_multiple_of(every) || received == phase_end
    }
}

/// The child's side.
pub fn child(job: &ChildJob) -> Result<(), String> {
    let deadline = Deadline(job.deadline);
    let input = In::connect(job.get("there")?, job.payload, deadline)?;
    let window = depth(job.payload);
    let mut out = Out::create(job.get("back")?, back_payload(job.pattern, job.payload), window)?;
    job.ready("");
    let total = (job.warmup + job.count) as u64;
    match job.pattern {
        Pattern::Rtt => {
            for i in 0..total {
                check_seq(input.echo(&mut out)?, i)?;
            }
        }
        Pattern::Throughput => {
            let every = ack_every(window) as u64;
            let warmup = job.warmup as u64;
            for i in 0..total {
                check_seq(input.recv()?, i)?;
                let received = i + 1;
                let phase_end = if received <= warmup { warmup } else { total };
                if Credit::acks_at(every, received, phase_end) {
                    out.send(received, true)?;
                }
            }
        }
        Pattern::LockIncrements | Pattern::Pool => return Err("not a publish-subscribe pattern".into()),
    }
    super::report_checked(total);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_fall_on_the_phase_ends() {
        // Warm-up of 10, window 8 (every 2): acknowledged at 2, 4, ..., 10
        // and at the end of the timed part.
        assert!(Credit::acks_at(2, 10, 10));
        assert!(Credit::acks_at(3, 10, 10));
        assert!(!Credit::acks_at(3, 11, 20));
        assert_eq!(ack_every(1), 1);
        assert_eq!(ack_every(256), 64);
    }

    #[test]
    fn blocks_hold_a_payload_and_their_header_on_whole_cache_lines() {
        let c = config(16, 1 << 20);
        assert_eq!(c.block_size as usize % 64, 0);
        assert!(c.block_size as usize >= (1 << 20) + 8);
        assert_eq!(c.ring_depth, 16);
    }
}
