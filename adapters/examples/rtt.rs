//! Measures the 64-byte round trip through the blocking API and through
//! the async one, on the chosen backend (two processes) and on the `local`
//! backend (two threads), and prints the ratio. A rough measurement for
//! development; `cargo xtask bench` is the real one.
//!
//! ```text
//! cargo run --release -p transport-adapters --example rtt --no-default-features --features pipe
//! ```
//!
//! Both sides use the same API: a blocking client talks to a blocking echo,
//! an async client (tokio, current-thread runtime) to an async echo; once
//! over a two-way connection ([`transport_adapters::duplex`]), once over
//! two one-way channels (`Sender`/`Receiver` against `AsyncSender` /
//! `AsyncReceiver`, without the locks of a `Paired` end).

use std::{
    env,
    error::Error,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use transport_adapters::{
    AsyncConnection, AsyncReceiver, AsyncSender, Backend, DuplexBackend, Receiver, Sender,
};
use transport_core::{
    ChannelConfig, CommandExt, Connection, Duplex, RecvError, Transport,
    backend::{PollRecv, PollSend},
    from_env,
    local::Local,
};

const WARM_UP: usize = 1_000;
const TIMED: usize = 20_000;
const ECHO: &str = "TRANSPORT_RTT_ECHO";

type Ping = [u8; 64];

fn main() -> Result<(), Box<dyn Error>> {
    if let Ok(mode) = env::var(ECHO) {
        if mode.ends_with("-ch") {
            serve_channels(from_env("ping")?, from_env("pong")?, &mode);
        } else {
            let end: <DuplexBackend as Duplex>::End = from_env("end")?;
            serve(end, &mode);
        }
        return Ok(());
    }
    println!("64 B round trip, {TIMED} timed after {WARM_UP}, median / p99:");
    for (name, cross_process) in [(DuplexBackend::NAME, true), ("local", false)] {
        let sync = if cross_process {
            measure_process("sync")?
        } else {
            measure_local("sync")
        };
        let asy = if cross_process {
            measure_process("async")?
        } else {
            measure_local("async")
        };
        let ratio = asy.0.as_secs_f64() / sync.0.as_secs_f64();
        println!("  {name:>8} duplex    sync  {:>9.2?} / {:>9.2?}", sync.0, sync.1);
        println!(
            "  {name:>8} duplex    async {:>9.2?} / {:>9.2?}   async/sync median {ratio:.2}x",
            asy.0, asy.1
        );
    }
    let sync = measure_channels("sync-ch")?;
    let asy = measure_channels("async-ch")?;
    let ratio = asy.0.as_secs_f64() / sync.0.as_secs_f64();
    let name = Backend::NAME;
    println!("  {name:>8} channels  sync  {:>9.2?} / {:>9.2?}", sync.0, sync.1);
    println!(
        "  {name:>8} channels  async {:>9.2?} / {:>9.2?}   async/sync median {ratio:.2}x",
        asy.0, asy.1
    );
    Ok(())
}

/// The round trip over two one-way channels of the chosen backend.
fn measure_channels(mode: &str) -> Result<(Duration, Duration), Box<dyn Error>> {
    let (ping_tx, ping_rx) = transport_adapters::unbounded::<Ping>()?;
    let (pong_tx, pong_rx) = transport_adapters::unbounded::<Ping>()?;
    let mut child = Command::new(env::current_exe()?)
        .env(ECHO, mode)
        .endpoint("ping", ping_rx)?
        .endpoint("pong", pong_tx)?
        .start()?;
    let ping: Ping = [7; 64];
    let mut times = Vec::with_capacity(TIMED);
    if mode == "sync-ch" {
        for i in 0..WARM_UP + TIMED {
            let start = Instant::now();
            ping_tx.send(ping)?;
            let pong = pong_rx.recv()?;
            let took = start.elapsed();
            assert_eq!(pong[0], 7);
            if i >= WARM_UP {
                times.push(took);
            }
        }
        drop(ping_tx);
    } else {
        let (tx, mut rx) = (AsyncSender::from(ping_tx), AsyncReceiver::from(pong_rx));
        runtime().block_on(async {
            for i in 0..WARM_UP + TIMED {
                let start = Instant::now();
                tx.send(&ping).await.expect("sending");
                let pong = rx.recv().await.expect("receiving");
                let took = start.elapsed();
                assert_eq!(pong[0], 7);
                if i >= WARM_UP {
                    times.push(took);
                }
            }
        });
        drop(tx);
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("the echo process failed: {status}").into());
    }
    Ok(stats(times))
}

/// Echoes over two one-way channels until the client hangs up.
fn serve_channels(pings: Receiver<Ping>, pongs: Sender<Ping>, mode: &str) {
    if mode == "sync-ch" {
        for ping in pings.iter() {
            let ping = ping.expect("echo receiving");
            pongs.send(&*ping_of(&ping)).expect("echoing");
        }
        return;
    }
    let (mut pings, pongs) = (AsyncReceiver::from(pings), AsyncSender::from(pongs));
    runtime().block_on(async {
        loop {
            match pings.recv().await {
                Ok(ping) => pongs.send(&*ping_of(&ping)).await.expect("echoing"),
                Err(RecvError::Disconnected) => return,
                Err(e) => panic!("echo receiving: {e}"),
            }
        }
    });
}

/// Median and p99 of the round trips `client` timed.
fn stats(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

fn measure_process(mode: &str) -> Result<(Duration, Duration), Box<dyn Error>> {
    let (mine, theirs) = DuplexBackend::duplex(&ChannelConfig::default())?;
    let mut child = Command::new(env::current_exe()?)
        .env(ECHO, mode)
        .endpoint("end", theirs)?
        .start()?;
    let times = client(mine, mode);
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("the echo process failed: {status}").into());
    }
    Ok(stats(times))
}

fn measure_local(mode: &str) -> (Duration, Duration) {
    let (mine, theirs) = Local::duplex(&ChannelConfig::default()).expect("a local pair");
    let mode_owned = mode.to_owned();
    let echo = thread::spawn(move || serve(theirs, &mode_owned));
    let times = client(mine, mode);
    echo.join().expect("the echo thread");
    stats(times)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn client<E: PollSend + PollRecv + Sync>(end: E, mode: &str) -> Vec<Duration> {
    let ping: Ping = [7; 64];
    let mut times = Vec::with_capacity(TIMED);
    if mode == "sync" {
        let conn: Connection<Ping, Ping, E> = Connection::from_raw(end);
        for i in 0..WARM_UP + TIMED {
            let start = Instant::now();
            conn.send(&ping).expect("sending");
            let pong = conn.recv().expect("receiving");
            let took = start.elapsed();
            assert_eq!(pong[0], 7);
            if i >= WARM_UP {
                times.push(took);
            }
        }
    } else {
        let conn: AsyncConnection<Ping, Ping, E> = AsyncConnection::from_raw(end);
        runtime().block_on(async {
            for i in 0..WARM_UP + TIMED {
                let start = Instant::now();
                conn.send(&ping).await.expect("sending");
                let pong = conn.recv().await.expect("receiving");
                let took = start.elapsed();
                assert_eq!(pong[0], 7);
                if i >= WARM_UP {
                    times.push(took);
                }
            }
        });
    }
    times
}

/// Echoes every ping until the client hangs up.
fn serve<E: PollSend + PollRecv + Sync>(end: E, mode: &str) {
    if mode == "sync" {
        let conn: Connection<Ping, Ping, E> = Connection::from_raw(end);
        loop {
            match conn.recv() {
                Ok(ping) => conn.send(&*ping_of(&ping)).expect("echoing"),
                Err(RecvError::Disconnected) => return,
                Err(e) => panic!("echo receiving: {e}"),
            }
        }
    }
    let conn: AsyncConnection<Ping, Ping, E> = AsyncConnection::from_raw(end);
    runtime().block_on(async {
        loop {
            match conn.recv().await {
                Ok(ping) => conn.send(&*ping_of(&ping)).await.expect("echoing"),
                Err(RecvError::Disconnected) => return,
                Err(e) => panic!("echo receiving: {e}"),
            }
        }
    });
}

/// The ping as an owned array to send back.
fn ping_of(archived: &[u8; 64]) -> Box<Ping> {
    Box::new(*archived)
}
