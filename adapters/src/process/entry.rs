//! `Entry`: a function a child process can run, by name.

use std::{
    any::Any,
    fmt,
    panic::{self, AssertUnwindSafe},
};

use transport_core::{FromEnvError, Message, from_env};

use super::start::{RESULTS, ResultMsg, TASKS, TaskMsg};
use crate::{Receiver, Sender};

/// A function `fn(A) -> R` that a child process runs: a name the parent
/// and the child agree on, and the function.
///
/// Declare it as a `static` and pass it to [`init`](super::init()) and to
/// [`spawn`](super::spawn) or a [`Pool`](crate::pool::Pool). The name must
/// be unique among the program's entries.
pub struct Entry<A, R> {
    name: &'static str,
    run: fn(A) -> R,
}

impl<A, R> Entry<A, R> {
    /// The entry `name`, which runs `run`.
    pub const fn new(name: &'static str, run: fn(A) -> R) -> Self {
        Entry { name, run }
    }

    /// The entry's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<A, R> fmt::Debug for Entry<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why a child could not serve its entry.
#[derive(Debug)]
pub(crate) enum ServeError {
    /// A channel from the parent could not be opened.
    Open(FromEnvError),
    /// The parent's task could not be read, or the result not sent.
    Channel(String),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Open(e) => write!(f, "cannot open the channel from the parent: {e}"),
            ServeError::Channel(e) => write!(f, "the channel to the parent failed: {e}"),
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// An [`Entry`] of any argument and result type, as [`init`](super::init())
/// takes them. Only [`Entry`] implements it.
pub trait EntryPoint: sealed::Sealed + Sync {
    /// The entry's name.
    fn name(&self) -> &'static str;

    /// Runs the entry in this child process: answers each task from the
    /// parent until the parent sends its stop or closes the task channel.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn serve(&self) -> Result<(), ServeError>;
}

impl<A, R> sealed::Sealed for Entry<A, R> {}

impl<A: Message, R: Message> EntryPoint for Entry<A, R> {
    fn name(&self) -> &'static str {
        self.name
    }

    #[allow(private_interfaces)]
    fn serve(&self) -> Result<(), ServeError> {
        let tasks: Receiver<TaskMsg<A>> = from_env(TASKS).map_err(ServeError::Open)?;
        let results: Sender<ResultMsg<R>> = from_env(RESULTS).map_err(ServeError::Open)?;
        loop {
            let task = match tasks.recv() {
                Ok(task) => task,
                Err(e) if e.is_disconnected() => return Ok(()),
                Err(e) => return Err(ServeError::Channel(e.to_string())),
            };
            let (id, arg) = task
                .deserialize()
                .map_err(|e| ServeError::Channel(e.to_string()))?;
            drop(task);
            let Some(arg) = arg else {
                // The parent's stop: every task sent before it is answered.
                return Ok(());
            };
            let run = self.run;
            let outcome = panic::catch_unwind(AssertUnwindSafe(move || run(arg))).map_err(panic_message);
            results
                .send((id, outcome))
                .map_err(|e| ServeError::Channel(e.to_string()))?;
            settle(&results)?;
        }
    }
}

/// Makes the answers sent so far safe from this process's death before it
/// runs another task. A pipe end coalesces a burst of sends into a backlog
/// that a thread writes, and a SIGKILL loses what is still there: the
/// parent would then blame the next task for the death, and fail the one
/// that was answered.
#[cfg(all(feature = "pipe", not(feature = "queue")))]
fn settle<T>(results: &Sender<T>) -> Result<(), ServeError> {
    results
        .raw()
        .flush()
        .map_err(|e| ServeError::Channel(e.to_string()))
}

/// The selected backend's send is in the operating system (or the shared
/// memory) when it returns: nothing to do.
#[cfg(not(all(feature = "pipe", not(feature = "queue"))))]
#[allow(clippy::unnecessary_wraps)]
fn settle<T>(_results: &Sender<T>) -> Result<(), ServeError> {
    Ok(())
}

/// The text a panic carried, as far as it was text.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(text) => (*text).to_owned(),
            Err(_) => "a panic with a payload that is not text".to_owned(),
        },
    }
}
