//! The kill campaign behind `cargo xtask chaos`.
//!
//! For each backend, trial after trial: a bounded channel, one end handed
//! to a child process (this program again), messages numbered 0, 1, 2, …
//! flowing as fast as they go, and a `SIGKILL` for the child at a random
//! moment. The child is the producer in one set of trials (the parent
//! receives) and the consumer in the other (the parent sends). The child
//! counts in a file what it sent with `Ok` or received in order, so the
//! count outlives it.
//!
//! Each trial checks what the contract promises: the parent's end says
//! `Disconnected` within the hang bound (else a *hang*), nothing panics,
//! nothing arrives twice or out of order, nothing is lost beyond what the
//! backend's documentation allows (`rules.rs`), no other error shows, and
//! nothing is left behind: shared-memory segments, files in the run's
//! private temporary folder (where the queue's hand-off sockets go),
//! processes. It prints a table, writes the JSON report, and exits
//! non-zero if any trial broke the contract.
//!
//! `transport-chaos [--backend queue,pipe,shm,shm-mpmc] [--api blocking,async]
//! [--trials N] [--hang-after S] [--max-delay-ms MS] [--seed N] [--out PATH]
//! [--drop-command]`; the trial count is per backend, side and API. The
//! parent's end is used through the blocking API and through
//! transport-adapters' async one (`AsyncSender` / `AsyncReceiver` on a tokio
//! runtime, waiting through each backend's `PollSend` / `PollRecv`). The
//! parent keeps the `Command` it spawned the child from until the trial
//! ends, as code that spawns from a `let mut cmd` does; `--drop-command`
//! drops it as soon as the child has started.

mod child;
mod ends;
#[path = "../../src/json.rs"]
mod json;
mod leaks;
mod message;
mod report;
mod rules;
mod trial;

use std::{
    env, fs, io,
    io::Write as _,
    path::PathBuf,
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{
    ends::Api,
    leaks::Leaks,
    report::Row,
    trial::{Settings, Side},
};

/// The capacity of every channel of the campaign, in messages.
pub const CAPACITY: u64 = 64;

/// The backends, in the order they run.
const BACKENDS: [&str; 4] = ["queue", "pipe", "shm", "shm-mpmc"];

#[derive(Debug)]
struct Options {
    backends: Vec<&'static str>,
    trials: u64,
    hang_after: Duration,
    max_delay: Duration,
    seed: u64,
    out: PathBuf,
    keep_command: bool,
    apis: Vec<Api>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        backends: Vec::new(),
        trials: 100,
        hang_after: Duration::from_secs(5),
        max_delay: Duration::from_millis(200),
        seed: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1,
        out: PathBuf::from("target/chaos.json"),
        keep_command: true,
        apis: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |text: String| {
            text.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not `{text}`"))
        };
        match flag {
            "--backend" => {
                for name in value()?.split(',').filter(|s| !s.is_empty()) {
                    let known = BACKENDS.iter().find(|b| **b == name).ok_or_else(|| {
                        format!("unknown backend `{name}` (expected {})", BACKENDS.join(", "))
                    })?;
                    opts.backends.push(known);
                }
            }
            "--trials" => opts.trials = number(value()?)?.max(1),
            "--hang-after" => opts.hang_after = Duration::from_secs(number(value()?)?.max(1)),
            "--max-delay-ms" => opts.max_delay = Duration::from_millis(number(value()?)?.max(1)),
            "--seed" => opts.seed = number(value()?)? | 1,
            "--out" => opts.out = PathBuf::from(value()?),
            "--drop-command" => opts.keep_command = false,
            "--api" => {
                for name in value()?.split(',').filter(|s| !s.is_empty()) {
                    opts.apis.push(match name {
                        "blocking" => Api::Blocking,
                        "async" => Api::Async,
                        other => return Err(format!("unknown api `{other}` (expected blocking, async)")),
                    });
                }
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if opts.backends.is_empty() {
        opts.backends = BACKENDS.to_vec();
    }
    if opts.apis.is_empty() {
        opts.apis = vec![Api::Blocking, Api::Async];
    }
    Ok(opts)
}

/// xorshift64*: the kill delays, reproducible from `--seed`.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

fn main() -> ExitCode {
    if let Some(code) = child::run_if_child() {
        return code;
    }
    let args: Vec<String> = env::args().skip(1).collect();
    let opts = match parse(&args) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("transport-chaos: {e}");
            return ExitCode::from(2);
        }
    };
    match campaign(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("transport-chaos: {e}");
            ExitCode::from(2)
        }
    }
}

fn campaign(opts: &Options) -> Result<bool, String> {
    let work = opts
        .out
        .parent()
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join(format!("chaos-run-{}", std::process::id()));
    let tmp = work.join("tmp");
    fs::create_dir_all(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let tmp = tmp
        .canonicalize()
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    // SAFETY: no other thread exists yet (the campaign starts its threads
    // below), so nothing reads the environment while it changes. Every
    // process of the run then makes its temporary files in a folder of its
    // own, where leftovers are found without confusing them with other
    // programs' files.
    unsafe { env::set_var("TMPDIR", &tmp) };
    let settings = Arc::new(Settings {
        hang_after: opts.hang_after,
        work: work.clone(),
        keep_command: opts.keep_command,
        leaks: Mutex::new(Leaks::new(tmp.clone())),
    });
    println!(
        "chaos: {} trials per backend, side and API, kill within {} ms of traffic, hang after {} s, seed {}, \
         the spawning Command {}",
        opts.trials,
        opts.max_delay.as_millis(),
        opts.hang_after.as_secs(),
        opts.seed,
        if opts.keep_command {
            "kept until the trial ends"
        } else {
            "dropped once the child has started"
        }
    );
    let mut rng = Rng(opts.seed);
    let mut rows = Vec::new();
    for &backend in &opts.backends {
        for &api in &opts.apis {
            for side in [Side::Producer, Side::Consumer] {
                let mut row = Row::new(backend, side, api);
                print!("{backend:<6} child {:<9} parent {:<9}", side.name(), api.name());
                let _ = io::stdout().flush();
                for n in 0..opts.trials {
                    let delay = Duration::from_micros(rng.below(opts.max_delay.as_micros() as u64));
                    let id = format!(
                        "{}-{backend}-{}-{}-{n}",
                        std::process::id(),
                        api.name(),
                        side.name()
                    );
                    let outcome = match backend {
                        "queue" => {
                            trial::run::<transport_queue::QueueTransport>(side, api, &id, delay, &settings)
                        }
                        "pipe" => trial::run::<transport_pipe::Pipe>(side, api, &id, delay, &settings),
                        "shm-mpmc" => trial::run::<transport_shm::ShmMpmc>(side, api, &id, delay, &settings),
                        _ => trial::run::<transport_shm::Shm>(side, api, &id, delay, &settings),
                    };
                    print!("{}", row.add(&id, &outcome));
                    let _ = io::stdout().flush();
                }
                println!();
                rows.push(row);
            }
        }
    }
    report::print(&rows);
    report::write(&rows, opts.seed, &opts.out)?;
    println!("chaos: wrote {}", opts.out.display());
    // The work folder goes if nothing was left in it.
    let _ = fs::remove_dir(&tmp);
    let _ = fs::remove_dir(&work);
    Ok(rows.iter().all(Row::clean))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Options, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&args)
    }

    #[test]
    fn options() {
        let o = parse_args(&[]).unwrap();
        assert_eq!((o.backends.len(), o.trials), (4, 100));
        let o = parse_args(&[
            "--backend=shm,pipe",
            "--trials",
            "7",
            "--seed",
            "4",
            "--hang-after=2",
        ])
        .unwrap();
        assert_eq!(o.backends, ["shm", "pipe"]);
        assert_eq!((o.trials, o.seed, o.hang_after.as_secs()), (7, 5, 2));
        assert!(parse_args(&["--backend", "carrier-pigeon"]).is_err());
        assert!(parse_args(&["--trials", "many"]).is_err());
        assert!(parse_args(&["--loud"]).is_err());
        assert!(o.keep_command && !parse_args(&["--drop-command"]).unwrap().keep_command);
        assert_eq!(o.apis, [Api::Blocking, Api::Async]);
        assert_eq!(parse_args(&["--api", "async"]).unwrap().apis, [Api::Async]);
        assert!(parse_args(&["--api", "telepathy"]).is_err());
    }
}
