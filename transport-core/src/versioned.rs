//! [`Versioned`]: an end handed over with a schema version besides its
//! message type's layout.

use std::{borrow::Cow, process::Command};

use crate::{
    error::{HandoffError, OpenError},
    handoff::Handoff,
};

/// An end handed over with a schema version the application gives: the
/// parent's and the child's must be equal, besides the type's layout.
///
/// A layout check cannot see every change to a message type (two fields of
/// one type swapped, a field's meaning changed); a version number that the
/// application raises with each such change can. Wrap the end on both
/// sides:
///
/// ```
/// use transport_core::{FromEnvError, Versioned, open_token};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// type Jobs = transport_core::Receiver<u64, transport_core::local::LocalReceiver>;
/// // parent: cmd.endpoint("jobs", Versioned::<_, 3>(rx))?;
/// // child:  let Versioned(rx) = from_env::<Versioned<Jobs, 3>>("jobs")?;
/// # let token = "local.receiver|fmt|u64 (archived: 8 bytes, align 8); schema 2|p";
/// # let token = token.replace("fmt", transport_core::fingerprint::archive_format());
/// let err = open_token::<Versioned<Jobs, 3>>("jobs", &token).unwrap_err();
/// assert!(matches!(err, FromEnvError::WrongType { .. }));
/// assert!(err.to_string().contains("schema 2"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Versioned<E, const V: u32>(pub E);

impl<E, const V: u32> Versioned<E, V> {
    /// The end.
    pub fn into_inner(self) -> E {
        self.0
    }
}

impl<E: Handoff, const V: u32> Handoff for Versioned<E, V> {
    const KIND: &'static str = E::KIND;

    fn prepare(self, cmd: &mut Command) -> Result<String, HandoffError> {
        self.0.prepare(cmd)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        E::open(payload).map(Versioned)
    }

    fn child_watch() -> Option<fn(&str, &std::process::Child)> {
        E::child_watch()
    }

    fn message_type() -> Option<Cow<'static, str>> {
        Some(match E::message_type() {
            Some(t) => Cow::Owned(format!("{t}; schema {V}")),
            None => Cow::Owned(format!("schema {V}")),
        })
    }
}
