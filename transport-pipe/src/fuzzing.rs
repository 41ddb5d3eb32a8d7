//! Entry points of the fuzz targets in `fuzz/` (feature `fuzzing`; not an
//! API).

use transport_core::OpenError;

use crate::sys::{FdPayload, Payload};

/// `pipe_handoff_payload`: `text` read as the payload of a pipe end's
/// hand-off token, in the Unix form (with Linux's and macOS's device
/// number types) and the Windows form. A payload is read or refused as
/// `Malformed`, never anything else; one that is read writes back to text
/// that reads as the same payload, with a descriptor above the standard
/// streams (Unix).
///
/// # Panics
/// When one of those does not hold: the fuzzer's crash.
pub fn handoff_payload(text: &str) {
    unix_form::<u64, u64>(text);
    unix_form::<i32, u64>(text);
    match Payload::parse(text) {
        Ok(read) => {
            let again = read.to_string();
            assert_eq!(
                Payload::parse(&again).ok(),
                Some(read),
                "{again:?}, written from {text:?}"
            );
        }
        Err(e) => assert_malformed(&e, text),
    }
}

fn unix_form<D, I>(text: &str)
where
    D: std::str::FromStr + std::fmt::Display + std::fmt::Debug + PartialEq,
    I: std::str::FromStr + std::fmt::Display + std::fmt::Debug + PartialEq,
{
    match FdPayload::<D, I>::parse(text) {
        Ok(read) => {
            assert!(read.fd > 2, "descriptor {} read from {text:?}", read.fd);
            let again = read.to_string();
            assert_eq!(
                FdPayload::<D, I>::parse(&again).ok(),
                Some(read),
                "{again:?}, written from {text:?}"
            );
        }
        Err(e) => assert_malformed(&e, text),
    }
}

fn assert_malformed(e: &OpenError, text: &str) {
    assert!(matches!(e, OpenError::Malformed { .. }), "{text:?} gave {e:?}");
}
