//! Peer: `crossbar` 1.2, shared-memory publish-subscribe, both sides
//! busy-polling (`try_recv` in a spin loop, as the other busy-poll rows).
//!
//! - `pool` ([`pool`]): the block pool with its ring of block indices,
//!   bytes loaned and copied in (typed values for the 256 B message), read
//!   in place, made lossless by a credit window;
//! - `podbus` ([`podbus`]): the bounded `PodBus`, fixed-size values.
//!
//! Both are measured with the method of every row (pinning, counts,
//! warm-up) and both check that every message arrives once and in order:
//! each carries its sequence number, the receiver checks each one, and the
//! child reports how many it checked, which the parent compares with what
//! it sent.
//!
//! The parent creates its region (or bus) and starts the child; the child
//! opens it, creates its own for the way back, and says ready. crossbar
//! keeps a lock file beside each region and a discovery registry in the
//! shared-memory directory: [`census`] and [`remove_new`] remove what a run
//! added.

pub mod podbus;
pub mod pool;
pub mod wire;

use std::{hint, io::Write};

use crate::{
    measure::{Deadline, Job, Run},
    peer::{ChildJob, Peer},
};

/// The parent's side of both modes.
pub fn parent(job: &Job) -> Result<Run, String> {
    match job.mode {
        "pool" => pool::parent(job),
        "podbus" => podbus::parent(job),
        other => Err(format!("crossbar has no mode `{other}` here")),
    }
}

/// The child's side of both modes.
pub fn child(job: &ChildJob) -> Result<(), String> {
    match job.mode.as_str() {
        "pool" => pool::child(job),
        "podbus" => podbus::child(job),
        other => Err(format!("crossbar has no mode `{other}` here")),
    }
}

/// Messages a ring holds, as iceoryx2's buffer: 16 MiB of payload, between
/// 8 and 256 messages, a power of two. It is also the credit window of the
/// pool path.
pub fn depth(payload: usize) -> usize {
    let n = ((16 << 20) / payload.max(1)).clamp(8, 256);
    1 << n.ilog2()
}

/// Names for the two regions of one run, there and back: crossbar puts
/// them in file names, so they are short and plain.
fn names() -> (String, String) {
    let id = format!("tb{}x{}", std::process::id(), super::next_id());
    (format!("{id}t"), format!("{id}b"))
}

/// Polls until `poll` gives a value, checking the deadline every few
/// thousand looks.
fn spin<T>(
    deadline: &Deadline,
    what: &str,
    mut poll: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    let mut spins = 0u32;
    loop {
        if let Some(v) = poll()? {
            return Ok(v);
        }
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(4096) {
            deadline.check(what)?;
        }
        hint::spin_loop();
    }
}

/// The child's last line: how many messages it checked.
fn report_checked(count: u64) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "checked={count}");
    let _ = out.flush();
}

/// Reads the child's last line and checks that it checked every message
/// the parent sent.
fn expect_checked(child: &mut Peer, job: &Job) -> Result<(), String> {
    let sent = job.warmup + job.count;
    let line = child.line()?.unwrap_or_default();
    match line.strip_prefix("checked=").map(str::parse::<usize>) {
        Some(Ok(n)) if n == sent => Ok(()),
        _ => Err(format!(
            "crossbar: the child said `{line}` after {sent} messages were sent"
        )),
    }
}

/// crossbar's files in the shared-memory directory (regions, lock files,
/// the discovery registry).
pub fn census() -> Vec<std::path::PathBuf> {
    let entries = crate::sys::shm_dir().and_then(|dir| std::fs::read_dir(dir).ok());
    entries
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("crossbar-"))
        .map(|e| e.path())
        .collect()
}

/// Removes what [`census`] finds now and did not find in `before`.
pub fn remove_new(before: &[std::path::PathBuf]) {
    for path in census().into_iter().filter(|p| !before.contains(p)) {
        let _ = std::fs::remove_file(&path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_hold_16_mib_or_256_messages() {
        assert_eq!(depth(64), 256);
        assert_eq!(depth(256), 256);
        assert_eq!(depth(4096), 256);
        assert_eq!(depth(1 << 20), 16);
        assert_eq!(depth(3 << 20), 8);
    }
}
