//! The text of a Unix pipe end's hand-off token (`unix.rs`).

use std::{fmt, str::FromStr};

use transport_core::OpenError;

/// A hand-off's payload, `fd=N,dev=N,ino=N`: the inherited descriptor and
/// the device and inode of the socket it must be. `D` and `I` are the
/// system's `dev_t` and `ino_t` (plain integers in tests and fuzzing).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FdPayload<D, I> {
    pub(crate) fd: i32,
    pub(crate) dev: D,
    pub(crate) ino: I,
}

impl<D: FromStr, I: FromStr> FdPayload<D, I> {
    /// Reads `payload`; every field present, in order, and a number.
    ///
    /// # Errors
    /// `Malformed`, naming the field that is wrong.
    pub(crate) fn parse(payload: &str) -> Result<Self, OpenError> {
        let mut fields = payload.split(',').map(|kv| kv.split_once('='));
        let (Some(Some(("fd", fd))), Some(Some(("dev", dev))), Some(Some(("ino", ino))), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(OpenError::malformed(format!(
                "expected `fd=N,dev=N,ino=N`, found `{payload}`"
            )));
        };
        let bad = |what: &str| OpenError::malformed(format!("{what} in `{payload}` is not a number"));
        let fd: i32 = fd.parse().map_err(|_| bad("the descriptor"))?;
        if fd <= 2 {
            return Err(OpenError::malformed(format!(
                "descriptor {fd} is a standard stream"
            )));
        }
        Ok(FdPayload {
            fd,
            dev: dev.parse().map_err(|_| bad("the device"))?,
            ino: ino.parse().map_err(|_| bad("the inode"))?,
        })
    }
}

impl<D: fmt::Display, I: fmt::Display> fmt::Display for FdPayload<D, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let FdPayload { fd, dev, ino } = self;
        write!(f, "fd={fd},dev={dev},ino={ino}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_reads_back_what_it_wrote() {
        let written = FdPayload {
            fd: 9,
            dev: 64_769_u64,
            ino: 1_234_567_u64,
        }
        .to_string();
        assert_eq!(written, "fd=9,dev=64769,ino=1234567");
        assert_eq!(
            FdPayload::<u64, u64>::parse(&written).expect("a payload it wrote"),
            FdPayload {
                fd: 9,
                dev: 64_769,
                ino: 1_234_567
            }
        );
    }

    #[test]
    fn a_standard_stream_a_missing_field_or_junk_is_refused() {
        for bad in [
            "fd=2,dev=1,ino=1",
            "fd=-1,dev=1,ino=1",
            "fd=9,dev=1",
            "fd=9,dev=x,ino=1",
            "fd=9,dev=1,ino=1,extra=1",
            "ino=1,dev=1,fd=9",
            "",
        ] {
            assert!(
                matches!(
                    FdPayload::<u64, u64>::parse(bad),
                    Err(OpenError::Malformed { .. })
                ),
                "{bad:?} was read"
            );
        }
    }
}
