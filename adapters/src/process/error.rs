//! What can go wrong in starting a child and waiting for its answer.

use std::{fmt, io, process::ExitStatus, time::Duration};

use transport_core::{CreateError, HandoffError};

/// A child process could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpawnError {
    /// A channel to or from the child could not be created.
    Channel(CreateError),
    /// The path of the current executable is not known.
    Executable(io::Error),
    /// A channel could not be handed to the child.
    Handoff(HandoffError),
    /// The operating system did not start the process.
    Spawn(io::Error),
    /// The task could not be sent to the child.
    Send(String),
    /// The initializer's argument could not be sent to the child (too
    /// large for the backend, say).
    InitArg(String),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Channel(_) => f.write_str("cannot create a channel for a child process"),
            SpawnError::Executable(_) => f.write_str("cannot find the current executable to start it again"),
            SpawnError::Handoff(_) => f.write_str("cannot hand a channel to a child process"),
            SpawnError::Spawn(_) => f.write_str("cannot start a child process"),
            SpawnError::Send(why) => write!(f, "cannot send the task to the child process: {why}"),
            SpawnError::InitArg(why) => {
                write!(
                    f,
                    "cannot send the initializer's argument to the child process: {why}"
                )
            }
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::Channel(e) => Some(e),
            SpawnError::Executable(e) | SpawnError::Spawn(e) => Some(e),
            SpawnError::Handoff(e) => Some(e),
            SpawnError::Send(_) | SpawnError::InitArg(_) => None,
        }
    }
}

/// A child gave no result.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChildError {
    /// The entry's function panicked in the child.
    Panicked {
        /// The child's process id.
        pid: u32,
        /// The panic's message.
        message: String,
    },
    /// The child exited, or was killed, before it answered. `status` is
    /// `None` only when the child could not be waited for.
    Died {
        /// The child's process id.
        pid: u32,
        /// How it ended.
        status: Option<ExitStatus>,
    },
    /// No answer within the time the caller gave; the child still runs.
    Timeout {
        /// The child's process id.
        pid: u32,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The child sent something that is not an answer to its task; it was
    /// killed.
    Protocol {
        /// The child's process id.
        pid: u32,
        /// What was wrong.
        reason: String,
    },
    /// The result was already taken by an earlier wait.
    AlreadyTaken {
        /// The child's process id.
        pid: u32,
    },
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Panicked { pid, message } => write!(f, "child process {pid} panicked: {message}"),
            ChildError::Died {
                pid,
                status: Some(status),
            } => {
                write!(f, "child process {pid} ended before it answered ({status})")
            }
            ChildError::Died { pid, status: None } => {
                write!(f, "child process {pid} ended before it answered (status unknown)")
            }
            ChildError::Timeout { pid, waited } => {
                write!(f, "child process {pid} did not answer within {waited:?}")
            }
            ChildError::Protocol { pid, reason } => {
                write!(
                    f,
                    "child process {pid} sent something that is not its answer: {reason}"
                )
            }
            ChildError::AlreadyTaken { pid } => {
                write!(f, "the answer of child process {pid} was already taken")
            }
        }
    }
}

impl std::error::Error for ChildError {}
