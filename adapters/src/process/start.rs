//! Starting the current executable again as a child for one entry, with
//! its task and result channels.

use std::{
    env,
    ffi::OsString,
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

/// A task as it travels: its id and its argument, or `None` for "answer
/// what you were sent, then exit". The parent keeps its end of the task
/// channel until the child is reaped (a shared-memory channel's last live
/// participant removes it, so the parent must not leave first), so this
/// message, not the channel closing, is what ends a child.
pub(crate) type TaskMsg<A> = (u64, Option<A>);
/// The id the stop message carries (no answer comes for it).
pub(crate) const STOP_ID: u64 = u64::MAX;
/// A result as it travels: the task's id, and the value or the panic's
/// message.
pub(crate) type ResultMsg<R> = (u64, Result<R, String>);

/// What starting a child gives the parent.
pub(crate) struct Started<A: Message, R: Message> {
    pub child: std::process::Child,
    pub tasks: Sender<TaskMsg<A>>,
    pub results: Receiver<ResultMsg<R>>,
}

/// Starts the current executable for `entry` with `args` and `envs`, its
/// channels holding `capacity` messages each.
pub(crate) fn start<A: Message, R: Message>(
    entry: &str,
    args: &[OsString],
    envs: &[(OsString, OsString)],
    capacity: usize,
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
    let child = cmd.spawn().map_err(SpawnError::Spawn)?;
    Ok(Started {
        child,
        tasks,
        results,
    })
}
