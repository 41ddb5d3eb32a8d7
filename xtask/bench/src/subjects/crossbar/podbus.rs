//! crossbar's bounded `PodBus` (`podbus`): a ring of fixed-size `Pod`
//! values, each slot a cache-line-aligned stamp and value, written with a
//! volatile copy and read out by value with a seqlock. `create_bounded` is
//! its one lossless mode: the publisher reads each subscriber's cursor and
//! gets `Full` while the slowest is a ring behind.
//!
//! Values are `[u8; 64]`, `[u8; 4096]` and the structured message as a
//! flat 256-byte value; 1 MiB values are not measured (a `PodBus` value
//! lives on the stack and is copied element by element). Every value
//! carries its sequence number, and the receiver checks each one.

use std::time::Instant;

use crossbar::{BusSubscriber, PodBus};

use super::{
    depth, names, spin,
    wire::{PodQuote, Wire, check_seq},
};
use crate::{
    exchange::{Serve, Step, drive, serve},
    measure::{Deadline, Job, Run},
    peer::{self, ChildJob, Spawn},
};

fn err<E: std::fmt::Debug>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("crossbar podbus: {what}: {e:?}")
}

/// Payloads `PodBus` is measured at.
fn unsupported(payload: usize) -> String {
    format!("crossbar podbus: no value type of {payload} bytes here (64 B, 256 B and 4 KiB are measured)")
}

/// Publishes `value`, waiting while the ring is full.
fn publish<W: Wire>(bus: &mut PodBus<W>, value: W, deadline: &Deadline) -> Result<(), String> {
    spin(deadline, "crossbar podbus: publish", || {
        match bus.try_publish(value) {
            Ok(()) => Ok(Some(())),
            Err(crossbar::error::Error::Full) => Ok(None),
            Err(e) => Err(err("publish")(e)),
        }
    })
}

/// Waits for the next value and reads all of it.
fn recv<W: Wire>(sub: &mut BusSubscriber<W>, deadline: &Deadline) -> Result<W, String> {
    let value = spin(deadline, "crossbar podbus: receive", || Ok(sub.try_recv()))?;
    value.read();
    Ok(value)
}

/// The parent's side.
pub fn parent(job: &Job) -> Result<Run, String> {
    match job.payload {
        64 => parent_of::<[u8; 64]>(job),
        256 => parent_of::<PodQuote>(job),
        4096 => parent_of::<[u8; 4096]>(job),
        n => Err(unsupported(n)),
    }
}

fn parent_of<W: Wire>(job: &Job) -> Result<Run, String> {
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let (there, back) = names();
    let mut bus =
        PodBus::<W>::create_bounded(&there, depth(job.payload), 0).map_err(err("creating a bus"))?;
    let mut child = Spawn::new(job)?
        .arg("there", &there)
        .arg("back", &back)
        .start(job.limit)?;
    let ready = child.ready()?;
    let mut sub = BusSubscriber::<W>::connect(&back).map_err(err("connecting"))?;
    let deadline = Deadline(job.deadline(Instant::now()));
    let mut value = W::template(job.payload);
    let mut run = Run {
        pinned: parent_pinned && ready.pinned,
        ..Run::default()
    };
    drive(job, Some(child.pid()), &mut run, |step| match step {
        Step::Send(seq) => {
            value.set_seq(seq);
            publish(&mut bus, value, &deadline)
        }
        Step::Echo(seq) | Step::Acked(seq) => check_seq(recv(&mut sub, &deadline)?.seq(), seq),
    })?;
    super::expect_checked(&mut child, job)?;
    child.finish()?;
    drop((sub, bus));
    Ok(run)
}

/// The child's side.
pub fn child(job: &ChildJob) -> Result<(), String> {
    match job.payload {
        64 => child_of::<[u8; 64]>(job),
        256 => child_of::<PodQuote>(job),
        4096 => child_of::<[u8; 4096]>(job),
        n => Err(unsupported(n)),
    }
}

fn child_of<W: Wire>(job: &ChildJob) -> Result<(), String> {
    let deadline = Deadline(job.deadline);
    let mut sub = BusSubscriber::<W>::connect(job.get("there")?).map_err(err("connecting"))?;
    let mut bus = PodBus::<W>::create_bounded(job.get("back")?, depth(job.payload), 0)
        .map_err(err("creating a bus"))?;
    job.ready("");
    let total = (job.warmup + job.count) as u64;
    let mut ack = W::template(job.payload);
    serve(job, |step| match step {
        Serve::Echo(seq) => {
            let value = recv(&mut sub, &deadline)?;
            check_seq(value.seq(), seq)?;
            publish(&mut bus, value, &deadline)
        }
        Serve::Take(seq) => check_seq(recv(&mut sub, &deadline)?.seq(), seq),
        Serve::Ack(total) => {
            ack.set_seq(total);
            publish(&mut bus, ack, &deadline)
        }
    })?;
    super::report_checked(total);
    Ok(())
}
