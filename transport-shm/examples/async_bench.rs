//! Round trips of 64 B between two real processes, sync against async: the
//! async side drives the ends as an adapter would (the non-blocking call,
//! then `poll_*_ready`), with the tests' minimal executor (a waker that
//! unparks the thread), in both processes. Not a test: the side-by-side
//! comparison is `cargo xtask bench`.
//!
//! Two patterns: a plain echo (the reply lands while the waiting side still
//! spins), and an echo that holds each message for 200 µs first, so every
//! wait outlasts the spin and goes to sleep: the sync side is woken by the
//! peer's futex call, the async side by the bridge thread, which then
//! unparks the task's thread.
//!
//! `cargo run --release -p transport-shm --example async_bench`
//! (pin the processes with `taskset -c 0,1` for steadier figures).

#[path = "../tests/support/executor.rs"]
mod executor;

use std::{
    env,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use executor::Executor;
use transport_core::{
    CommandExt,
    backend::{Frame, RawReceiver, RawSender, Wait},
    from_env,
};
use transport_shm::{ShmConfig, ShmReceiver, ShmSender, WaitMode, channel::raw_channel};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const WARM_UP: usize = 1_000;
const TIMED: usize = 20_000;
/// Far beyond any round trip: a lost wake-up ends the run with a panic.
const BOUND: Duration = Duration::from_secs(30);

/// One side's way of sending and receiving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Sync,
    Async,
}

impl Style {
    fn parse(s: &str) -> Style {
        if s == "async" { Style::Async } else { Style::Sync }
    }

    fn name(self) -> &'static str {
        match self {
            Style::Sync => "sync",
            Style::Async => "async",
        }
    }
}

/// Sends and receives in one style.
struct Ends {
    tx: ShmSender,
    rx: ShmReceiver,
    style: Style,
    ex: Executor,
}

impl Ends {
    fn send(&self, bytes: &[u8]) -> Result<()> {
        match self.style {
            Style::Sync => self.tx.send_bytes(bytes, Wait::Forever),
            Style::Async => self.ex.send(&self.tx, bytes, Instant::now() + BOUND),
        }
        .map_err(|e| format!("send: {e:?}").into())
    }

    /// Receives one frame and passes its bytes to `f`; `None` once the peer
    /// is gone.
    fn recv<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let frame = match self.style {
            Style::Sync => self.rx.recv_frame(Wait::Forever),
            Style::Async => self.ex.recv(&self.rx, Instant::now() + BOUND),
        };
        frame.ok().map(|frame| f(frame.bytes()))
    }
}

fn child() -> Result<()> {
    let ends = Ends {
        rx: from_env("ping")?,
        tx: from_env("pong")?,
        style: Style::parse(&env::var("BENCH_STYLE")?),
        ex: Executor::new(1),
    };
    let hold = Duration::from_micros(env::var("BENCH_HOLD_US")?.parse()?);
    let mut buf = Vec::with_capacity(64);
    while ends
        .recv(|b| {
            buf.clear();
            buf.extend_from_slice(b);
        })
        .is_some()
    {
        // Busy, not asleep: the time must pass on this side, not in a wake-up.
        let t = Instant::now();
        while t.elapsed() < hold {
            std::hint::spin_loop();
        }
        ends.send(&buf)?;
    }
    Ok(())
}

fn rtt(style: Style, mode: WaitMode, hold: Duration, n: usize) -> Result<(Duration, Duration)> {
    let config = ShmConfig::bounded(1024).max_message_size(4096).wait_mode(mode);
    let (ping_tx, ping_rx) = raw_channel(&config)?;
    let (pong_tx, pong_rx) = raw_channel(&config)?;
    let mut child = Command::new(env::current_exe()?)
        .env("BENCH_CHILD", "1")
        .env("BENCH_STYLE", style.name())
        .env("BENCH_HOLD_US", hold.as_micros().to_string())
        .endpoint("ping", ping_rx)?
        .endpoint("pong", pong_tx)?
        .stdout(Stdio::inherit())
        .start()?;
    let ends = Ends {
        tx: ping_tx,
        rx: pong_rx,
        style,
        ex: Executor::new(1),
    };
    let payload = [7u8; 64];
    let mut samples = Vec::with_capacity(n);
    for i in 0..WARM_UP + n {
        let t = Instant::now();
        ends.send(&payload)?;
        let len = ends.recv(<[u8]>::len).ok_or("the echo process left")?;
        let dt = t.elapsed();
        assert_eq!(len, 64);
        if i >= WARM_UP {
            samples.push(dt);
        }
    }
    drop(ends);
    child.wait()?;
    samples.sort();
    Ok((samples[samples.len() / 2], samples[samples.len() * 99 / 100]))
}

fn main() -> Result<()> {
    if env::var_os("BENCH_CHILD").is_some() {
        return child();
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let patterns = [
        ("echo", Duration::ZERO, TIMED),
        ("echo after 200 us", Duration::from_micros(200), TIMED / 10),
    ];
    for (pattern, hold, n) in patterns {
        for (mode_name, mode) in [
            ("blocking", WaitMode::Blocking),
            ("busy-poll", WaitMode::BusyPoll),
        ] {
            let (sync50, sync99) = rtt(Style::Sync, mode, hold, n)?;
            let (async50, async99) = rtt(Style::Async, mode, hold, n)?;
            println!(
                "rtt 64 B, {pattern}, {mode_name}: sync median {:.2} us p99 {:.2} us | async median {:.2} us p99 {:.2} us | async/sync {:.2}",
                us(sync50),
                us(sync99),
                us(async50),
                us(async99),
                async50.as_secs_f64() / sync50.as_secs_f64()
            );
        }
    }
    Ok(())
}
