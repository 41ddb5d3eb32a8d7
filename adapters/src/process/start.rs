//! Starting the current executable again as a child for one entry, with
//! its task and result channels.

use std::{
    env,
    ffi::OsString,
    fmt,
    process::{Command, Stdio},
};

use transport_core::{CommandExt, Message};

use super::error::SpawnError;
use crate::{Receiver, Sender};

/// The environment variable naming the entry a child process runs.
pub(crate) const ENTRY_VAR: &str = "TRANSPORT_PROCESS_ENTRY";
/// The endpoint that carries tasks to a child.
pub(crate) const TASKS: &str = "transport_process_tasks";
/// The endpoint that carries results back.
pub(crate) const RESULTS: &str = "transport_process_results";
/// The environment variable naming the initializer a child runs first.
pub(crate) const INIT_VAR: &str = "TRANSPORT_PROCESS_INITIALIZER";
/// The endpoint that carries the initializer's argument to a child.
pub(crate) const INIT_ARG: &str = "transport_process_init";

/// A chunk of tasks as it travels: its id and its arguments (one or more,
/// answered together), or `None` for "answer what you were sent, then
/// exit". The parent keeps its end of the task
/// channel until the child is reaped (a shared-memory channel's last live
/// participant removes it, so the parent must not leave first), so this
/// message, not the channel closing, is what ends a child.
pub(crate) type TaskMsg<A> = (u64, Option<Vec<A>>);
/// The id the stop message carries (no answer comes for it).
pub(crate) const STOP_ID: u64 = u64::MAX;
/// The results of a chunk as they travel, in one message: the chunk's id,
/// the values of the tasks that returned, in order, and for each task
/// that panicked, in order, its position in the chunk and the panic's
/// message. The values are one plain array (a chunk of numbers is one
/// copy each way), and a chunk with no panic carries no per-task outcome.
pub(crate) type ResultMsg<R> = (u64, Vec<R>, Vec<(u64, String)>);
/// The id of the answer a child started with an initializer sends before
/// any other: no values and no panics when the initializer returned, or
/// one panic (at position 0), its message.
pub(crate) const INIT_ID: u64 = u64::MAX - 1;

/// What starting a child gives the parent.
pub(crate) struct Started<A: Message, R: Message> {
    pub child: std::process::Child,
    pub tasks: Sender<TaskMsg<A>>,
    pub results: Receiver<ResultMsg<R>>,
    /// The initializer's argument channel, kept until the child is reaped.
    pub init: Option<Box<dyn Send>>,
}

/// Starts the current executable for `entry` with `args` and `envs`, its
/// channels holding `capacity` messages each; it runs `init` first, when
/// given.
pub(crate) fn start<A: Message, R: Message>(
    entry: &str,
    args: &[OsString],
    envs: &[(OsString, OsString)],
    capacity: usize,
    init: Option<&dyn Setup>,
) -> Result<Started<A, R>, SpawnError> {
    let (tasks, task_rx) = crate::bounded::<TaskMsg<A>>(capacity).map_err(SpawnError::Channel)?;
    let (result_tx, results) = crate::bounded::<ResultMsg<R>>(capacity).map_err(SpawnError::Channel)?;
    let exe = env::current_exe().map_err(SpawnError::Executable)?;
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .env(ENTRY_VAR, entry)
        .stdin(Stdio::null());
    cmd.endpoint(TASKS, task_rx)
        .map_err(SpawnError::Handoff)?
        .endpoint(RESULTS, result_tx)
        .map_err(SpawnError::Handoff)?;
    let pending = match init {
        Some(init) => {
            cmd.env(INIT_VAR, init.name());
            Some(init.attach(&mut cmd)?)
        }
        // A child started from a worker with an initializer does not
        // inherit it.
        None => {
            cmd.env_remove(INIT_VAR);
            None
        }
    };
    let mut child = cmd.spawn().map_err(SpawnError::Spawn)?;
    // A child killed before it opens its ends still makes them go (the
    // Windows pipe backend keeps them for it until then).
    transport_core::spawned(&cmd, &child);
    let init = match pending.map(Pending::send).transpose() {
        Ok(init) => init,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    Ok(Started {
        child,
        tasks,
        results,
        init,
    })
}

/// An initializer and the argument every worker gets, with the type of
/// the argument hidden, as a pool's settings hold it.
pub(crate) trait Setup: Send + Sync {
    /// The initializer's name.
    fn name(&self) -> &'static str;

    /// Makes the channel that carries the argument and hands its receiving
    /// end to the child `cmd` starts; send the argument once it runs.
    fn attach(&self, cmd: &mut Command) -> Result<Box<dyn Pending + '_>, SpawnError>;
}

/// The argument's channel, with the child not started yet.
pub(crate) trait Pending {
    /// Sends the argument to the started child; gives the channel's end,
    /// to be kept until the child is reaped.
    fn send(self: Box<Self>) -> Result<Box<dyn Send>, SpawnError>;
}

impl fmt::Debug for dyn Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setup")
            .field("initializer", &self.name())
            .finish_non_exhaustive()
    }
}
