//! Both sides of the two channel patterns, the same for every row that
//! measures a channel between two processes: a row says how one step goes
//! ([`Step`] in the parent, [`Serve`] in the child), and [`drive`] (which
//! times them) and [`serve`] run the steps as the pattern wants.

use std::time::Instant;

use crate::{
    load::CpuWatch,
    measure::{Job, Pattern, Run, rtt_metrics, throughput_metrics},
    peer::ChildJob,
};

/// One step of a channel pattern, as the row carries it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Sends message `seq` (numbered from 0 over the warm-up and the
    /// measured part).
    Send(u64),
    /// Round trips: receives the child's echo of message `seq`.
    Echo(u64),
    /// Throughput: waits for the child's acknowledgement that it has taken
    /// the first `total` messages.
    Acked(u64),
}

/// Runs `job`'s pattern with `step`, and puts its figures and the CPU time
/// other processes than `child` took meanwhile into `run`.
///
/// Round trips: warm-up and measured messages alike are `Send` then `Echo`;
/// only the measured ones are timed. Throughput: the warm-up's messages
/// are sent and acknowledged, then the measured ones are timed from the
/// first `Send` to their `Acked`.
pub fn drive(
    job: &Job,
    child: Option<u32>,
    run: &mut Run,
    mut step: impl FnMut(Step) -> Result<(), String>,
) -> Result<(), String> {
    let (warmup, total) = (job.warmup as u64, (job.warmup + job.count) as u64);
    match job.pattern {
        Pattern::Rtt => {
            let mut samples = Vec::with_capacity(job.count);
            let mut watch = None;
            for seq in 0..total {
                if seq == warmup {
                    watch = Some(CpuWatch::start(child));
                }
                let t0 = Instant::now();
                step(Step::Send(seq))?;
                step(Step::Echo(seq))?;
                if seq >= warmup {
                    samples.push(t0.elapsed().as_nanos() as u64);
                }
            }
            run.other_cpu_pct = watch.and_then(|w| w.other_pct());
            run.metrics = rtt_metrics(&mut samples);
        }
        Pattern::Throughput => {
            for seq in 0..warmup {
                step(Step::Send(seq))?;
            }
            step(Step::Acked(warmup))?;
            let watch = CpuWatch::start(child);
            let t0 = Instant::now();
            for seq in warmup..total {
                step(Step::Send(seq))?;
            }
            step(Step::Acked(total))?;
            let elapsed = t0.elapsed();
            run.other_cpu_pct = watch.other_pct();
            run.metrics = throughput_metrics(job.count, job.payload, elapsed);
        }
        Pattern::LockIncrements | Pattern::Pool => {
            return Err(format!("{} is not a channel pattern", job.pattern.as_str()));
        }
    }
    Ok(())
}

/// One step of the child's side of a channel pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serve {
    /// Round trips: receives message `seq` and sends it back.
    Echo(u64),
    /// Throughput: receives message `seq` (reading every byte of it).
    Take(u64),
    /// Throughput: tells the parent it has taken the first `total`
    /// messages (after the warm-up, and after the last message).
    Ack(u64),
}

/// Runs the child's side of `job`'s pattern with `step`.
pub fn serve(job: &ChildJob, mut step: impl FnMut(Serve) -> Result<(), String>) -> Result<(), String> {
    let (warmup, total) = (job.warmup as u64, (job.warmup + job.count) as u64);
    match job.pattern {
        Pattern::Rtt => (0..total).try_for_each(|seq| step(Serve::Echo(seq))),
        Pattern::Throughput => {
            for seq in 0..warmup {
                step(Serve::Take(seq))?;
            }
            step(Serve::Ack(warmup))?;
            for seq in warmup..total {
                step(Serve::Take(seq))?;
            }
            step(Serve::Ack(total))
        }
        Pattern::LockIncrements | Pattern::Pool => {
            Err(format!("{} is not a channel pattern", job.pattern.as_str()))
        }
    }
}
