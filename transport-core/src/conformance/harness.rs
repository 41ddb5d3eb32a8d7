//! Runs one case across real processes (or threads, for in-process
//! backends): the parent re-executes the current test binary for exactly
//! that test, with the child's role in the environment.

use std::{
    any::Any,
    collections::HashMap,
    env,
    io::{self, BufRead, BufReader, Read, Write},
    panic,
    process::{self, Child, Command, Stdio},
    sync::{Mutex, PoisonError, mpsc},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use crate::{CommandExt, Handoff, from_env};

/// The environment variable naming the test a child process runs.
const CHILD_OF: &str = "TRANSPORT_CONFORMANCE_CHILD_OF";
/// The environment variable naming the child's role.
const ROLE: &str = "TRANSPORT_CONFORMANCE_ROLE";
/// The environment variable carrying the child's parameters (`k=v;k=v`).
const PARAMS: &str = "TRANSPORT_CONFORMANCE_PARAMS";
/// Lines a child prints with this prefix are reports to its parent.
const REPORT: &str = "conformance-report: ";
/// The last report of every child that ran its part to the end: a parent
/// cannot mistake a child that ran nothing (a test filter that matched no
/// test, say) for one that succeeded.
const DONE: &str = "conformance-child-done";

/// How long a peer may take to finish before the test fails.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(180);

/// One case of the suite, run by the parent and by every child.
pub type Case = fn(&Harness);

/// Which part of a case this run plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role<'a> {
    /// The test as libtest started it.
    Parent,
    /// A child started by the parent, with the role name it was given.
    Child(&'a str),
}

/// How peers are started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Children are processes: this test binary, run again.
    Process,
    /// Children are threads (backends that cannot cross processes).
    Thread,
}

/// The context of one run of a case.
pub struct Harness {
    test: String,
    case: Case,
    backend: &'static str,
    mode: Mode,
    role: Option<String>,
    params: HashMap<String, String>,
    /// Endpoints handed to a thread child.
    endpoints: Mutex<HashMap<String, Box<dyn Any + Send>>>,
    /// Where a thread child's reports go.
    reports: Option<mpsc::Sender<String>>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("test", &self.test)
            .field("backend", &self.backend)
            .field("mode", &self.mode)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Runs `case` as the parent, or as the child this process was started to
/// be. A child process exits when its part is done; a panic is a failure.
pub fn run(test: String, backend: &'static str, cross_process: bool, case: Case) {
    let child_of = env::var(CHILD_OF).ok();
    if child_of.as_deref() == Some(test.as_str()) {
        let role = env::var(ROLE).unwrap_or_default();
        let params = parse_params(&env::var(PARAMS).unwrap_or_default());
        let h = Harness::new(test, case, backend, Mode::Process, Some(role), params, None);
        case(&h);
        h.report(DONE);
        // Explicit exit: nothing after the case may run in the child.
        let _ = io::stdout().flush();
        process::exit(0);
    }
    let mode = if cross_process {
        Mode::Process
    } else {
        Mode::Thread
    };
    let h = Harness::new(test, case, backend, mode, None, HashMap::new(), None);
    case(&h);
}

fn parse_params(text: &str) -> HashMap<String, String> {
    text.split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

impl Harness {
    fn new(
        test: String,
        case: Case,
        backend: &'static str,
        mode: Mode,
        role: Option<String>,
        params: HashMap<String, String>,
        reports: Option<mpsc::Sender<String>>,
    ) -> Self {
        Harness {
            test,
            case,
            backend,
            mode,
            role,
            params,
            endpoints: Mutex::new(HashMap::new()),
            reports,
        }
    }

    /// This run's role.
    pub fn role(&self) -> Role<'_> {
        match &self.role {
            None => Role::Parent,
            Some(role) => Role::Child(role),
        }
    }

    /// Whether peers are processes or threads.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// A name unique to this test and process, for resources a case names.
    pub fn unique_name(&self, what: &str) -> String {
        format!("{}-{}-{what}", self.test.replace("::", "-"), process::id())
    }

    /// Says that `case` does not apply to this backend, and why. The line
    /// goes straight to the standard error stream so it shows even when
    /// libtest captures output.
    pub fn skip(&self, why: &str) {
        let _ = writeln!(
            io::stderr(),
            "conformance: SKIP {} on backend `{}`: {why}",
            self.test,
            self.backend
        );
    }

    /// Starts describing a child with role `role`.
    pub fn child(&self, role: &str) -> ChildBuilder<'_> {
        let command = (self.mode == Mode::Process).then(|| {
            let exe = env::current_exe().expect("the test binary knows its own path");
            let mut cmd = Command::new(exe);
            cmd.args([self.test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
                .env(CHILD_OF, &self.test)
                .env(ROLE, role)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd
        });
        ChildBuilder {
            harness: self,
            role: role.to_owned(),
            command,
            endpoints: HashMap::new(),
            params: Vec::new(),
        }
    }

    /// In a child: the endpoint the parent passed under `name`.
    ///
    /// # Panics
    /// If the parent passed none, or one of another type.
    pub fn endpoint<E: Handoff + Send + 'static>(&self, name: &str) -> E {
        match self.mode {
            Mode::Process => from_env::<E>(name).unwrap_or_else(|e| panic!("opening endpoint `{name}`: {e}")),
            Mode::Thread => {
                let boxed = self
                    .endpoints
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(name)
                    .unwrap_or_else(|| panic!("no endpoint `{name}` was passed to this child"));
                *boxed
                    .downcast::<E>()
                    .unwrap_or_else(|_| panic!("endpoint `{name}` has another type"))
            }
        }
    }

    /// In a child: the parameter the parent set under `key`.
    ///
    /// # Panics
    /// If the parent set none, or it does not parse.
    pub fn param<V: std::str::FromStr>(&self, key: &str) -> V {
        let text = self
            .params
            .get(key)
            .unwrap_or_else(|| panic!("no parameter `{key}` was passed to this child"));
        text.parse()
            .unwrap_or_else(|_| panic!("parameter `{key}` = `{text}` does not parse"))
    }

    /// In a child: sends one line to the parent (for example "ready", or a
    /// count), outside the transport under test.
    pub fn report(&self, line: impl std::fmt::Display) {
        let line = line.to_string();
        assert!(!line.contains('\n'), "a report is one line");
        match &self.reports {
            Some(tx) => {
                let _ = tx.send(line);
            }
            None => {
                let mut out = io::stdout().lock();
                let _ = writeln!(out, "{REPORT}{line}");
                let _ = out.flush();
            }
        }
    }
}

/// A child being described; [`spawn`](Self::spawn) starts it.
pub struct ChildBuilder<'h> {
    harness: &'h Harness,
    role: String,
    command: Option<Command>,
    endpoints: HashMap<String, Box<dyn Any + Send>>,
    params: Vec<(String, String)>,
}

impl std::fmt::Debug for ChildBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildBuilder")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl ChildBuilder<'_> {
    /// Hands `endpoint` to the child under `name`.
    ///
    /// # Panics
    /// If the backend cannot hand it off.
    pub fn endpoint<E: Handoff + Send + 'static>(mut self, name: &str, endpoint: E) -> Self {
        match &mut self.command {
            Some(cmd) => {
                cmd.endpoint(name, endpoint)
                    .unwrap_or_else(|e| panic!("handing endpoint `{name}` to a child: {e}"));
            }
            None => {
                self.endpoints.insert(name.to_owned(), Box::new(endpoint));
            }
        }
        self
    }

    /// Sets a parameter the child reads with [`Harness::param`].
    pub fn param(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.params.push((key.to_owned(), value.to_string()));
        self
    }

    /// The command that starts this child process, with its endpoints and
    /// parameters, for a case that spawns it itself: as another user, or
    /// twice from one prepared command. [`Peer::process`] watches a child
    /// spawned from it.
    ///
    /// # Panics
    /// For a thread child (in-process backends).
    pub fn into_command(mut self) -> Command {
        let mut cmd = self.command.take().expect("a thread child has no command");
        let params: Vec<String> = self.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        cmd.env(PARAMS, params.join(";"));
        cmd
    }

    /// Starts the child.
    ///
    /// # Panics
    /// If the process or thread cannot be started.
    pub fn spawn(self) -> Peer {
        let h = self.harness;
        match self.command {
            Some(_) => {
                let role = self.role.clone();
                let mut cmd = self.into_command();
                let child = retry_start(&format!("child `{role}`"), || cmd.spawn(), io_error)
                    .unwrap_or_else(|e| panic!("spawning child `{role}`: {e}"));
                crate::spawned(&cmd, &child);
                // Dropping `cmd` here closes the parent's copies of anything
                // it handed to the child.
                drop(cmd);
                Peer::process(&role, child)
            }
            None => {
                let (report_tx, report_rx) = mpsc::channel();
                let params = self.params.into_iter().collect();
                let child = Harness::new(
                    h.test.clone(),
                    h.case,
                    h.backend,
                    Mode::Thread,
                    Some(self.role.clone()),
                    params,
                    Some(report_tx),
                );
                *child.endpoints.lock().unwrap_or_else(PoisonError::into_inner) = self.endpoints;
                let (done_tx, done_rx) = mpsc::channel();
                let case = h.case;
                let handle = thread::Builder::new()
                    .name(format!("child-{}", self.role))
                    .spawn(move || {
                        case(&child);
                        child.report(DONE);
                        let _ = done_tx.send(());
                    })
                    .unwrap_or_else(|e| panic!("spawning child thread `{}`: {e}", self.role));
                Peer {
                    role: self.role,
                    reports: report_rx,
                    kind: PeerKind::Thread {
                        handle: Some(handle),
                        done: done_rx,
                    },
                }
            }
        }
    }
}

enum PeerKind {
    Process {
        child: Child,
        output: Option<(JoinHandle<String>, JoinHandle<String>)>,
    },
    Thread {
        handle: Option<JoinHandle<()>>,
        done: mpsc::Receiver<()>,
    },
}

/// A running child. Dropping it kills a child process that is still running.
pub struct Peer {
    role: String,
    reports: mpsc::Receiver<String>,
    kind: PeerKind,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// How a process child ended.
enum Ended {
    Exited(process::ExitStatus),
    TimedOut,
}

impl Peer {
    /// Watches a child process spawned from a command made by
    /// [`ChildBuilder::into_command`] (its output must still be piped):
    /// its reports, its exit, its output on failure.
    pub fn process(role: &str, mut child: Child) -> Peer {
        let (report_tx, report_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let out = thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest prints `test <name> ... ` with no line end
                // before the case runs, so the first report of a
                // child starts mid-line.
                if let Some((_, report)) = line.split_once(REPORT) {
                    let _ = report_tx.send(report.to_owned());
                }
                lines.push(line);
            }
            lines.join("\n")
        });
        let err = thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        Peer {
            role: role.to_owned(),
            reports: report_rx,
            kind: PeerKind::Process {
                child,
                output: Some((out, err)),
            },
        }
    }

    /// Waits at most `timeout` for the child's next report line.
    ///
    /// # Panics
    /// If none comes in time (the child's output is shown).
    pub fn expect_report(&mut self, timeout: Duration) -> String {
        match self.reports.recv_timeout(timeout) {
            Ok(line) => line,
            Err(e) => {
                let output = self.stop_and_collect();
                panic!(
                    "child `{}` sent no report within {timeout:?} ({e}){output}",
                    self.role
                )
            }
        }
    }

    /// The child's next report if it comes within `timeout`: for a case
    /// that gives a child the chance to do what it must not (yet).
    pub fn report_within(&mut self, timeout: Duration) -> Option<String> {
        self.reports.recv_timeout(timeout).ok()
    }

    /// Kills a child process at once (`SIGKILL` / `TerminateProcess`) and
    /// reaps it.
    ///
    /// # Panics
    /// For a thread child: threads cannot be killed.
    pub fn kill(&mut self) {
        match &mut self.kind {
            PeerKind::Process { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
            PeerKind::Thread { .. } => panic!("a thread child cannot be killed"),
        }
    }

    /// Waits at most `timeout` for the child to finish and returns its
    /// remaining reports.
    ///
    /// # Panics
    /// If the child failed (non-zero exit, or a panic) or did not finish in
    /// time; the child's output is shown.
    pub fn wait(mut self, timeout: Duration) -> Vec<String> {
        let role = self.role.clone();
        let mut output = String::new();
        match &mut self.kind {
            PeerKind::Process { child, .. } => {
                let ended = wait_child(child, timeout);
                output = self.collect_output();
                match ended {
                    Ended::Exited(status) if status.success() => {}
                    Ended::Exited(status) => panic!("child `{role}` failed with {status}{output}"),
                    Ended::TimedOut => panic!("child `{role}` did not finish within {timeout:?}{output}"),
                }
            }
            PeerKind::Thread { handle, done } => {
                // A panicking child drops `done` without sending.
                let finished = done.recv_timeout(timeout);
                let handle = handle.take().expect("a thread child is joined once");
                match finished {
                    Ok(()) => handle.join().expect("child thread finished"),
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        if let Err(payload) = handle.join() {
                            panic::resume_unwind(payload);
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        panic!("child thread `{role}` did not finish within {timeout:?}")
                    }
                }
            }
        }
        let mut reports: Vec<String> = self.reports.try_iter().collect();
        match reports.pop() {
            Some(last) if last == DONE => reports,
            _ => panic!("child `{role}` exited without finishing its part of the case{output}"),
        }
    }

    fn collect_output(&mut self) -> String {
        let PeerKind::Process { output, .. } = &mut self.kind else {
            return String::new();
        };
        let Some((out, err)) = output.take() else {
            return String::new();
        };
        let out = out.join().unwrap_or_default();
        let err = err.join().unwrap_or_default();
        format!("\n--- child stdout ---\n{out}\n--- child stderr ---\n{err}\n---")
    }

    fn stop_and_collect(&mut self) -> String {
        if let PeerKind::Process { child, .. } = &mut self.kind {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.collect_output()
    }
}

/// Polls `child` until it exits or `timeout` passes; on time-out it is
/// killed and reaped.
fn wait_child(child: &mut Child, timeout: Duration) -> Ended {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ended::Exited(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Ended::TimedOut;
            }
            // Polling a process for exit is not synchronisation between
            // peers: the exit status is the only signal there is.
            Ok(None) => thread::sleep(pause),
            Err(e) => panic!("waiting for a child: {e}"),
        }
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        match &mut self.kind {
            PeerKind::Process { child, .. } => {
                if let Ok(None) = child.try_wait() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
            PeerKind::Thread { handle, done } => {
                // Do not leave a thread child running past its test: give it
                // a bounded time to finish (its endpoints are usually gone).
                if let Some(handle) = handle.take() {
                    if done.recv_timeout(Duration::from_secs(5)).is_ok() {
                        let _ = handle.join();
                    }
                }
            }
        }
    }
}

/// Runs `start` (the start of a child process), trying twice more after
/// an error that may pass, which `os_error` finds in `start`'s error:
/// Wine's `CreateProcess` now and then fails with "internal error" (1359)
/// when many processes start and end at once, where the same start a
/// moment later works. A program or permission that is missing fails at
/// once. (On Unix the errors that may pass are `fork`'s, before the child
/// ran any of the command's hand-off code, so a second try starts clean.)
///
/// # Errors
/// `start`'s last error.
pub fn retry_start<T, E: std::fmt::Display>(
    what: &str,
    mut start: impl FnMut() -> Result<T, E>,
    os_error: impl Fn(&E) -> Option<&io::Error>,
) -> Result<T, E> {
    let mut tries = 0;
    loop {
        match start() {
            Err(e)
                if tries < 2
                    && os_error(&e).is_some_and(|e| {
                        !matches!(
                            e.kind(),
                            io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                        )
                    }) =>
            {
                tries += 1;
                eprintln!("conformance: starting {what} failed ({e}); trying again");
            }
            result => return result,
        }
    }
}

/// A spawn's error, as [`retry_start`] asks for it.
fn io_error(e: &io::Error) -> Option<&io::Error> {
    Some(e)
}
