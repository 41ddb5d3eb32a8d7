//! A worker pool whose workers join by URL: the same `Queue` on a NATS
//! server, from separate processes that could be on other machines.
//!
//! ```text
//! # the demo: a local nats-server, three worker processes, one boss
//! cargo run --release -p transport-nats --example worker_pool
//!
//! # across machines: a server reachable by all, then on each worker machine
//! cargo run --release -p transport-nats --example worker_pool -- worker nats://server:4222
//! # and once, anywhere
//! cargo run --release -p transport-nats --example worker_pool -- boss nats://server:4222 3
//! ```
//!
//! The workers are not handed anything: each is started with the server's
//! URL alone and joins the queues `primes-tasks` and `primes-results` by
//! name. Tasks are at least once: a worker that dies mid-task leaves its
//! task unacknowledged, and another worker gets it after the ack wait. The
//! boss puts 64 tasks, collects 64 answers, checks each, waits with `join`
//! until every task is marked done, and then puts one stop item per worker.
//!
//! The Python it mirrors:
//!
//! ```text
//! def worker(tasks, results):
//!     for task in iter(tasks.get, None):
//!         results.put(count_primes(task))
//!         tasks.task_done()
//! ```

use std::{collections::BTreeMap, env, error::Error, process::Command, time::Duration};

use transport_nats::{Client, Delivery, Options, Queue, server::LocalServer};

/// A task: count the primes below `limit`.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
struct Task {
    id: u64,
    limit: u64,
}

/// A worker's answer.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug)]
struct Answer {
    id: u64,
    primes: u64,
    worker: u32,
}

const TASKS: u64 = 64;
const STOP: u64 = u64::MAX;

fn options() -> Options {
    Options::new(Delivery::AtLeastOnce).ack_wait(Duration::from_secs(10))
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["worker", url] => worker(url),
        ["boss", url, workers] => boss(url, workers.parse()?),
        [] => demo(),
        _ => Err("usage: worker_pool [worker URL | boss URL WORKERS]".into()),
    }
}

/// Starts a server and three worker processes that get only its URL, then
/// runs the boss.
fn demo() -> Result<(), Box<dyn Error>> {
    let server = LocalServer::start()?;
    let url = server.url();
    println!("nats-server on {url}");
    let exe = env::current_exe()?;
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(Command::new(&exe).args(["worker", &url]).spawn()?);
    }
    boss(&url, 3)?;
    for mut w in workers {
        let status = w.wait()?;
        if !status.success() {
            return Err(format!("a worker failed: {status}").into());
        }
    }
    Ok(())
}

fn boss(url: &str, workers: u32) -> Result<(), Box<dyn Error>> {
    let client = Client::connect(url)?;
    let tasks: Queue<Task> = client.queue("primes-tasks", &options())?;
    let results: Queue<Answer> = client.queue("primes-results", &options())?;
    for id in 0..TASKS {
        tasks.put(Task {
            id,
            limit: 20_000 + id * 1_000,
        })?;
    }
    let mut by_worker: BTreeMap<u32, u64> = BTreeMap::new();
    for _ in 0..TASKS {
        let answer = results.get_timeout(Duration::from_secs(120))?;
        let id = answer.id.to_native();
        let expected = count_primes(20_000 + id * 1_000);
        if answer.primes != expected {
            return Err(format!("task {id}: {} primes, expected {expected}", answer.primes).into());
        }
        *by_worker.entry(answer.worker.to_native()).or_default() += 1;
        drop(answer);
        results.task_done()?;
    }
    tasks.join_timeout(Duration::from_secs(60))?;
    for _ in 0..workers {
        tasks.put(Task { id: STOP, limit: 0 })?;
    }
    for (worker, n) in &by_worker {
        println!("worker {worker}: {n} tasks");
    }
    println!(
        "{TASKS} tasks done and checked, {} workers took part",
        by_worker.len()
    );
    Ok(())
}

fn worker(url: &str) -> Result<(), Box<dyn Error>> {
    let client = Client::connect(url)?;
    let tasks: Queue<Task> = client.queue("primes-tasks", &options())?;
    let results: Queue<Answer> = client.queue("primes-results", &options())?;
    let me = std::process::id();
    loop {
        let task = tasks.get()?;
        let (id, limit) = (task.id.to_native(), task.limit.to_native());
        drop(task);
        if id == STOP {
            tasks.task_done()?;
            return Ok(());
        }
        let primes = count_primes(limit);
        results.put(Answer {
            id,
            primes,
            worker: me,
        })?;
        tasks.task_done()?;
    }
}

fn count_primes(limit: u64) -> u64 {
    (2..limit)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}
