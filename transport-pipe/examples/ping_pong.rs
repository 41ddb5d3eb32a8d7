//! Python's classic `Pipe()` example, as two real processes: the parent and
//! a child it spawns exchange messages over a two-way pipe.
//!
//! ```text
//! cargo run -p transport-pipe --example ping_pong
//! ```
//!
//! The example runs itself again as the child; the child's end travels in
//! an environment variable (`CommandExt::endpoint`) and is opened with
//! `from_env`. When the parent drops its end, the child's `recv` returns
//! `Disconnected` (Python's `EOFError`) and the child exits.

use std::{error::Error, process::Command};

use transport_core::{CommandExt, RecvError, from_env, rkyv};
use transport_pipe::Connection;

/// What the parent asks.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
#[rkyv(crate = transport_core::rkyv)]
enum Request {
    Ping(u32),
    Sum(Vec<i64>),
}

/// What the child answers.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
#[rkyv(crate = transport_core::rkyv)]
enum Reply {
    Hello { pid: u32 },
    Pong(u32),
    Total(i64),
}

const ROLE: &str = "PING_PONG_ROLE";

fn main() -> Result<(), Box<dyn Error>> {
    match std::env::var(ROLE).as_deref() {
        Ok("child") => child(),
        _ => parent(),
    }
}

fn parent() -> Result<(), Box<dyn Error>> {
    let (mine, theirs) = transport_pipe::duplex::<Request, Reply>()?;
    let mut child = Command::new(std::env::current_exe()?)
        .env(ROLE, "child")
        .endpoint("conn", theirs)?
        .start()?;

    if let ArchivedReply::Hello { pid } = &*mine.recv()? {
        println!("parent: child {pid} says hello");
    }
    for n in 0..3 {
        mine.send(Request::Ping(n))?;
        if let ArchivedReply::Pong(m) = &*mine.recv()? {
            println!("parent: ping {n} -> pong {m}");
        }
    }
    mine.send(Request::Sum(vec![42, -7, 1000]))?;
    // The guard reads the archived reply in place; `deserialize` gives an
    // owned value when one is needed.
    let total = mine.recv()?.deserialize()?;
    println!("parent: sum -> {total:?}");

    drop(mine); // the child's recv now says Disconnected
    let status = child.wait()?;
    println!("parent: child exited with {status}");
    Ok(())
}

fn child() -> Result<(), Box<dyn Error>> {
    let conn: Connection<Reply, Request> = from_env("conn")?;
    conn.send(Reply::Hello {
        pid: std::process::id(),
    })?;
    loop {
        match conn.recv() {
            Ok(request) => match &*request {
                ArchivedRequest::Ping(n) => conn.send(Reply::Pong(n.to_native() * 10))?,
                ArchivedRequest::Sum(values) => {
                    conn.send(Reply::Total(values.iter().map(|v| v.to_native()).sum()))?
                }
            },
            Err(RecvError::Disconnected) => {
                println!("child: the parent closed its end; exiting");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
}
