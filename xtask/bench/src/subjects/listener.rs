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

use std::{path::PathBuf, process::Command};

use transport_core::{RawReceiver, RawSender, Wait};
use transport_pipe::{Address, Client, Listener, NamedEnd, Options};

use super::python;
use crate::{
    exchange::{Serve, Step, drive, serve},
    measure::{Job, Run, payload, touch},
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
    drive(job, Some(child.pid()), &mut run, |step| match step {
        Step::Send(_) => send(&end, &msg),
        Step::Echo(_) => match recv(&end)? {
            n if n == job.payload => Ok(()),
            n => Err(format!("an answer of {n} bytes")),
        },
        Step::Acked(_) => recv(&end).map(drop),
    })?;
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
    serve(job, |step| match step {
        Serve::Echo(_) => {
            let frame = end
                .recv_frame(Wait::Forever)
                .map_err(|e| format!("recv: {e:?}"))?;
            touch(&frame);
            send(&end, &frame)
        }
        Serve::Take(_) => recv(&end).map(drop),
        Serve::Ack(_) => send(&end, b"a"),
    })
}
