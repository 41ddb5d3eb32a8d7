//! `handoff_token`: text from the fuzzer opened as a hand-off token
//! (`kind|message type|payload`) by an untyped and by a typed end, with
//! what the parser decides checked against the token's own fields.

use std::process::Command;

use transport_core::{
    CommandExt, FromEnvError, Handoff, HandoffError, OpenError, Sender, fuzzing::forget_opened_tokens,
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
    for (i, text) in [
        "fuzz.probe||",
        "fuzz.probe|u64|x",
        "pipe.sender|u32|3",
        "fuzz.probe",
        "|||",
    ]
    .into_iter()
    .enumerate()
    {
        seeds.push((format!("miss-{i}"), text.as_bytes().to_vec()));
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
    let mut fields = token.splitn(3, '|');
    let (kind, message_type, payload) = (fields.next(), fields.next(), fields.next());
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

    // The typed end also needs its own message type.
    let typed = std::any::type_name::<u32>();
    match open_token::<Typed>("typed", token) {
        Ok(end) => {
            assert!(
                right_kind && !refused && message_type == Some(typed),
                "opened `{token}` typed"
            );
            assert_eq!(end.into_raw().0, payload);
        }
        Err(e) => expect_refusal(
            &e,
            token,
            well_formed,
            right_kind,
            refused,
            message_type.map(|t| t == typed),
        ),
    }
    forget_opened_tokens();
}

/// Checks that `e` is the refusal the token's fields call for;
/// `type_matches` is `None` for the raw end.
fn expect_refusal(
    e: &FromEnvError,
    token: &str,
    well_formed: bool,
    right_kind: bool,
    refused: bool,
    type_matches: Option<bool>,
) {
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
        FromEnvError::Untyped { .. } => {
            assert!(
                right_kind && type_matches == Some(false),
                "`{token}` called untyped"
            );
            assert!(token[KIND.len()..].starts_with("||"), "`{token}` has a type");
        }
        FromEnvError::WrongType { found, .. } => {
            assert!(
                right_kind && type_matches == Some(false) && !found.is_empty(),
                "`{token}`: wrong type"
            );
        }
        FromEnvError::Open {
            source: OpenError::Refused { .. },
            ..
        } => assert!(
            right_kind && refused && type_matches != Some(false),
            "`{token}` refused"
        ),
        other => panic!("`{token}`: unexpected error {other:?}"),
    }
}
