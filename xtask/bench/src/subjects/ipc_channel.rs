//! Peer: raw `ipc-channel` byte channels (`IpcBytesSender` /
//! `IpcBytesReceiver`), one `send` per message; the receiver reads every
//! byte of the `Vec<u8>` it gets.
//!
//! The child opens a one-shot server and says ready with its name; the
//! parent connects and sends the child its two ends (there and back).

use ipc_channel::ipc::{self, IpcBytesReceiver, IpcBytesSender, IpcOneShotServer, IpcSender};

use crate::{
    exchange::{Serve, Step, drive, serve},
    measure::{Job, Run, payload, touch},
    peer::{self, ChildJob, Spawn},
};

/// What the parent sends the child: where to receive, where to answer.
type Ends = (IpcBytesReceiver, IpcBytesSender);

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The parent's side.
pub fn parent(job: &Job) -> Result<Run, String> {
    let parent_pinned = peer::pin(peer::PARENT_CPU);
    let mut child = Spawn::new(job)?.start(job.limit)?;
    let ready = child.ready()?;
    let server = ready.get("server")?.to_owned();
    let (tx, there_rx) = ipc::bytes_channel().map_err(err("creating a channel"))?;
    let (back_tx, rx) = ipc::bytes_channel().map_err(err("creating a channel"))?;
    let bootstrap: IpcSender<Ends> = IpcSender::connect(server).map_err(err("connecting"))?;
    bootstrap
        .send((there_rx, back_tx))
        .map_err(err("handing over the ends"))?;
    let msg = payload(job.payload);
    let mut run = Run {
        pinned: parent_pinned && ready.pinned,
        ..Run::default()
    };
    drive(job, Some(child.pid()), &mut run, |step| match step {
        Step::Send(_) => tx.send(&msg).map_err(err("send")),
        Step::Echo(_) => {
            touch(&rx.recv().map_err(err("receive"))?);
            Ok(())
        }
        Step::Acked(_) => rx.recv().map(drop).map_err(err("receive ack")),
    })?;
    drop((tx, rx));
    child.finish()?;
    Ok(run)
}

/// The child's side.
pub fn child(job: &ChildJob) -> Result<(), String> {
    let (server, name) = IpcOneShotServer::<Ends>::new().map_err(err("creating the one-shot server"))?;
    job.ready(&format!("server={name}"));
    let (_, (rx, tx)) = server.accept().map_err(err("accepting"))?;
    serve(job, |step| match step {
        Serve::Echo(_) => {
            let msg = rx.recv().map_err(err("receive"))?;
            touch(&msg);
            tx.send(&msg).map_err(err("send"))
        }
        Serve::Take(_) => {
            touch(&rx.recv().map_err(err("receive"))?);
            Ok(())
        }
        Serve::Ack(_) => tx.send(b"a").map_err(err("send ack")),
    })
}
