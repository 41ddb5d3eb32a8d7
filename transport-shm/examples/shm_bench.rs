//! Rough numbers for the shared-memory channel, between two real processes
//! (this program runs itself as the peer). Not a test: the side-by-side
//! comparison with other transports is `cargo xtask bench`.
//!
//! `cargo run --release -p transport-shm --example shm_bench`
//! (pin the processes with `taskset -c 0,1` for steadier figures).

use std::{
    env,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use transport_core::{CommandExt, from_env};
use transport_shm::{
    ShmConfig, WaitMode,
    channel::{self, Receiver, Sender},
};

type Bytes = Vec<u8>;
type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
/// The parent's ends and the child process.
type Pair = (Sender<Bytes>, Receiver<Bytes>, std::process::Child);

fn config(mode: WaitMode, limit: usize) -> ShmConfig {
    let buffer = env::var("BENCH_BUFFER").ok().and_then(|b| b.parse().ok());
    let c = ShmConfig::bounded(1024).max_message_size(limit).wait_mode(mode);
    match buffer {
        Some(b) => c.buffer_bytes(b),
        None => c,
    }
}

/// Reads every byte (so a benchmark that claims to move bytes touches them).
fn touch(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail = words
        .remainder()
        .iter()
        .fold(0u64, |acc, &b| acc.rotate_left(8) ^ u64::from(b));
    words.fold(tail, |acc, c| {
        acc ^ u64::from_le_bytes(c.try_into().unwrap_or_default())
    })
}

fn child() -> Result<()> {
    let rx: Receiver<Bytes> = from_env("ping")?;
    let tx: Sender<Bytes> = from_env("pong")?;
    let kind = env::var("BENCH_KIND")?;
    if kind == "echo" {
        // Echo each frame as it came, validated on the parent's side.
        while let Ok(frame) = rx.recv_bytes() {
            if tx
                .send_bytes(transport_core::backend::Frame::bytes(&frame))
                .is_err()
            {
                break;
            }
        }
    } else {
        let n: u64 = kind.parse()?;
        let mut sum = 0u64;
        for _ in 0..n {
            let msg = rx.recv()?;
            sum ^= touch(msg.as_slice());
        }
        tx.send(sum.to_le_bytes().to_vec())?;
    }
    Ok(())
}

fn spawn(kind: &str, mode: WaitMode, limit: usize) -> Result<Pair> {
    let (ping_tx, ping_rx) = channel::channel::<Bytes>(&config(mode, limit))?;
    let (pong_tx, pong_rx) = channel::channel::<Bytes>(&config(mode, 4096))?;
    let child = Command::new(env::current_exe()?)
        .env("BENCH_CHILD", "1")
        .env("BENCH_KIND", kind)
        .endpoint("ping", ping_rx)?
        .endpoint("pong", pong_tx)?
        .stdout(Stdio::inherit())
        .start()?;
    Ok((ping_tx, pong_rx, child))
}

fn rtt(mode: WaitMode) -> Result<(Duration, Duration)> {
    let (tx, rx, mut child) = spawn("echo", mode, 4096)?;
    let payload = vec![7u8; 64];
    let mut samples = Vec::with_capacity(20_000);
    for i in 0..21_000 {
        let t = Instant::now();
        tx.send(&payload).map_err(|e| e.map(drop))?;
        let back = rx.recv()?;
        let dt = t.elapsed();
        assert_eq!(back.len(), 64);
        if i >= 1000 {
            samples.push(dt);
        }
    }
    drop(tx);
    child.wait()?;
    samples.sort();
    Ok((samples[samples.len() / 2], samples[samples.len() * 99 / 100]))
}

fn throughput(mode: WaitMode, size: usize, n: u64) -> Result<f64> {
    let (tx, rx, mut child) = spawn(&n.to_string(), mode, size + 4096)?;
    let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let t = Instant::now();
    for _ in 0..n {
        tx.send(&payload).map_err(|e| e.map(drop))?;
    }
    let ack = rx.recv()?;
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(ack.len(), 8);
    child.wait()?;
    Ok(n as f64 / secs)
}

fn main() -> Result<()> {
    if env::var_os("BENCH_CHILD").is_some() {
        return child();
    }
    for (name, mode) in [
        ("busy-poll", WaitMode::BusyPoll),
        ("blocking", WaitMode::Blocking),
    ] {
        let (p50, p99) = rtt(mode)?;
        println!(
            "rtt 64 B {name:9}: median {:.2} us, p99 {:.2} us",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
    }
    for (name, mode) in [
        ("busy-poll", WaitMode::BusyPoll),
        ("blocking", WaitMode::Blocking),
    ] {
        let rate = throughput(mode, 64, 1_000_000)?;
        println!("64 B {name:9}: {:.2} M msgs/s", rate / 1e6);
        let rate = throughput(mode, 4096, 200_000)?;
        println!("4 KiB {name:9}: {:.0} MB/s", rate * 4096.0 / 1e6);
        let rate = throughput(mode, 1 << 20, 2_000)?;
        println!("1 MiB {name:9}: {:.0} MB/s", rate * (1 << 20) as f64 / 1e6);
    }
    Ok(())
}
