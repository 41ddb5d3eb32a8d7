//! Turning a descriptor the hub read itself into an ipc-channel channel.
//!
//! The hub reads members' sockets with its own code, so the channels a
//! member sends arrive as plain descriptors; the hub writes to members with
//! ipc-channel, which only makes its channels from its own messages. Each
//! process that needs it keeps one private ipc-channel channel, *the
//! carrier*, whose sending socket it also holds as a plain descriptor
//! (obtained once, by sending the carrier's sender to itself through a
//! private listening socket, checked to come from this very process).
//! To turn a descriptor into a channel, the process writes a one-datagram
//! ipc-channel message carrying it to the carrier, then receives it with
//! ipc-channel. Only this process writes to the carrier, so ipc-channel
//! reads only what this code wrote.

use std::{
    io,
    os::fd::{AsRawFd, OwnedFd, RawFd},
    sync::Mutex,
    time::{Duration, Instant},
};

use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use transport_core::sync::LockExt;
use serde::{Deserialize, Serialize};

use super::fd::{self, Listener};
use crate::wire::{Down, Request, decode};

/// What travels through the carrier.
#[derive(Serialize, Deserialize)]
enum Carry {
    Sender(IpcSender<Carry>),
    Down(IpcSender<Down>),
    Up(IpcReceiver<Request>),
}

/// [`Carry`] as written by hand: the channel as the index of its
/// descriptor (the only one).
#[derive(Serialize)]
enum CarryIndex {
    #[allow(dead_code)]
    Sender(usize),
    Down(usize),
    Up(usize),
}

struct Carrier {
    raw_tx: OwnedFd,
    rx: IpcReceiver<Carry>,
}

static CARRIER: Mutex<Option<Carrier>> = Mutex::new(None);

/// How long making the carrier may take.
const SETUP: Duration = Duration::from_secs(10);

fn setup() -> io::Result<Carrier> {
    let listener = Listener::bind_private()?;
    let to_self = IpcSender::<Carry>::connect(fd::path_text(listener.path())?)?;
    let deadline = Instant::now() + SETUP;
    let conn = loop {
        let mut poll = [fd::readable(listener.raw())];
        fd::poll(
            &mut poll,
            Some(deadline.saturating_duration_since(Instant::now())),
        )?;
        if let Some(conn) = listener.accept()? {
            break conn;
        }
        if Instant::now() >= deadline {
            return Err(io::Error::other("the carrier's connection did not come"));
        }
    };
    if fd::peer(conn.as_raw_fd())?.0 != std::process::id() {
        return Err(io::Error::other(
            "the carrier's connection came from another process",
        ));
    }
    let (tx, rx) = ipc::channel::<Carry>()?;
    to_self
        .send(Carry::Sender(tx))
        .map_err(|e| io::Error::other(e.to_string()))?;
    let mut buf = vec![0; 256];
    let mut poll = [fd::readable(conn.as_raw_fd())];
    fd::poll(&mut poll, Some(SETUP))?;
    let got = fd::recv(conn.as_raw_fd(), &mut buf)?
        .ok_or_else(|| io::Error::other("the carrier's sender did not come"))?;
    let mut fds = got.fds;
    if got.truncated || fds.len() != 1 {
        return Err(io::Error::other("the carrier's sender came malformed"));
    }
    Ok(Carrier {
        raw_tx: fds.remove(0),
        rx,
    })
}

fn carry(fd: OwnedFd, which: CarryIndex) -> io::Result<Carry> {
    if !fd::is_channel(fd.as_raw_fd()) {
        return Err(io::Error::other("not a channel"));
    }
    let payload = postcard::to_stdvec(&which).map_err(io::Error::other)?;
    let datagram = decode::datagram(&payload);
    let mut carrier = CARRIER.lock_unpoisoned();
    if carrier.is_none() {
        *carrier = Some(setup()?);
    }
    let Some(c) = carrier.as_ref() else {
        unreachable!("set above")
    };
    let raw: RawFd = fd.as_raw_fd();
    fd::send(c.raw_tx.as_raw_fd(), &[&datagram], &[raw])?;
    drop(fd);
    c.rx.recv().map_err(|e| io::Error::other(e.to_string()))
}

/// A member's `down` channel, from its descriptor.
pub(crate) fn down(fd: OwnedFd) -> io::Result<IpcSender<Down>> {
    match carry(fd, CarryIndex::Down(0))? {
        Carry::Down(tx) => Ok(tx),
        _ => Err(io::Error::other("the carrier gave back another channel")),
    }
}

/// A member's `up` channel, from its descriptor.
pub(crate) fn up(fd: OwnedFd) -> io::Result<IpcReceiver<Request>> {
    match carry(fd, CarryIndex::Up(0))? {
        Carry::Up(rx) => Ok(rx),
        _ => Err(io::Error::other("the carrier gave back another channel")),
    }
}
