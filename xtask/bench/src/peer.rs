//! The other side of a measurement: a child process (this program, run
//! again with its role in the environment) or, for in-process backends, a
//! thread. Both are pinned to CPU 1; the parent runs on CPU 0.

use std::{
    env,
    io::{BufRead, BufReader, Write},
    process::{self, Child, ChildStdout, Command, Stdio},
    sync::mpsc,
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use crate::{
    measure::{Job, Pattern},
    sys,
};

/// The environment variable that makes this program a child: it names the
/// subject and mode whose child part to run.
pub const ROLE_VAR: &str = "TRANSPORT_BENCH_ROLE";
/// The environment variable carrying the job (`key=value;...`).
const JOB_VAR: &str = "TRANSPORT_BENCH_JOB";
/// The CPU the parent runs on.
pub const PARENT_CPU: usize = 0;
/// The CPU the peer runs on.
pub const CHILD_CPU: usize = 1;

/// What a child process is told: the job, and values the subject adds
/// (resource names).
#[derive(Debug)]
pub struct ChildJob {
    /// The subject's mode (`validated`, `busy-poll`, ...).
    pub mode: String,
    /// The pattern to run.
    pub pattern: Pattern,
    /// Payload bytes per message.
    pub payload: usize,
    /// Timed messages or round trips.
    pub count: usize,
    /// Untimed ones before them.
    pub warmup: usize,
    /// When the child gives up.
    pub deadline: Instant,
    /// Whether this side is pinned to [`CHILD_CPU`].
    pub pinned: bool,
    extra: Vec<(String, String)>,
}

impl ChildJob {
    /// A value the parent added with [`Spawn::arg`].
    pub fn get(&self, key: &str) -> Result<&str, String> {
        self.extra
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("the parent passed no `{key}`"))
    }

    /// Reads the job from the environment.
    pub fn from_env() -> Result<Self, String> {
        let text = env::var(JOB_VAR).map_err(|_| format!("{JOB_VAR} is not set"))?;
        let role = env::var(ROLE_VAR).unwrap_or_default();
        let mut job = ChildJob {
            mode: role
                .split_once('/')
                .map(|(_, m)| m.to_owned())
                .unwrap_or_default(),
            pattern: Pattern::Rtt,
            payload: 0,
            count: 0,
            warmup: 0,
            deadline: Instant::now() + Duration::from_secs(60),
            pinned: false,
            extra: Vec::new(),
        };
        for (k, v) in text.split(';').filter_map(|kv| kv.split_once('=')) {
            let num = || {
                v.parse::<usize>()
                    .map_err(|_| format!("{JOB_VAR}: `{k}={v}` is not a number"))
            };
            match k {
                "pattern" => {
                    job.pattern = Pattern::parse(v).ok_or_else(|| format!("unknown pattern `{v}`"))?
                }
                "payload" => job.payload = num()?,
                "count" => job.count = num()?,
                "warmup" => job.warmup = num()?,
                "limit_ms" => job.deadline = Instant::now() + Duration::from_millis(num()? as u64),
                _ => job.extra.push((k.to_owned(), v.to_owned())),
            }
        }
        Ok(job)
    }

    /// The job of a peer thread, for in-process backends.
    pub fn for_thread(job: &Job) -> Self {
        ChildJob {
            mode: job.mode.to_owned(),
            pattern: job.pattern,
            payload: job.payload,
            count: job.count,
            warmup: job.warmup,
            deadline: job.deadline(Instant::now()),
            pinned: false,
            extra: Vec::new(),
        }
    }

    /// Tells the parent that the child is set up, with `detail`
    /// (`key=value` words) after whether it is pinned.
    pub fn ready(&self, detail: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready pinned={} {detail}", u8::from(self.pinned));
        let _ = out.flush();
    }
}

/// Pins the calling thread to `cpu`; whether it worked.
pub fn pin(cpu: usize) -> bool {
    matches!(sys::pin_current_thread(cpu), Ok(true))
}

/// What a child said when it was ready.
#[derive(Debug)]
pub struct Ready {
    /// Whether the child pinned itself to [`CHILD_CPU`].
    pub pinned: bool,
    details: Vec<(String, String)>,
}

impl Ready {
    /// A detail the child gave.
    pub fn get(&self, key: &str) -> Result<&str, String> {
        self.details
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("the child gave no `{key}`"))
    }
}

/// A child process being described.
#[derive(Debug)]
pub struct Spawn {
    cmd: Command,
    job: Vec<String>,
}

/// A running child process, killed if it outlives its job's time limit or
/// if this handle is dropped before [`finish`](Self::finish).
#[derive(Debug)]
pub struct Peer {
    pid: u32,
    stdout: BufReader<ChildStdout>,
    /// Sending `()` tells the watchdog that the run ended in time; dropping
    /// it unsent makes the watchdog kill the child.
    stop: Option<mpsc::Sender<()>>,
    watchdog: Option<JoinHandle<Result<process::ExitStatus, String>>>,
}

impl Spawn {
    /// Describes the child of `job`'s subject and mode.
    pub fn new(job: &Job) -> Result<Self, String> {
        let exe = env::current_exe().map_err(|e| format!("finding this program's path: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.env(ROLE_VAR, format!("{}/{}", job.subject, job.mode))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let job = vec![
            format!("pattern={}", job.pattern.as_str()),
            format!("payload={}", job.payload),
            format!("count={}", job.count),
            format!("warmup={}", job.warmup),
            format!("limit_ms={}", job.limit.as_millis()),
        ];
        Ok(Spawn { cmd, job })
    }

    /// Runs another program as the child (the Python peers); it gets no
    /// job in its environment, so pass what it needs as arguments.
    pub fn from_command(cmd: Command) -> Self {
        Spawn { cmd, job: Vec::new() }
    }

    /// Passes `key=value` to the child (no `;` or `=` in either).
    pub fn arg(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.job.push(format!("{key}={value}"));
        self
    }

    /// The command, to hand endpoints to the child.
    pub fn command(&mut self) -> &mut Command {
        &mut self.cmd
    }

    /// Starts the child; it is killed after `limit`.
    pub fn start(mut self, limit: Duration) -> Result<Peer, String> {
        if !self.job.is_empty() {
            self.cmd.env(JOB_VAR, self.job.join(";"));
        }
        let mut child: Child = self.cmd.spawn().map_err(|e| format!("starting the child: {e}"))?;
        // The parent's copies of whatever the command handed to the child
        // close here.
        drop(self.cmd);
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("the child's stdout is not piped")?;
        let (stop, stopped) = mpsc::channel();
        let watchdog = thread::spawn(move || {
            match stopped.recv_timeout(limit + Duration::from_secs(5)) {
                Ok(()) => {}
                // Timed out, or the parent gave up: nothing may be left behind.
                Err(_) => {
                    let _ = child.kill();
                }
            }
            child.wait().map_err(|e| format!("waiting for the child: {e}"))
        });
        Ok(Peer {
            pid,
            stdout: BufReader::new(stdout),
            stop: Some(stop),
            watchdog: Some(watchdog),
        })
    }
}

impl Peer {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the child's `ready` line: whether the child is pinned, and
    /// its `key=value` details.
    pub fn ready(&mut self) -> Result<Ready, String> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| format!("reading the child's output: {e}"))?;
        if n == 0 {
            return Err("the child exited before it was ready".into());
        }
        let rest = line
            .trim_end()
            .strip_prefix("ready")
            .ok_or_else(|| format!("the child said `{}` instead of `ready`", line.trim_end()))?;
        let details: Vec<(String, String)> = rest
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let pinned = details.iter().any(|(k, v)| k == "pinned" && v == "1");
        Ok(Ready { pinned, details })
    }

    /// The child's next line of output, `None` at its end.
    pub fn line(&mut self) -> Result<Option<String>, String> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| format!("reading the child's output: {e}"))?;
        Ok((n > 0).then(|| line.trim_end().to_owned()))
    }

    /// Waits for the child to exit and checks that it succeeded.
    pub fn finish(mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let status = self
            .watchdog
            .take()
            .ok_or("the child was already waited for")?
            .join()
            .map_err(|_| "the watchdog thread panicked".to_owned())??;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the child failed ({status})"))
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Dropping the sender unsent makes the watchdog kill the child.
        drop(self.stop.take());
        if let Some(watchdog) = self.watchdog.take() {
            let _ = watchdog.join();
        }
    }
}

/// A peer thread for in-process backends, pinned to [`CHILD_CPU`]; also
/// whether the pinning worked.
pub fn thread_peer<F>(body: F) -> Result<(JoinHandle<Result<(), String>>, bool), String>
where
    F: FnOnce() -> Result<(), String> + Send + 'static,
{
    let (pinned_tx, pinned_rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name("bench-peer".into())
        .spawn(move || {
            let _ = pinned_tx.send(pin(CHILD_CPU));
            body()
        })
        .map_err(|e| format!("starting the peer thread: {e}"))?;
    let pinned = pinned_rx.recv().unwrap_or(false);
    Ok((handle, pinned))
}

/// Joins a peer thread and passes on its error.
pub fn join_thread(handle: JoinHandle<Result<(), String>>) -> Result<(), String> {
    handle.join().map_err(|_| "the peer thread panicked".to_owned())?
}
