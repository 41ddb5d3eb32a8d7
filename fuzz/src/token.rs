//! `handoff_token`: text from the fuzzer opened as a hand-off token
//! (`kind|archive format|message type|payload`) by an untyped and by a typed end, with
//! what the parser decides checked against the token's own fields.

use std::process::Command;

use transport_core::{
    CommandExt, FromEnvError, Handoff, HandoffError, OpenError, Sender,
    fingerprint::{archive_format, message_fingerprint},
    fuzzing::forget_opened_tokens,
    open_token,
};

/// An endpoint whose payload is its text. It refuses payloads that start
/// with [`REFUSED`], as a backend refuses a process that is not the child.
#[derive(Debug)]
pub struct Probe(pub String);

/// The kind written in a [`Probe`]'s token.
pub const KIND: &str = "fuzz.probe";
/// The start of a payload that [`Probe::open`] refuses.
pub const REFUSED: &str = "refuse";

impl Handoff for Probe {
    const KIND: &'static str = KIND;

    fn prepare(self, _cmd: &mut Command) -> Result<String, HandoffError> {
        Ok(self.0)
    }

    fn open(payload: &str) -> Result<Self, OpenError> {
        if payload.starts_with(REFUSED) {
            return Err(OpenError::refused("the probe", "its payload says so"));
        }
        Ok(Probe(payload.into()))
    }
}

/// The typed end the target opens besides the raw [`Probe`].
pub type Typed = Sender<u32, Probe>;

/// Seed tokens, written by `CommandExt::endpoint` itself where they are
/// valid, plus near misses; name and bytes.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (i, payload) in [
        "",
        "p",
        "a|b|c",
        "refuse-me",
        "fd=3;nonce=0123456789abcdef",
        "ünïcode",
    ]
    .into_iter()
    .enumerate()
    {
        seeds.push((format!("raw-{i}"), written("raw", Probe(payload.into()))));
        seeds.push((
            format!("typed-{i}"),
            written("typed", Typed::from_raw(Probe(payload.into()))),
        ));
    }
    let format = archive_format();
    let u32_type = message_fingerprint::<u32>();
    for (i, text) in [
        format!("fuzz.probe|{format}||"),
        format!("fuzz.probe|{format}|u64|x"),
        format!("fuzz.probe|rkyv-0.8 big-endian aligned 64-bit|{u32_type}|x"),
        format!("pipe.sender|{format}|{u32_type}|3"),
        "fuzz.probe||".to_owned(),
        "fuzz.probe".to_owned(),
        "||||".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        seeds.push((format!("miss-{i}"), text.into_bytes()));
    }
    seeds
}

/// The token `CommandExt::endpoint` writes for `end`.
fn written<E: Handoff>(name: &str, end: E) -> Vec<u8> {
    let mut cmd = Command::new("child");
    cmd.endpoint(name, end).expect("a probe hands over");
    let (_, value) = cmd.get_envs().next().expect("the token is in the environment");
    value.expect("the variable is set").as_encoded_bytes().to_vec()
}

/// One run: the text is opened as a raw and as a typed end.
pub fn run(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    forget_opened_tokens();
    let mut fields = token.splitn(4, '|');
    let (kind, format, message_type, payload) = (fields.next(), fields.next(), fields.next(), fields.next());
    let well_formed = payload.is_some();
    let right_kind = well_formed && kind == Some(KIND);
    let payload = payload.unwrap_or_default();
    let refused = payload.starts_with(REFUSED);

    // The raw end reads frames of any type: only the kind matters.
    match open_token::<Probe>("raw", token) {
        Ok(probe) => {
            assert!(right_kind && !refused, "opened `{token}`");
            assert_eq!(probe.0, payload, "the payload is handed over as it is");
            let again = open_token::<Probe>("raw", token);
            assert!(
                matches!(
                    again,
                    Err(FromEnvError::Open {
                        source: OpenError::AlreadyOpened,
                        ..
                    })
                ),
                "a token opened twice: {again:?}"
            );
        }
        Err(e) => expect_refusal(&e, token, well_formed, right_kind, refused, None),
    }
    forget_opened_tokens();

    // The typed end also needs this build's archive format and its own
    // message type's fingerprint.
    let typed = message_fingerprint::<u32>();
    let fits = Fits {
        format: format == Some(archive_format()),
        untyped: message_type == Some(""),
        message_type: message_type == Some(typed.as_str()),
    };
    match open_token::<Typed>("typed", token) {
        Ok(end) => {
            assert!(
                right_kind && !refused && fits.format && fits.message_type,
                "opened `{token}` typed"
            );
            assert_eq!(end.into_raw().0, payload);
        }
        Err(e) => expect_refusal(&e, token, well_formed, right_kind, refused, Some(fits)),
    }
    forget_opened_tokens();
}

/// How a token's fields fit a typed end.
#[derive(Clone, Copy)]
struct Fits {
    /// The format is this build's.
    format: bool,
    /// The message type field is empty.
    untyped: bool,
    /// The message type is the end's.
    message_type: bool,
}

/// Checks that `e` is the refusal the token's fields call for; `fits` is
/// `None` for the raw end.
fn expect_refusal(
    e: &FromEnvError,
    token: &str,
    well_formed: bool,
    right_kind: bool,
    refused: bool,
    fits: Option<Fits>,
) {
    let typed_ok = fits.is_none_or(|f| f.format && f.message_type);
    let message = e.to_string();
    assert!(!message.is_empty() && !message.ends_with('.'), "{message}");
    match e {
        FromEnvError::Open {
            source: OpenError::Malformed { .. },
            ..
        } => assert!(!well_formed, "a well-formed token called malformed: `{token}`"),
        FromEnvError::WrongKind { found, .. } => {
            assert!(well_formed && !right_kind, "`{token}`: wrong kind `{found}`");
        }
        FromEnvError::WrongFormat { .. } => {
            assert!(
                right_kind && fits.is_some_and(|f| !f.format),
                "`{token}`: wrong format"
            );
        }
        FromEnvError::Untyped { .. } => {
            assert!(
                right_kind && fits.is_some_and(|f| f.format && f.untyped),
                "`{token}` called untyped"
            );
        }
        FromEnvError::WrongType { found, .. } => {
            assert!(
                right_kind && fits.is_some_and(|f| f.format && !f.untyped && !f.message_type) && !found.is_empty(),
                "`{token}`: wrong type"
            );
        }
        FromEnvError::Open {
            source: OpenError::Refused { .. },
            ..
        } => assert!(
            right_kind && refused && typed_ok,
            "`{token}` refused"
        ),
        other => panic!("`{token}`: unexpected error {other:?}"),
    }
}
