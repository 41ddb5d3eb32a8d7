//! `Child`: one function call in a child process, and its answer.

use std::{
    ffi::{OsStr, OsString},
    process::ExitStatus,
    time::{Duration, Instant},
};

use transport_core::{Message, RecvTimeoutError};

use super::{
    entry::Entry,
    error::{ChildError, SpawnError},
    start::{ResultMsg, STOP_ID, Started, start},
};
use crate::Receiver;

/// How often a wait looks at whether the child process has exited, beside
/// the result channel's `Disconnected`.
pub(crate) const EXIT_CHECK: Duration = Duration::from_millis(50);
/// How long a result may still arrive after the child process was seen to
/// exit, before the child counts as dead with no answer. Every backend
/// reports a dead peer's `Disconnected` well within it.
pub(crate) const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Starts the current executable again in `entry` with argument `arg`,
/// as [`Spawner::spawn`] with no extra arguments.
///
/// # Errors
/// As [`Spawner::spawn`].
pub fn spawn<A: Message + Send + 'static, R: Message>(
    entry: &'static Entry<A, R>,
    arg: A,
) -> Result<Child<R>, SpawnError> {
    Spawner::new().spawn(entry, arg)
}

/// How a child is started: command-line arguments and environment
/// variables beyond what [`spawn`] gives it.
#[derive(Clone, Debug, Default)]
pub struct Spawner {
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
}

impl Spawner {
    /// A child with no arguments, and the parent's environment.
    pub fn new() -> Self {
        Spawner::default()
    }

    /// Adds a command-line argument (a test binary, run again as a child,
    /// needs `--exact <test> --nocapture`).
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds command-line arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&mut self, args: I) -> &mut Self {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable of the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub(crate) fn arg_list(&self) -> &[OsString] {
        &self.args
    }

    pub(crate) fn env_list(&self) -> &[(OsString, OsString)] {
        &self.envs
    }

    /// Starts the current executable again in `entry`, and sends it `arg`.
    ///
    /// # Errors
    /// [`SpawnError`] when the channels cannot be made or handed over, the
    /// process cannot be started, or the argument cannot be sent (too large
    /// for the backend, say).
    pub fn spawn<A: Message + Send + 'static, R: Message>(
        &self,
        entry: &'static Entry<A, R>,
        arg: A,
    ) -> Result<Child<R>, SpawnError> {
        let Started {
            child,
            tasks,
            results,
            ..
        } = start::<A, R>(entry.name(), &self.args, &self.envs, 2, None)?;
        let mut child = Child::new(child, results);
        // The task, then the stop: the child answers and exits. The parent
        // keeps its end until the child is reaped (see `TaskMsg`).
        for msg in [(0, Some(vec![arg])), (STOP_ID, None)] {
            tasks.send(msg).map_err(|e| SpawnError::Send(e.to_string()))?;
        }
        child.tasks = Some(Box::new(tasks));
        Ok(child)
    }
}

/// A child process running one call of an entry; [`wait`](Self::wait) for
/// its answer. Dropping it kills the process if it still runs, and reaps
/// it.
pub struct Child<R: Message> {
    process: std::process::Child,
    pid: u32,
    results: Receiver<ResultMsg<R>>,
    /// The task channel, kept until the child is reaped.
    tasks: Option<Box<dyn Send>>,
    /// When the process was first seen to have exited.
    exited_at: Option<Instant>,
    /// How the process ended, once reaped.
    status: Option<ExitStatus>,
    reaped: bool,
    taken: bool,
}

impl<R: Message> Child<R> {
    fn new(process: std::process::Child, results: Receiver<ResultMsg<R>>) -> Self {
        let pid = process.id();
        Child {
            process,
            pid,
            results,
            tasks: None,
            exited_at: None,
            status: None,
            reaped: false,
            taken: false,
        }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// Waits for the answer.
    ///
    /// # Errors
    /// [`ChildError::Panicked`] when the function panicked,
    /// [`ChildError::Died`] when the child ended without an answer,
    /// [`ChildError::Protocol`] when it sent something else.
    pub fn wait(mut self) -> Result<R, ChildError> {
        self.wait_until(None)
    }

    /// Waits at most `timeout` for the answer; on
    /// [`ChildError::Timeout`] the child still runs, and a later wait may
    /// still get its answer.
    ///
    /// # Errors
    /// As [`wait`](Self::wait), and [`ChildError::Timeout`];
    /// [`ChildError::AlreadyTaken`] once an earlier wait returned anything
    /// but a timeout.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<R, ChildError> {
        self.wait_until(Some(Instant::now() + timeout))
    }

    /// Kills the child (if it still runs) and reaps it; a later wait gives
    /// [`ChildError::Died`].
    pub fn kill(&mut self) {
        self.reap(true);
    }

    fn wait_until(&mut self, deadline: Option<Instant>) -> Result<R, ChildError> {
        let pid = self.pid;
        if self.taken {
            return Err(ChildError::AlreadyTaken { pid });
        }
        let start = Instant::now();
        loop {
            let now = Instant::now();
            let mut slice = EXIT_CHECK;
            if let Some(deadline) = deadline {
                slice = slice.min(deadline.saturating_duration_since(now));
            }
            if let Some(at) = self.exited_at {
                slice = slice.min((at + EXIT_GRACE).saturating_duration_since(now));
            }
            match self.results.recv_timeout(slice) {
                Ok(msg) => {
                    self.taken = true;
                    let answer = msg.deserialize();
                    drop(msg);
                    return self.answer(answer.map_err(|e| e.to_string()));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(e) if e.is_disconnected() => return Err(self.died()),
                Err(e) => {
                    self.taken = true;
                    self.reap(true);
                    return Err(ChildError::Protocol {
                        pid,
                        reason: e.to_string(),
                    });
                }
            }
            match self.exited_at {
                None => {
                    if let Ok(Some(_)) = self.process.try_wait() {
                        self.exited_at = Some(Instant::now());
                    }
                }
                Some(at) if at.elapsed() >= EXIT_GRACE => return Err(self.died()),
                Some(_) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(ChildError::Timeout {
                    pid,
                    waited: start.elapsed(),
                });
            }
        }
    }

    fn died(&mut self) -> ChildError {
        self.taken = true;
        self.reap(true);
        ChildError::Died {
            pid: self.pid,
            status: self.status,
        }
    }

    /// The answer, once the child has exited (it does after its one task).
    fn answer(&mut self, answer: Result<ResultMsg<R>, String>) -> Result<R, ChildError> {
        let pid = self.pid;
        let (id, mut values, mut panics) = match answer {
            Ok(answer) => answer,
            Err(reason) => {
                self.reap(true);
                return Err(ChildError::Protocol { pid, reason });
            }
        };
        let count = values.len() + panics.len();
        let outcome = match (values.pop(), panics.pop()) {
            (Some(value), None) if id == 0 && count == 1 => Ok(value),
            (None, Some((0, message))) if id == 0 && count == 1 => Err(message),
            _ => {
                self.reap(true);
                return Err(ChildError::Protocol {
                    pid,
                    reason: format!("an answer to task {id} with {count} results, not to task 0 with one"),
                });
            }
        };
        // The child exits once it has answered: its end of the channel goes.
        let gone = loop {
            match self.results.recv_timeout(EXIT_GRACE) {
                Err(e) if e.is_disconnected() => break true,
                Err(_) => break false,
                Ok(_) => {}
            }
        };
        self.reap(!gone);
        outcome.map_err(|message| ChildError::Panicked { pid, message })
    }

    /// Reaps the process, killing it first if `kill`.
    fn reap(&mut self, kill: bool) {
        if self.reaped {
            return;
        }
        if kill {
            let _ = self.process.kill();
        }
        self.status = self.process.wait().ok();
        self.tasks = None;
        self.reaped = true;
    }
}

impl<R: Message> std::fmt::Debug for Child<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl<R: Message> Drop for Child<R> {
    fn drop(&mut self) {
        self.reap(true);
    }
}
