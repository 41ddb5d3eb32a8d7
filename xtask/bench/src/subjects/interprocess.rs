//! Peer: raw `interprocess` local sockets (Unix domain sockets, Windows
//! named pipes), one `write_all` per message and no framing: both sides
//! know the message size. The receiver reads through a 64 KiB buffer and
//! reads every byte of every message.
//!
//! The child creates the listener and says ready; the parent connects.

use std::{
    io::{BufReader, Read, Write},
    time::Instant,
};

use interprocess::local_socket::{
    GenericFilePath, GenericNamespaced, ListenerOptions, Name, Stream, prelude::*,
};

use crate::{
    load::CpuWatch,
    measure::{Job, Pattern, Run, payload, rtt_metrics, throughput_metrics, touch},
    peer::{self, ChildJob, Spawn},
};

/// A socket name unique to this run: in the abstract namespace where the
/// platform has one, otherwise a path in the temporary directory.
fn socket_name(id: &str) -> std::io::Result<Name<'static>> {
    if GenericNamespaced::is_supported() {
        format!("transport-bench-{id}.sock").to_ns_name::<GenericNamespaced>()
    } else {
        std::env::temp_dir()
            .join(format!("transport-bench-{id}.sock"))
            .to_fs_name::<GenericFilePath>()
    }
}

fn io(what: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The parent's side.
pub fn parent(job: &Job) -> Result<Run, String> {
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let id = format!("{}-{}", std::process::id(), super::next_id());
    let mut child = Spawn::new(job)?.arg("socket", &id).start(job.limit)?;
    let ready = child.ready()?;
    let mut stream =
        Stream::connect(socket_name(&id).map_err(io("socket name"))?).map_err(io("connecting"))?;
    let msg = payload(job.payload);
    let mut buf = vec![0u8; job.payload];
    let mut run = Run {
        pinned: parent_pinned && ready.pinned,
        ..Run::default()
    };
    match job.pattern {
        Pattern::Rtt => {
            let mut samples = Vec::with_capacity(job.count);
            let mut watch = None;
            for i in 0..job.warmup + job.count {
                if i == job.warmup {
                    watch = Some(CpuWatch::start(Some(child.pid())));
                }
                let t0 = Instant::now();
                stream.write_all(&msg).map_err(io("write"))?;
                stream.read_exact(&mut buf).map_err(io("read"))?;
                touch(&buf);
                if i >= job.warmup {
                    samples.push(t0.elapsed().as_nanos() as u64);
                }
            }
            run.other_cpu_pct = watch.and_then(|w| w.other_pct());
            run.metrics = rtt_metrics(&mut samples);
        }
        Pattern::Throughput => {
            let mut ack = [0u8; 1];
            for _ in 0..job.warmup {
                stream.write_all(&msg).map_err(io("write"))?;
            }
            stream.read_exact(&mut ack).map_err(io("read ack"))?;
            let watch = CpuWatch::start(Some(child.pid()));
            let t0 = Instant::now();
            for _ in 0..job.count {
                stream.write_all(&msg).map_err(io("write"))?;
            }
            stream.read_exact(&mut ack).map_err(io("read ack"))?;
            let elapsed = t0.elapsed();
            run.other_cpu_pct = watch.other_pct();
            run.metrics = throughput_metrics(job.count, job.payload, elapsed);
        }
        Pattern::LockIncrements | Pattern::Pool => return Err("not a socket pattern".into()),
    }
    drop(stream);
    child.finish()?;
    Ok(run)
}

/// The child's side.
pub fn child(job: &ChildJob) -> Result<(), String> {
    let name = socket_name(job.get("socket")?).map_err(io("socket name"))?;
    let listener = ListenerOptions::new()
        .name(name)
        .create_sync()
        .map_err(io("listening"))?;
    job.ready("");
    let stream = listener.accept().map_err(io("accepting"))?;
    drop(listener);
    let mut reader = BufReader::with_capacity(64 << 10, &stream);
    let mut buf = vec![0u8; job.payload];
    match job.pattern {
        Pattern::Rtt => {
            let mut writer = &stream;
            for _ in 0..job.warmup + job.count {
                reader.read_exact(&mut buf).map_err(io("read"))?;
                touch(&buf);
                writer.write_all(&buf).map_err(io("write"))?;
            }
        }
        Pattern::Throughput => {
            let mut writer = &stream;
            for _ in 0..job.warmup {
                reader.read_exact(&mut buf).map_err(io("read"))?;
                touch(&buf);
            }
            writer.write_all(b"w").map_err(io("write ack"))?;
            for _ in 0..job.count {
                reader.read_exact(&mut buf).map_err(io("read"))?;
                touch(&buf);
            }
            writer.write_all(b"d").map_err(io("write ack"))?;
        }
        Pattern::LockIncrements | Pattern::Pool => return Err("not a socket pattern".into()),
    }
    Ok(())
}
