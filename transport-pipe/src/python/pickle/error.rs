//! [`PickleError`]: why a pickle was not read or written.

use std::fmt;

/// Why a pickle was not read (or a value not written).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PickleError {
    /// The bytes end in the middle of an opcode, or before `STOP`.
    Truncated {
        /// Where the cut opcode starts.
        at: usize,
    },
    /// A byte that is not a pickle opcode.
    UnknownOpcode {
        /// The byte.
        opcode: u8,
        /// Where it is.
        at: usize,
    },
    /// A protocol newer than 5.
    UnsupportedProtocol {
        /// The protocol the pickle announces.
        protocol: u8,
    },
    /// The pickle refers to a class or a function (or another object this
    /// reader does not build): only plain values are read, nothing is run.
    Refused {
        /// The opcode (`GLOBAL`, `REDUCE`, `BUILD`, ...).
        opcode: &'static str,
        /// The class or function it names, where the pickle says
        /// (`collections.OrderedDict`).
        name: Option<String>,
        /// Where the opcode is.
        at: usize,
    },
    /// An opcode whose operands or stack do not make sense.
    Invalid {
        /// Where the opcode is.
        at: usize,
        /// What is wrong.
        reason: String,
    },
    /// Values nested deeper than the limit (or a value that contains
    /// itself).
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// The value would take more memory than the limit (a small pickle can
    /// refer to one value many times, and each reference is a copy here).
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl PickleError {
    pub(crate) fn invalid(at: usize, reason: impl Into<String>) -> Self {
        PickleError::Invalid {
            at,
            reason: reason.into(),
        }
    }

    /// Whether the pickle was refused because it holds a class instance, a
    /// function or another non-plain object.
    pub fn is_refused(&self) -> bool {
        matches!(self, PickleError::Refused { .. })
    }
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PickleError::Truncated { at } => write!(f, "the pickle ends in the opcode at byte {at}"),
            PickleError::UnknownOpcode { opcode, at } => {
                write!(f, "byte {at} of the pickle ({opcode:#04x}) is not an opcode")
            }
            PickleError::UnsupportedProtocol { protocol } => {
                write!(f, "pickle protocol {protocol} is not supported (0 to 5 are)")
            }
            PickleError::Refused {
                opcode,
                name: Some(name),
                at,
            } => write!(
                f,
                "the pickle refers to `{name}` ({opcode} at byte {at}): only plain values \
                 (None, bool, int, float, str, bytes, tuple, list, dict, set) are read, never classes or functions"
            ),
            PickleError::Refused {
                opcode,
                name: None,
                at,
            } => write!(
                f,
                "the pickle builds an object with {opcode} at byte {at}: only plain values \
                 (None, bool, int, float, str, bytes, tuple, list, dict, set) are read"
            ),
            PickleError::Invalid { at, reason } => write!(f, "invalid pickle at byte {at}: {reason}"),
            PickleError::TooDeep { limit } => write!(
                f,
                "the pickle nests values deeper than {limit} levels (or holds a value that contains itself)"
            ),
            PickleError::TooLarge { limit } => {
                write!(f, "the pickled value would take more than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for PickleError {}
