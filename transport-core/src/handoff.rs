//! Handing endpoints to spawned child processes.
//!
//! Python creates a `Queue` in the parent and passes it to the children it
//! starts. Here the parent passes an endpoint to a [`Command`] with
//! [`CommandExt::endpoint`]; the child opens it with [`from_env`]. The
//! endpoint travels as a *token*, a line of text in an environment variable
//! named after the endpoint; whatever else it needs (an inherited
//! descriptor, a handle, a secret) is the backend's business.
//!
//! ```no_run
//! use std::process::Command;
//! use transport_core::{CommandExt, local};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Parent: the local backend cannot cross processes, so this fails with
//! // a clear error; a process backend works the same way and succeeds.
//! let (tx, _rx) = local::unbounded::<u64>()?;
//! let err = Command::new("worker").endpoint("jobs", tx).unwrap_err();
//! assert!(err.to_string().contains("cannot be handed to another process"));
//! # Ok(()) }
//! ```
//!
//! In the child, `transport_core::from_env::<SomeReceiver>("jobs")` opens
//! the endpoint; a child that was not given it gets
//! [`FromEnvError::Missing`], not a panic.
//!
//! Start the child with [`CommandExt::start`] (or call [`spawned`]`(&cmd,
//! &child)` after `cmd.spawn()`): where a backend keeps something in the
//! parent until the child opens its end (the pipe on Windows), a child that
//! dies before it opens it then still makes its peer see `Disconnected`.
//! Elsewhere it costs a look at an empty list. The adapters' `process::spawn`
//! and `Pool` do it for you.
//!
//! A token is `kind|archive format|message type|payload`. The child checks
//! the kind and, for a typed endpoint, the archive format and the message
//! type's fingerprint (see [`open_token`] and [`fingerprint`](crate::fingerprint));
//! the payload is the backend's. Every hand-off is single-use and bound to the child it
//! was made for: see [`Handoff`] for the rule, what each backend does, and
//! the trust boundary (what another process of the same user can still do).

use std::{
    borrow::Cow,
    collections::{HashSet, VecDeque},
    env,
    ffi::OsString,
    process::{Child, Command},
    sync::{Mutex, PoisonError},
};

use rkyv::Archive;

use crate::{
    error::{FromEnvError, HandoffError, OpenError},
    fingerprint::{archive_format, message_fingerprint},
    receiver::Receiver,
    sender::Sender,
};

/// The prefix of the environment variables that carry endpoint tokens.
pub const ENV_PREFIX: &str = "TRANSPORT_ENDPOINT_";

/// An endpoint that can be handed to a child process.
///
/// Backends implement it on their raw ends; the typed [`Sender`] and
/// [`Receiver`] forward to it and add their message type, which the child
/// checks.
///
/// # Contract: single-use and bound to the child
/// Every hand-off is single-use and bound to the child it was made for:
/// - **Single use.** A hand-off opens one endpoint, once. Opening it a
///   second time fails loudly: in the same process with
///   [`OpenError::AlreadyOpened`] (this crate keeps the record), in another
///   process with [`OpenError::AlreadyUsed`] (the backend keeps it). So a
///   prepared [`Command`] spawned twice gives one working child; the second
///   spawn fails, or the second child's open is refused.
/// - **Bound to the child.** Only the process spawned from the prepared
///   command can open it: another process that copied the token is refused
///   with [`OpenError::Refused`], checked by user and, where the operating
///   system tells it and the parent knows the child's process id, by process
///   id; a refused attempt, or a connection that sends junk, does not use the
///   hand-off up.
/// - **No stray copies.** The parent's copy of whatever the child inherits
///   is closed as soon as the child has started, whether or not the
///   `Command` is kept, so the parent's end sees `Disconnected` when the
///   child exits.
/// - **A child that dies first is noticed.** A child that exits before it
///   opens its end makes the parent's end report `Disconnected` at once,
///   not after a timeout.
///
/// What each backend does (see its crate docs for the details):
///
/// | backend | how the end reaches the child | single use | bound to the child |
/// |---|---|---|---|
/// | `transport-pipe` | one end of a socket pair, inherited by the child (Unix; a duplicated handle on Windows) | the descriptor is given to one spawn; a second spawn of the command fails | the peer's process id is checked against the child's |
/// | `transport-queue` | an ipc-channel one-shot server the child connects to and sends its channels through | the server admits one member; a second child gets `AlreadyUsed` | each accepted connection's user and process id are checked; others are dropped without consuming the hand-off |
/// | `transport-shm` | the segment's name and a pending participant entry in the segment | the entry is claimed once | the claim is checked against the child's process id, recorded before `exec` (Unix) or once [`spawned`] tells it (Windows) |
///
/// # Trust boundary
/// This is the one place the workspace states what hand-off protects
/// against and what it does not.
///
/// *Other users* cannot reach an endpoint at all: every operating-system
/// object behind one (socket, shared-memory segment, hand-off socket and
/// its directory, named pipe) is owner-only whatever the umask, and every
/// accepted hand-off connection has its peer's user checked.
///
/// *Another process of the same user* (not the child a hand-off was made
/// for) can read a token (Linux shows the environment of a user's processes
/// in `/proc/<pid>/environ`), but a token alone opens nothing: its attempt
/// is refused ([`OpenError::Refused`]) and does not use up the real child's
/// hand-off. What such a process can still do is what the operating system
/// lets any process of a user do to the others, and no library can stop:
/// - signal or kill either side (the survivor gets `Disconnected` in
///   bounded time, with the losses each backend documents);
/// - debug either side (`ptrace`, `/proc/<pid>/mem`, `pidfd_getfd` where
///   the system's ptrace policy allows it) and so read or write its memory
///   and take its descriptors, including an end already opened;
/// - open a shared-memory segment by name (owner-only means this user) and
///   write into it, or connect to a queue's hand-off socket and be refused.
///
/// What it writes into a channel it reached that way is untrusted input:
/// every receiver validates each message and bounds its work, so such bytes
/// give a typed error or cost that channel (`Malformed`, `Disconnected`),
/// never undefined behaviour, a panic, a hang or unbounded memory in the
/// receiving process. Where a backend keeps shared state that a peer could
/// bend without breaking any check (the shared-memory transports), its own
/// trust model says what a same-user peer can and cannot do to you.
pub trait Handoff: Sized {
    /// The kind of endpoint, written in the token and checked when it is
    /// opened, for example `pipe.receiver`. It has no `|`.
    const KIND: &'static str;

    /// Prepares `cmd` so that the child it spawns can open this endpoint,
    /// and returns the token's payload (text with no NUL).
    ///
    /// Whatever must stay alive in the parent until the child has started
    /// (an inherited descriptor, say) goes with `cmd`, but not beyond the
    /// child's start: a parent that keeps `cmd` still sees the endpoint's
    /// peer go when the child exits. The preparation is for one child:
    /// spawning `cmd` again fails, or the second child's open is refused
    /// ([`OpenError::AlreadyUsed`]).
    ///
    /// # Errors
    /// [`HandoffError::Unsupported`] for endpoints that cannot cross
    /// processes, [`HandoffError::Io`] when a resource could not be shared.
    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError>;

    /// Opens the endpoint from the payload [`prepare`](Self::prepare) wrote,
    /// in the child.
    ///
    /// # Errors
    /// [`OpenError`] for a malformed payload or a resource that cannot be
    /// opened.
    fn open(payload: &str) -> Result<Self, OpenError>;

    /// The fingerprint of the message type this endpoint carries, where it
    /// is typed: [`message_fingerprint`](crate::fingerprint::message_fingerprint)
    /// for archived messages. `None` (the default) for an end that moves
    /// frames of any type.
    fn message_type() -> Option<Cow<'static, str>> {
        None
    }

    /// What the backend does once the child a hand-off was prepared for
    /// has started, if it needs to know that child: given the payload
    /// [`prepare`](Self::prepare) wrote and the child, it may watch the
    /// child so that what the parent keeps for it until it opens its end
    /// (Windows: the pipe's handle, shared memory's pending entry) is
    /// released when the child exits without opening it. `None` (the default) when the backend ties
    /// nothing to the child. Called by [`spawned`].
    fn child_watch() -> Option<fn(&str, &Child)> {
        None
    }
}

impl<T: Archive, S: Handoff> Handoff for Sender<T, S> {
    const KIND: &'static str = S::KIND;

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.into_raw().prepare(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        S::open(payload).map(Sender::from_raw)
    }

    fn message_type() -> Option<Cow<'static, str>> {
        Some(Cow::Owned(message_fingerprint::<T>()))
    }

    fn child_watch() -> Option<fn(&str, &Child)> {
        S::child_watch()
    }
}

impl<T: Archive, R: Handoff> Handoff for Receiver<T, R> {
    const KIND: &'static str = R::KIND;

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.into_raw().prepare(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        R::open(payload).map(Receiver::from_raw)
    }

    fn message_type() -> Option<Cow<'static, str>> {
        Some(Cow::Owned(message_fingerprint::<T>()))
    }

    fn child_watch() -> Option<fn(&str, &Child)> {
        R::child_watch()
    }
}

/// Passes endpoints to the child process a [`Command`] spawns.
pub trait CommandExt {
    /// Hands `endpoint` to the child under `name`; the child opens it with
    /// [`from_env(name)`](from_env).
    ///
    /// # Errors
    /// [`HandoffError::InvalidName`] unless `name` is ASCII letters, digits
    /// and `_`; otherwise as [`Handoff::prepare`].
    fn endpoint<E: Handoff>(&mut self, name: &str, endpoint: E) -> Result<&mut Self, HandoffError>;

    /// Spawns the command as [`Command::spawn`] does, then tells its
    /// hand-offs which child took them ([`spawned`]): use it in place of
    /// `spawn` for a command given endpoints.
    ///
    /// # Errors
    /// As [`Command::spawn`].
    fn start(&mut self) -> std::io::Result<Child>;
}

impl CommandExt for Command {
    fn start(&mut self) -> std::io::Result<Child> {
        let child = self.spawn()?;
        spawned(self, &child);
        Ok(child)
    }

    fn endpoint<E: Handoff>(&mut self, name: &str, endpoint: E) -> Result<&mut Self, HandoffError> {
        let var = env_var(name).ok_or_else(|| HandoffError::InvalidName { name: name.into() })?;
        let payload = endpoint.prepare(self)?;
        #[cfg(feature = "tracing")]
        tracing::debug!(
            endpoint = name,
            kind = E::KIND,
            message = E::message_type().as_deref(),
            "endpoint prepared for a child process"
        );
        let token = token_text::<E>(&payload);
        if let Some(watch) = E::child_watch() {
            let mut watches = WATCHES.lock().unwrap_or_else(PoisonError::into_inner);
            if watches.len() == MAX_WATCHES {
                // The oldest was never told its child: it keeps the
                // behaviour it would have without `spawned`.
                watches.pop_front();
            }
            watches.push_back(Watch {
                token: token.clone(),
                payload,
                watch,
            });
        }
        self.env(var, token);
        Ok(self)
    }
}

/// A hand-off whose backend wants to know its child (see
/// [`Handoff::child_watch`]): its token, its payload, and what to call
/// with the child.
struct Watch {
    token: String,
    payload: String,
    watch: fn(&str, &Child),
}

/// How many hand-offs wait for [`spawned`] at most: a program that never
/// calls it keeps this many (the oldest go first), not one per child it
/// ever started.
const MAX_WATCHES: usize = 1024;

/// The hand-offs not yet told their child, oldest first.
static WATCHES: Mutex<VecDeque<Watch>> = Mutex::new(VecDeque::new());

/// Tells the backends of the endpoints handed to `cmd` that `child` is
/// the process it started; call it right after
/// [`Command::spawn`](std::process::Command::spawn), with the child not
/// yet waited for.
///
/// Where a backend keeps something in the parent until the child opens its
/// end (on Windows, the pipe backend keeps the end's handle for the child
/// to take, and the shared-memory backend keeps the end's pending entry
/// alive through the parent), a child that exits without opening it would
/// otherwise leave that in place, and the end's peer would not see
/// `Disconnected` until the parent exits. With this call the backend
/// releases it when the child exits, so the contract's "a child that dies
/// first is noticed" holds there too. Each hand-off is told once; a second
/// call does nothing.
pub fn spawned(cmd: &Command, child: &Child) {
    let mut due = Vec::new();
    {
        let mut watches = WATCHES.lock().unwrap_or_else(PoisonError::into_inner);
        if watches.is_empty() {
            return;
        }
        for (key, value) in cmd.get_envs() {
            let is_endpoint = key.to_str().is_some_and(|k| k.starts_with(ENV_PREFIX));
            if let (true, Some(token)) = (is_endpoint, value.and_then(|v| v.to_str()))
                && let Some(at) = watches.iter().position(|w| w.token == token)
                && let Some(watch) = watches.remove(at)
            {
                due.push(watch);
            }
        }
    }
    for Watch { payload, watch, .. } in due {
        watch(&payload, child);
    }
}

/// The environment variable that carries endpoint `name`, if the name is
/// valid.
pub fn env_var(name: &str) -> Option<String> {
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| format!("{ENV_PREFIX}{}", name.to_ascii_uppercase()))
}

/// The whole token: `kind|archive format|message type|payload`.
fn token_text<E: Handoff>(payload: &str) -> String {
    format!(
        "{}|{}|{}|{payload}",
        E::KIND,
        archive_format(),
        E::message_type().unwrap_or_default()
    )
}

/// Tokens opened in this process: an endpoint is opened once per hand-off.
static OPENED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Records `key` (a token's kind and payload) as opened; false if it
/// already was.
fn claim(key: &str) -> bool {
    let mut opened = OPENED.lock().unwrap_or_else(PoisonError::into_inner);
    opened.get_or_insert_with(HashSet::new).insert(key.to_owned())
}

/// Takes back a claim whose endpoint failed to open, so a retry is possible.
fn unclaim(key: &str) {
    let mut opened = OPENED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(set) = opened.as_mut() {
        set.remove(key);
    }
}

/// Forgets every claim (for the fuzz targets, which open tokens over and
/// over in one process).
#[cfg(feature = "fuzzing")]
pub(crate) fn forget_opened() {
    let mut opened = OPENED.lock().unwrap_or_else(PoisonError::into_inner);
    *opened = None;
}

/// Opens the endpoint the parent handed to this process under `name`.
///
/// # Errors
/// [`FromEnvError::Missing`] when this process was not given `name`;
/// [`FromEnvError::WrongKind`] / [`FromEnvError::WrongFormat`] /
/// [`FromEnvError::WrongType`] when the parent handed over another kind of
/// endpoint, wrote messages in another archive format or another message
/// type (or layout of it), and
/// [`FromEnvError::Untyped`] when a typed endpoint finds no message type in
/// the token; [`FromEnvError::Open`] when it cannot be opened (including a second
/// attempt to open the same hand-off in one process).
pub fn from_env<E: Handoff>(name: &str) -> Result<E, FromEnvError> {
    let var = env_var(name).ok_or_else(|| FromEnvError::Open {
        name: name.into(),
        source: OpenError::malformed("the endpoint name is not ASCII letters, digits and `_`"),
    })?;
    let value: OsString = env::var_os(&var).ok_or_else(|| FromEnvError::Missing {
        name: name.into(),
        var: var.clone(),
    })?;
    let token = value
        .into_string()
        .map_err(|_| FromEnvError::NotUnicode { var: var.clone() })?;
    open_token::<E>(name, &token)
}

/// Opens an endpoint from a whole token, for tokens passed some other way
/// than the environment (a command-line argument, a file). `name` is used in
/// error messages only.
///
/// The token must name this endpoint's kind exactly, and a typed endpoint
/// (a [`Sender`], [`Receiver`] or [`Connection`](crate::Connection)) must
/// find this build's archive format and its own message type's
/// fingerprint in it: a token without a type (written for an untyped raw
/// end) is refused rather than read as any type. An untyped raw end
/// accepts any format and message type, since it reads frames, not
/// messages.
///
/// # Errors
/// As [`from_env`].
pub fn open_token<E: Handoff>(name: &str, token: &str) -> Result<E, FromEnvError> {
    let result = open_fields::<E>(name, token);
    #[cfg(feature = "tracing")]
    match &result {
        Ok(_) => tracing::debug!(endpoint = name, kind = E::KIND, "endpoint opened"),
        Err(e) => tracing::warn!(endpoint = name, kind = E::KIND, error = %e, "endpoint not opened"),
    }
    result
}

fn open_fields<E: Handoff>(name: &str, token: &str) -> Result<E, FromEnvError> {
    let mut parts = token.splitn(4, '|');
    let (Some(kind), Some(format), Some(message_type), Some(payload)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(FromEnvError::Open {
            name: name.into(),
            source: OpenError::malformed("expected `kind|format|type|payload`"),
        });
    };
    if kind != E::KIND {
        return Err(FromEnvError::WrongKind {
            name: name.into(),
            expected: E::KIND,
            found: kind.into(),
        });
    }
    if let Some(expected) = E::message_type() {
        if format != archive_format() {
            return Err(FromEnvError::WrongFormat {
                name: name.into(),
                expected: archive_format(),
                found: format.into(),
            });
        }
        if message_type.is_empty() {
            return Err(FromEnvError::Untyped {
                name: name.into(),
                expected: expected.into_owned(),
            });
        }
        if message_type != expected {
            return Err(FromEnvError::WrongType {
                name: name.into(),
                expected: expected.into_owned(),
                found: message_type.into(),
            });
        }
    }
    // The claim is on what is opened (kind and payload), so a token copied
    // with another message type field cannot open the same end again.
    let claimed = format!("{kind}|{payload}");
    if !claim(&claimed) {
        return Err(FromEnvError::Open {
            name: name.into(),
            source: OpenError::AlreadyOpened,
        });
    }
    E::open(payload).map_err(|source| {
        unclaim(&claimed);
        FromEnvError::Open {
            name: name.into(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An endpoint that carries only its payload, to test the token format.
    #[derive(Debug)]
    struct Probe(String);

    impl Handoff for Probe {
        const KIND: &'static str = "test.probe";

        fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
            Ok(self.0)
        }

        fn open(payload: &str) -> Result<Self, OpenError> {
            Ok(Probe(payload.into()))
        }
    }

    /// An endpoint whose backend asks to know its child, counting the
    /// calls per payload.
    #[derive(Debug)]
    struct Watched(String);

    static TOLD: Mutex<Vec<String>> = Mutex::new(Vec::new());

    impl Handoff for Watched {
        const KIND: &'static str = "test.watched";

        fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
            Ok(self.0)
        }

        fn open(payload: &str) -> Result<Self, OpenError> {
            Ok(Watched(payload.into()))
        }

        fn child_watch() -> Option<fn(&str, &Child)> {
            Some(|payload, _child| TOLD.lock().unwrap().push(payload.to_owned()))
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "starts a process")]
    fn start_tells_each_watched_hand_off_its_child_once_and_the_list_is_bounded() {
        let told = |p: &str| TOLD.lock().unwrap().iter().filter(|t| *t == p).count();
        // More hand-offs than the list keeps, never told their child: the
        // oldest are forgotten, the list stays bounded.
        for i in 0..MAX_WATCHES + 10 {
            Command::new("never-spawned")
                .endpoint("w", Watched(format!("old-{i}")))
                .unwrap();
        }
        assert!(WATCHES.lock().unwrap().len() <= MAX_WATCHES);
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.arg("--list")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd.endpoint("a", Watched("first".into())).unwrap();
        cmd.endpoint("b", Watched("second".into())).unwrap();
        cmd.endpoint("p", Probe("plain".into())).unwrap();
        // `start` tells the hand-offs; telling them again does nothing.
        let mut child = cmd.start().unwrap();
        spawned(&cmd, &child);
        child.wait().unwrap();
        assert_eq!((told("first"), told("second"), told("plain")), (1, 1, 0));
        assert_eq!(told("old-0"), 0);
    }

    #[test]
    fn names_map_to_variables() {
        assert_eq!(env_var("jobs_2").as_deref(), Some("TRANSPORT_ENDPOINT_JOBS_2"));
        assert_eq!(env_var(""), None);
        assert_eq!(env_var("a-b"), None);
    }

    #[test]
    fn command_carries_the_token() {
        let mut cmd = Command::new("child");
        cmd.endpoint("probe_a", Probe("x|y".into())).unwrap();
        let (_, value) = cmd
            .get_envs()
            .find(|(k, _)| *k == "TRANSPORT_ENDPOINT_PROBE_A")
            .unwrap();
        let token = value.unwrap().to_str().unwrap().to_owned();
        assert_eq!(token, format!("test.probe|{}||x|y", archive_format()));
        let probe: Probe = open_token("probe_a", &token).unwrap();
        assert_eq!(probe.0, "x|y");
        // The same hand-off cannot be opened twice.
        let again = open_token::<Probe>("probe_a", &token).unwrap_err();
        assert!(matches!(
            again,
            FromEnvError::Open {
                source: OpenError::AlreadyOpened,
                ..
            }
        ));
    }

    #[test]
    fn missing_endpoint_is_a_clear_error() {
        let err = from_env::<Probe>("never_given_to_this_process").unwrap_err();
        assert_eq!(
            err.to_string(),
            "this process was not given endpoint `never_given_to_this_process` \
             (environment variable TRANSPORT_ENDPOINT_NEVER_GIVEN_TO_THIS_PROCESS is not set)"
        );
    }

    /// A token of this build's format.
    fn token(kind: &str, message_type: &str, payload: &str) -> String {
        format!("{kind}|{}|{message_type}|{payload}", archive_format())
    }

    #[test]
    fn wrong_kind_and_type_are_named() {
        let err = open_token::<Probe>("e", &token("pipe.sender", "", "p")).unwrap_err();
        assert!(matches!(err, FromEnvError::WrongKind { found, .. } if found == "pipe.sender"));
        let u64_type = message_fingerprint::<u64>();
        let err = open_token::<Sender<u32, Probe>>("e", &token("test.probe", &u64_type, "p")).unwrap_err();
        assert!(
            matches!(&err, FromEnvError::WrongType { expected, found, .. }
                if *expected == message_fingerprint::<u32>() && *found == u64_type),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "endpoint `e` carries {u64_type}, but this process asked for {}",
                message_fingerprint::<u32>()
            )
        );
    }

    #[test]
    fn a_typed_end_refuses_another_archive_format() {
        let u32_type = message_fingerprint::<u32>();
        let other = "rkyv-0.8 big-endian aligned 64-bit";
        let text = format!("test.probe|{other}|{u32_type}|format-payload");
        let err = open_token::<Sender<u32, Probe>>("fmt", &text).unwrap_err();
        assert!(
            matches!(&err, FromEnvError::WrongFormat { found, .. } if found == other),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "endpoint `fmt` was written in archive format `{other}`, but this process reads `{}`",
                archive_format()
            )
        );
        // A raw end reads bytes, whatever their format.
        assert!(open_token::<Probe>("fmt", &text).is_ok());
    }

    #[test]
    fn a_typed_end_refuses_a_token_without_a_type() {
        let err = open_token::<Sender<u32, Probe>>("untyped", &token("test.probe", "", "untyped-payload"))
            .unwrap_err();
        let u32_type = message_fingerprint::<u32>();
        assert!(
            matches!(&err, FromEnvError::Untyped { name, expected } if name == "untyped" && *expected == u32_type),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "endpoint `untyped` was handed over without a message type, but {u32_type} was asked for"
            )
        );
        // A raw end reads frames of any type, so it takes either token.
        assert!(open_token::<Probe>("raw", &token("test.probe", "", "raw-payload-a")).is_ok());
        assert!(open_token::<Probe>("raw", &token("test.probe", "u64", "raw-payload-b")).is_ok());
    }

    #[test]
    fn a_schema_version_is_checked_beside_the_layout() {
        use crate::versioned::Versioned;
        let v2 = format!("{}; schema 2", message_fingerprint::<u32>());
        let end: Versioned<Sender<u32, Probe>, 2> =
            open_token("schema", &token("test.probe", &v2, "schema-a")).unwrap();
        assert_eq!(end.into_inner().into_raw().0, "schema-a");
        let err =
            open_token::<Versioned<Sender<u32, Probe>, 3>>("schema", &token("test.probe", &v2, "schema-b"))
                .unwrap_err();
        assert!(err.to_string().contains("schema 2, but") && err.to_string().ends_with("schema 3"));
        // An end handed over without a version is not read as versioned.
        let plain = message_fingerprint::<u32>();
        assert!(
            open_token::<Versioned<Sender<u32, Probe>, 2>>(
                "schema",
                &token("test.probe", &plain, "schema-c")
            )
            .is_err()
        );
    }

    #[test]
    fn another_type_field_does_not_reopen_an_end() {
        let first: Probe = open_token("twice", &token("test.probe", "u64", "twice-payload")).unwrap();
        assert_eq!(first.0, "twice-payload");
        let again = open_token::<Probe>("twice", &token("test.probe", "u32", "twice-payload")).unwrap_err();
        assert!(
            matches!(
                again,
                FromEnvError::Open {
                    source: OpenError::AlreadyOpened,
                    ..
                }
            ),
            "{again:?}"
        );
    }
}
