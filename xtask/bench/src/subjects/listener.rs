//! Ours: transport-pipe's `Listener` / `Client`, a socket file and an
//! authkey as Python's are used, `send_bytes` / receive of raw bytes (what
//! Python's `send_bytes` / `recv_bytes` do), against Python's own
//! `Listener` / `Client` (the `python-listener` peer in `python.rs`).
//!
//! - `rust-rust`: both sides Rust, this crate's framing, default options
//!   (a receive looks for 50 us before it sleeps); the child is this
//!   program.
//! - `rust-rust-no-spin`: the same, with `Options::spin(Duration::ZERO)`:
//!   every receive that has to wait sleeps at once, as Python's does.
//! - `rust-python`: a Rust `Listener` in Python's framing, and a Python
//!   `Client` child (`python/mp_peers.py --kind listener-child`) that
//!   echoes and counts exactly as the Python peer's child does.

use std::{path::PathBuf, process::Command, time::Instant};

use transport_core::{RawReceiver, RawSender, Wait};
use transport_pipe::{Address, Client, Listener, NamedEnd, Options};

use super::python;
use crate::{
    load::CpuWatch,
    measure::{Job, Pattern, Run, payload, rtt_metrics, throughput_metrics, touch},
    peer::{self, ChildJob, Spawn},
};

/// The key both sides use (the handshake is not timed).
const KEY: &[u8] = b"transport-bench";

fn socket_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "transport-bench-listener-{}-{}.sock",
        std::process::id(),
        super::next_id()
    ))
}

fn options(mode: &str) -> Options {
    match mode {
        "rust-python" => Options::python().authkey(KEY),
        "rust-rust-no-spin" => Options::new().authkey(KEY).spin(std::time::Duration::ZERO),
        _ => Options::new().authkey(KEY),
    }
}

fn err(what: &'static str) -> impl Fn(String) -> String {
    move |e| format!("{what}: {e}")
}

fn send(end: &NamedEnd, bytes: &[u8]) -> Result<(), String> {
    end.send_bytes(bytes, Wait::Forever)
        .map_err(|e| format!("send: {e:?}"))
}

fn recv(end: &NamedEnd) -> Result<usize, String> {
    let frame = end
        .recv_frame(Wait::Forever)
        .map_err(|e| format!("recv: {e:?}"))?;
    touch(&frame);
    Ok(frame.len())
}

/// The parent's side: listens, starts the child, measures.
pub fn parent(job: &Job) -> Result<Run, String> {
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let path = socket_path();
    let listener =
        Listener::bind(Address::path(&path), options(job.mode)).map_err(|e| format!("listening: {e}"))?;
    let child = match job.mode {
        "rust-python" => {
            let mut cmd = Command::new(python::interpreter());
            cmd.arg(python::SCRIPT)
                .args(["--kind", "listener-child", "--pattern", job.pattern.as_str()])
                .args(["--payload", &job.payload.to_string()])
                .args(["--count", &job.count.to_string()])
                .args(["--warmup", &job.warmup.to_string()])
                .args(["--limit", &job.limit.as_secs().to_string()])
                .args(["--address", &path.display().to_string()])
                .args([
                    "--authkey",
                    &KEY.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                ])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit());
            Spawn::from_command(cmd).start(job.limit)?
        }
        _ => Spawn::new(job)?.arg("address", path.display()).start(job.limit)?,
    };
    let end = listener
        .accept_raw(Wait::timeout(job.limit))
        .map_err(|e| format!("accepting: {e}"))?;
    // The child's first message says whether it pinned itself.
    let mut hello = end
        .recv_frame(Wait::Forever)
        .map_err(|e| format!("hello: {e:?}"))?;
    let child_pinned = hello.as_slice() == b"ready";
    hello.clear();
    let mut run = Run {
        pinned: parent_pinned && child_pinned,
        ..Run::default()
    };
    let msg = payload(job.payload);
    match job.pattern {
        Pattern::Rtt => {
            let mut samples = Vec::with_capacity(job.count);
            let mut watch = None;
            for i in 0..job.warmup + job.count {
                if i == job.warmup {
                    watch = Some(CpuWatch::start(Some(child.pid())));
                }
                let t0 = Instant::now();
                send(&end, &msg)?;
                let n = recv(&end)?;
                if i >= job.warmup {
                    samples.push(t0.elapsed().as_nanos() as u64);
                }
                if n != job.payload {
                    return Err(format!("an answer of {n} bytes"));
                }
            }
            run.other_cpu_pct = watch.and_then(|w| w.other_pct());
            run.metrics = rtt_metrics(&mut samples);
        }
        Pattern::Throughput => {
            for _ in 0..job.warmup {
                send(&end, &msg)?;
            }
            recv(&end)?;
            let watch = CpuWatch::start(Some(child.pid()));
            let t0 = Instant::now();
            for _ in 0..job.count {
                send(&end, &msg)?;
            }
            recv(&end)?;
            let elapsed = t0.elapsed();
            run.other_cpu_pct = watch.other_pct();
            run.metrics = throughput_metrics(job.count, job.payload, elapsed);
        }
        Pattern::LockIncrements | Pattern::Pool => return Err("not a listener pattern".into()),
    }
    drop(end);
    child.finish().map_err(err("the child"))?;
    drop(listener);
    Ok(run)
}

/// The child's side (`rust-rust`): connects, echoes or counts.
pub fn child(job: &ChildJob) -> Result<(), String> {
    let address = Address::path(job.get("address")?);
    let end = Client::connect_raw(address, &options(&job.mode)).map_err(|e| format!("connecting: {e}"))?;
    send(&end, if job.pinned { b"ready" } else { b"unpinned" })?;
    match job.pattern {
        Pattern::Rtt => {
            for _ in 0..job.warmup + job.count {
                let frame = end
                    .recv_frame(Wait::Forever)
                    .map_err(|e| format!("recv: {e:?}"))?;
                touch(&frame);
                send(&end, &frame)?;
            }
        }
        Pattern::Throughput => {
            for _ in 0..job.warmup {
                recv(&end)?;
            }
            send(&end, b"w")?;
            for _ in 0..job.count {
                recv(&end)?;
            }
            send(&end, b"d")?;
        }
        Pattern::LockIncrements | Pattern::Pool => return Err("not a listener pattern".into()),
    }
    Ok(())
}
