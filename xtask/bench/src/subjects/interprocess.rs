//! Peer: raw `interprocess` local sockets (Unix domain sockets, Windows
//! named pipes), one `write_all` per message and no framing: both sides
//! know the message size. The receiver reads through a 64 KiB buffer and
//! reads every byte of every message.
//!
//! The child creates the listener and says ready; the parent connects.

use std::io::{BufReader, Read, Write};

use interprocess::local_socket::{
    GenericFilePath, GenericNamespaced, ListenerOptions, Name, Stream, prelude::*,
};

use crate::{
    exchange::{Serve, Step, drive, serve},
    measure::{Job, Run, payload, touch},
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
    let mut ack = [0u8; 1];
    drive(job, Some(child.pid()), &mut run, |step| match step {
        Step::Send(_) => stream.write_all(&msg).map_err(io("write")),
        Step::Echo(_) => {
            stream.read_exact(&mut buf).map_err(io("read"))?;
            touch(&buf);
            Ok(())
        }
        Step::Acked(_) => stream.read_exact(&mut ack).map_err(io("read ack")),
    })?;
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
    let mut writer = &stream;
    serve(job, |step| match step {
        Serve::Echo(_) => {
            reader.read_exact(&mut buf).map_err(io("read"))?;
            touch(&buf);
            writer.write_all(&buf).map_err(io("write"))
        }
        Serve::Take(_) => {
            reader.read_exact(&mut buf).map_err(io("read"))?;
            touch(&buf);
            Ok(())
        }
        Serve::Ack(_) => writer.write_all(b"a").map_err(io("write ack")),
    })
}
