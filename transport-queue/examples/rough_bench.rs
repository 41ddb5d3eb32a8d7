//! A rough side-by-side measurement, two processes, release build: raw
//! ipc-channel `IpcBytesSender` against this queue (its `Transport` view),
//! 64-byte messages. `cargo xtask bench` is the real benchmark; this is a
//! quick check of the ratios.
//!
//! ```text
//! cargo run --release -p transport-queue --example rough_bench [round_trips] [messages]
//! ```
//!
//! - round trip: the parent sends 64 B, the child sends 64 B back; median
//!   of the timed round trips after 1,000 untimed ones;
//! - throughput: the parent sends `messages` × 64 B one way, timed until
//!   the child acknowledges the last one;
//! - two floors for the queue's round trip, in raw ipc-channel: the same
//!   messages the queue exchanges when a child puts to a parent waiting in
//!   a get and takes the parent's answer (item, put, acknowledgement), read
//!   by a plain receive and through a receiver set.

use std::{
    env,
    error::Error,
    process::{Child, Command},
    time::{Duration, Instant},
};

use ipc_channel::ipc::{
    self, IpcBytesReceiver, IpcBytesSender, IpcOneShotServer, IpcReceiver, IpcReceiverSet, IpcSender,
};
use transport_core::{CommandExt, Frame, Transport, from_env};
use transport_queue::{QueueReceiver, QueueSender, QueueTransport};

type Bytes<R> = transport_core::Receiver<Vec<u8>, R>;
type BytesTx<S> = transport_core::Sender<Vec<u8>, S>;

const PAYLOAD: [u8; 64] = [7; 64];
const WARMUP: usize = 1000;

fn main() -> Result<(), Box<dyn Error>> {
    match env::var("BENCH_ROLE").as_deref() {
        Ok("raw") => raw_child(),
        Ok("queue") => queue_child(),
        Ok("floor") => floor_child(),
        _ => parent(),
    }
}

fn arg(i: usize, default: usize) -> usize {
    env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn spawn(cmd: &mut Command) -> Result<Child, Box<dyn Error>> {
    Ok(cmd.start()?)
}

fn parent() -> Result<(), Box<dyn Error>> {
    let trips = arg(1, 20_000);
    let messages = arg(2, 1_000_000);
    let exe = env::current_exe()?;

    // Raw ipc-channel: the child sends back its two channel ends.
    let (server, name) = IpcOneShotServer::<(IpcBytesSender, IpcBytesReceiver)>::new()?;
    let mut child = spawn(
        Command::new(&exe)
            .env("BENCH_TRIPS", trips.to_string())
            .env("BENCH_ROLE", "raw")
            .env("BENCH_SERVER", name),
    )?;
    let (_, (tx, rx)) = server.accept()?;
    let mut rtts = Vec::with_capacity(trips);
    for i in 0..WARMUP + trips {
        let t = Instant::now();
        tx.send(&PAYLOAD)?;
        rx.recv()?;
        if i >= WARMUP {
            rtts.push(t.elapsed());
        }
    }
    let raw_rtt = median(rtts);
    tx.send(&(messages as u64).to_le_bytes())?;
    let t = Instant::now();
    for _ in 0..messages {
        tx.send(&PAYLOAD)?;
    }
    rx.recv()?;
    let raw_rate = messages as f64 / t.elapsed().as_secs_f64();
    drop(tx);
    child.wait()?;

    // The queue, through its `Transport` view.
    let config = transport_core::ChannelConfig::default();
    let (to_child, child_rx) = QueueTransport::channel(&config)?;
    let (child_tx, from_child) = QueueTransport::channel(&config)?;
    let to_child = BytesTx::from_raw(to_child);
    let from_child = Bytes::from_raw(from_child);
    let mut child = spawn(
        Command::new(&exe)
            .env("BENCH_TRIPS", trips.to_string())
            .env("BENCH_ROLE", "queue")
            .endpoint("rx", Bytes::<QueueReceiver>::from_raw(child_rx))?
            .endpoint("tx", BytesTx::<QueueSender>::from_raw(child_tx))?,
    )?;
    let mut rtts = Vec::with_capacity(trips);
    for i in 0..WARMUP + trips {
        let t = Instant::now();
        to_child.send_bytes(&PAYLOAD)?;
        from_child.recv_bytes()?;
        if i >= WARMUP {
            rtts.push(t.elapsed());
        }
    }
    let queue_rtt = median(rtts);
    // The count is a local: the error gives back an owned copy, so it can
    // go up with `?`.
    to_child
        .send_bytes(&(messages as u64).to_le_bytes())
        .map_err(|e| e.map(<[u8]>::to_vec))?;
    let t = Instant::now();
    for _ in 0..messages {
        to_child.send_bytes(&PAYLOAD)?;
    }
    from_child.recv_bytes()?;
    let queue_rate = messages as f64 / t.elapsed().as_secs_f64();
    drop(to_child);
    child.wait()?;

    let floor_plain = floor(&exe, trips, false)?;
    let floor_set = floor(&exe, trips, true)?;

    println!("64 B, {trips} round trips, {messages} messages one way");
    println!("raw IpcBytesSender : rtt median {raw_rtt:?}, {raw_rate:.0} msg/s");
    println!("transport-queue    : rtt median {queue_rtt:?}, {queue_rate:.0} msg/s");
    println!(
        "ratios             : rtt {:.2}x ipc-channel, msg/s {:.2}x ipc-channel",
        queue_rtt.as_secs_f64() / raw_rtt.as_secs_f64(),
        queue_rate / raw_rate
    );
    println!(
        "floor (item, put, ack): rtt median {floor_plain:?} ({:.2}x), read through a receiver set {floor_set:?} ({:.2}x)",
        floor_plain.as_secs_f64() / raw_rtt.as_secs_f64(),
        floor_set.as_secs_f64() / raw_rtt.as_secs_f64(),
    );
    Ok(())
}

/// Channels a floor child hands back: items to it, its puts, acks to it.
type FloorEnds = (IpcBytesSender, IpcReceiver<Vec<u8>>, IpcBytesSender);

/// The round trip of an acknowledged put in raw ipc-channel: the parent
/// sends an item, the child puts 64 B back, the parent acknowledges.
fn floor(exe: &std::path::Path, trips: usize, set: bool) -> Result<Duration, Box<dyn Error>> {
    let (server, name) = IpcOneShotServer::<FloorEnds>::new()?;
    let mut child = spawn(
        Command::new(exe)
            .env("BENCH_TRIPS", trips.to_string())
            .env("BENCH_ROLE", "floor")
            .env("BENCH_SERVER", name),
    )?;
    let (_, (items, puts, acks)) = server.accept()?;
    let mut rtts = Vec::with_capacity(trips);
    if set {
        let mut puts_set = IpcReceiverSet::new()?;
        puts_set.add(puts)?;
        for i in 0..WARMUP + trips {
            let t = Instant::now();
            items.send(&PAYLOAD)?;
            puts_set.select()?;
            acks.send(b"ok")?;
            if i >= WARMUP {
                rtts.push(t.elapsed());
            }
        }
    } else {
        for i in 0..WARMUP + trips {
            let t = Instant::now();
            items.send(&PAYLOAD)?;
            puts.recv()?;
            acks.send(b"ok")?;
            if i >= WARMUP {
                rtts.push(t.elapsed());
            }
        }
    }
    child.wait()?;
    Ok(median(rtts))
}

fn floor_child() -> Result<(), Box<dyn Error>> {
    let (items_tx, items) = ipc::bytes_channel()?;
    let (puts, puts_rx) = ipc::channel::<Vec<u8>>()?;
    let (acks_tx, acks) = ipc::bytes_channel()?;
    IpcSender::<FloorEnds>::connect(env::var("BENCH_SERVER")?)?.send((items_tx, puts_rx, acks_tx))?;
    let trips = WARMUP + env::var("BENCH_TRIPS")?.parse::<usize>()?;
    for _ in 0..trips {
        items.recv()?;
        puts.send(PAYLOAD.to_vec())?;
        acks.recv()?;
    }
    Ok(())
}

fn raw_child() -> Result<(), Box<dyn Error>> {
    let (tx_to_child, rx_in_child) = ipc::bytes_channel()?;
    let (tx_in_child, rx_to_parent) = ipc::bytes_channel()?;
    IpcSender::connect(env::var("BENCH_SERVER")?)?.send((tx_to_child, rx_to_parent))?;
    let trips = WARMUP + env::var("BENCH_TRIPS")?.parse::<usize>()?;
    for _ in 0..trips {
        rx_in_child.recv()?;
        tx_in_child.send(&PAYLOAD)?;
    }
    let n = u64::from_le_bytes(rx_in_child.recv()?[..8].try_into()?);
    for _ in 0..n {
        rx_in_child.recv()?;
    }
    tx_in_child.send(b"done")?;
    Ok(())
}

fn queue_child() -> Result<(), Box<dyn Error>> {
    let rx: Bytes<QueueReceiver> = from_env("rx")?;
    let tx: BytesTx<QueueSender> = from_env("tx")?;
    let trips = WARMUP + env::var("BENCH_TRIPS")?.parse::<usize>()?;
    for _ in 0..trips {
        rx.recv_bytes()?;
        tx.send_bytes(&PAYLOAD)?;
    }
    let first = rx.recv_bytes()?;
    let n = u64::from_le_bytes(first.bytes()[..8].try_into()?);
    for _ in 0..n {
        rx.recv_bytes()?;
    }
    tx.send_bytes(b"done")?;
    Ok(())
}
