//! `Entry`: a function a child process can run, by name.

use std::{
    any::Any,
    fmt,
    panic::{self, AssertUnwindSafe},
};

use transport_core::{FromEnvError, Message, from_env};

use super::start::{INIT_ID, RESULTS, ResultMsg, TASKS, TaskMsg};
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
    /// The initializer panicked (its message went to the parent).
    InitPanicked,
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Open(e) => write!(f, "cannot open the channel from the parent: {e}"),
            ServeError::Channel(e) => write!(f, "the channel to the parent failed: {e}"),
            ServeError::InitPanicked => f.write_str("the initializer panicked"),
        }
    }
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// What a registered name stands for in a child process.
pub(crate) enum Role<'a> {
    /// An entry, run for its tasks.
    Entry(&'a dyn Serve),
    /// An initializer, run once before the entry's first task.
    Initializer(&'a dyn Initialize),
}

/// An entry's loop in the child, with its argument and result types.
pub(crate) trait Serve {
    /// Runs `init` (if any), then answers each task from the parent until
    /// the parent sends its stop or closes the task channel.
    fn serve(&self, init: Option<&dyn Initialize>) -> Result<(), ServeError>;
}

/// An initializer in the child, with its argument type.
pub(crate) trait Initialize {
    /// Reads the argument from the parent and runs the function: `Err`
    /// with the panic's message when it panicked.
    fn initialize(&self) -> Result<Result<(), String>, ServeError>;
}

/// An [`Entry`] or an [`Initializer`](super::Initializer) of any argument
/// and result type, as [`init`](super::init()) takes them. Only those two
/// implement it.
pub trait EntryPoint: sealed::Sealed + Sync {
    /// The entry's (or initializer's) name.
    fn name(&self) -> &'static str;

    /// What it is, for the child that runs it.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn role(&self) -> Role<'_>;
}

impl<A, R> sealed::Sealed for Entry<A, R> {}

impl<A: Message, R: Message> EntryPoint for Entry<A, R> {
    fn name(&self) -> &'static str {
        self.name
    }

    #[allow(private_interfaces)]
    fn role(&self) -> Role<'_> {
        Role::Entry(self)
    }
}

impl<A: Message, R: Message> Serve for Entry<A, R> {
    fn serve(&self, init: Option<&dyn Initialize>) -> Result<(), ServeError> {
        let tasks: Receiver<TaskMsg<A>> = from_env(TASKS).map_err(ServeError::Open)?;
        let results: Sender<ResultMsg<R>> = from_env(RESULTS).map_err(ServeError::Open)?;
        if let Some(init) = init {
            // The parent learns the initializer's end first: an empty
            // answer when it returned, its panic's message when not.
            let outcome = init.initialize()?;
            let failed = outcome.is_err();
            let panics: Vec<(u64, String)> = outcome.err().map(|message| (0, message)).into_iter().collect();
            results
                .send((INIT_ID, Vec::new(), panics))
                .map_err(|e| ServeError::Channel(e.to_string()))?;
            settle(&results)?;
            if failed {
                return Err(ServeError::InitPanicked);
            }
        }
        // One answer message for every chunk, its vectors' room kept from
        // one chunk to the next: a worker's heap then neither grows nor
        // shrinks from chunk to chunk (with the C library's allocator a
        // buffer freed at the top of the heap may be given back to the
        // system and faulted in again, page by page, for the next chunk).
        let mut answer: ResultMsg<R> = (0, Vec::new(), Vec::new());
        loop {
            let task = match tasks.recv() {
                Ok(task) => task,
                Err(e) if e.is_disconnected() => return Ok(()),
                Err(e) => return Err(ServeError::Channel(e.to_string())),
            };
            // Each argument is taken out of the received message as its
            // task starts: no copy of the whole chunk first.
            let (id, args) = (task.0.to_native(), task.1.as_ref());
            let Some(args) = args else {
                // The parent's stop: every task sent before it is answered.
                return Ok(());
            };
            let run = self.run;
            // A chunk's results go back together, in one message: the
            // values in order, and where a task panicked, its position.
            let (_, values, panics) = &mut answer;
            values.reserve(args.len());
            // The tasks run in one unwinding scope, left only when one
            // panics (its position is noted, and the rest run in a new
            // scope): no scope per task.
            let mut next = 0;
            while next < args.len() {
                let ran = panic::catch_unwind(AssertUnwindSafe(|| {
                    for arg in &args[next..] {
                        let arg =
                            transport_core::rkyv::deserialize::<A, transport_core::rkyv::rancor::Error>(arg)
                                .map_err(|e| ServeError::Channel(e.to_string()))?;
                        // Counted first: a panic in `run` is that task's.
                        next += 1;
                        values.push(run(arg));
                    }
                    Ok::<(), ServeError>(())
                }));
                match ran {
                    Ok(done) => done?,
                    Err(payload) => panics.push(((next - 1) as u64, panic_message(payload))),
                }
            }
            drop(task);
            answer.0 = id;
            let sent = results
                .send(&answer)
                .map_err(|e| ServeError::Channel(e.to_string()));
            // The results are dropped now, not when the next chunk comes;
            // only the room stays, up to `KEPT_ROOM` bytes.
            answer.1.clear();
            answer.2.clear();
            if answer.1.capacity().saturating_mul(std::mem::size_of::<R>()) > KEPT_ROOM {
                answer.1 = Vec::new();
            }
            sent?;
            settle(&results)?;
        }
    }
}

/// The most room a worker keeps for the next chunk's results, in bytes
/// (the vector itself; what a result owns is dropped with it): past it,
/// an unusually large chunk gives its room back.
const KEPT_ROOM: usize = 16 << 20;

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
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(text) => (*text).to_owned(),
            Err(_) => "a panic with a payload that is not text".to_owned(),
        },
    }
}
