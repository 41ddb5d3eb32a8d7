//! `Initializer`: a function a worker process runs once, before its first
//! task, with an argument from its parent (Python's `Pool(initializer=...,
//! initargs=...)`).

use std::{
    fmt,
    panic::{self, AssertUnwindSafe},
    process::Command,
    sync::Arc,
};

use transport_core::{CommandExt, Message, from_env};

use super::{
    entry::{EntryPoint, Initialize, Role, ServeError, panic_message, sealed},
    error::SpawnError,
    start::{INIT_ARG, Pending, Setup},
};
use crate::{Receiver, Sender};

/// A function `fn(I)` that each worker of a [`Pool`](crate::pool::Pool)
/// runs once, before its first task (to open a connection, load a model,
/// fill a process-global cache): a name the parent and the worker agree
/// on, and the function.
///
/// Declare it as a `static`, pass it to [`init`](super::init()) beside the
/// entries, and to [`Builder::initializer`](crate::pool::Builder::initializer)
/// with its argument. The name must be unique among the program's
/// initializers.
///
/// ```no_run
/// use std::sync::OnceLock;
///
/// use transport_adapters::{
///     pool::Pool,
///     process::{self, Entry, Initializer},
/// };
///
/// /// What this worker's initializer was given.
/// static GREETING: OnceLock<String> = OnceLock::new();
///
/// fn setup(greeting: String) {
///     let _ = GREETING.set(greeting);
/// }
///
/// fn greet(name: String) -> String {
///     format!("{}, {name}", GREETING.get().map_or("?", String::as_str))
/// }
///
/// static SETUP: Initializer<String> = Initializer::new("setup", setup);
/// static GREET: Entry<String, String> = Entry::new("greet", greet);
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     process::init(&[&GREET, &SETUP]);
///     let pool = Pool::builder(&GREET)
///         .workers(2)
///         .initializer(&SETUP, "hello".to_owned())
///         .build()?;
///     assert_eq!(pool.apply("you".to_owned())?, "hello, you");
///     Ok(())
/// }
/// ```
pub struct Initializer<I> {
    name: &'static str,
    run: fn(I),
}

impl<I> Initializer<I> {
    /// The initializer `name`, which runs `run`.
    pub const fn new(name: &'static str, run: fn(I)) -> Self {
        Initializer { name, run }
    }

    /// The initializer's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<I> fmt::Debug for Initializer<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Initializer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<I> sealed::Sealed for Initializer<I> {}

impl<I: Message> EntryPoint for Initializer<I> {
    fn name(&self) -> &'static str {
        self.name
    }

    #[allow(private_interfaces)]
    fn role(&self) -> Role<'_> {
        Role::Initializer(self)
    }
}

impl<I: Message> Initialize for Initializer<I> {
    fn initialize(&self) -> Result<Result<(), String>, ServeError> {
        let arg: Receiver<I> = from_env(INIT_ARG).map_err(ServeError::Open)?;
        let msg = arg.recv().map_err(|e| ServeError::Channel(e.to_string()))?;
        let value = msg
            .deserialize()
            .map_err(|e| ServeError::Channel(e.to_string()))?;
        drop(msg);
        let run = self.run;
        Ok(panic::catch_unwind(AssertUnwindSafe(move || run(value))).map_err(panic_message))
    }
}

/// An initializer with its argument.
pub(crate) struct InitCall<I: 'static> {
    initializer: &'static Initializer<I>,
    arg: I,
}

impl<I: Message + Send + Sync + 'static> InitCall<I> {
    /// `initializer` with `arg`, ready for a pool's settings.
    pub fn shared(initializer: &'static Initializer<I>, arg: I) -> Arc<dyn Setup> {
        Arc::new(InitCall { initializer, arg })
    }
}

impl<I: Message + Send + Sync + 'static> Setup for InitCall<I> {
    fn name(&self) -> &'static str {
        self.initializer.name
    }

    fn attach(&self, cmd: &mut Command) -> Result<Box<dyn Pending + '_>, SpawnError> {
        let (tx, rx) = crate::bounded::<I>(1).map_err(SpawnError::Channel)?;
        cmd.endpoint(INIT_ARG, rx).map_err(SpawnError::Handoff)?;
        Ok(Box::new(Unsent { tx, arg: &self.arg }))
    }
}

/// The argument and the sending end of its channel.
struct Unsent<'a, I: Message> {
    tx: Sender<I>,
    arg: &'a I,
}

impl<I: Message + Send + 'static> Pending for Unsent<'_, I> {
    fn send(self: Box<Self>) -> Result<Box<dyn Send>, SpawnError> {
        self.tx
            .send(self.arg)
            .map_err(|e| SpawnError::InitArg(e.to_string()))?;
        Ok(Box::new(self.tx))
    }
}
