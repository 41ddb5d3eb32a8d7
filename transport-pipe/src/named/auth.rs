//! Python's authentication handshake (`deliver_challenge` /
//! `answer_challenge` of `multiprocessing.connection`), both directions.
//!
//! The side that delivers sends `#CHALLENGE#` and a message, `{sha256}`
//! followed by 40 random bytes (as Python 3.12 and later do); the other
//! side answers with the HMAC of the whole message under the shared key,
//! prefixed with the digest's name, and hears `#WELCOME#` or `#FAILURE#`.
//! A listener delivers first and then answers; a client answers first.
//!
//! Both forms Python accepts are accepted: an answer of 16 bytes (or a
//! challenge of 20 bytes) is the legacy form of Python 3.11 and earlier,
//! raw HMAC-MD5 with no prefix; otherwise the prefix names the digest, one
//! of md5, sha256, sha384, sha3_256, sha3_384, and the HMAC covers the
//! prefix too, so it cannot be downgraded. Digests are compared in constant
//! time (`hmac`'s `verify_slice`). Every handshake message is read with a
//! limit of 256 bytes, as Python reads them.

use hmac::{Mac, SimpleHmac};

use super::error::AuthError;

const CHALLENGE: &[u8] = b"#CHALLENGE#";
const WELCOME: &[u8] = b"#WELCOME#";
const FAILURE: &[u8] = b"#FAILURE#";
/// The random part of a challenge.
const MESSAGE_LENGTH: usize = 40;
/// The longest handshake message read.
pub(crate) const MAX_AUTH_MESSAGE: usize = 256;
/// A challenge of this length, or an answer of 16 bytes, is the legacy
/// (Python 3.11 and earlier) HMAC-MD5 form.
const LEGACY_CHALLENGE: usize = 20;
const LEGACY_ANSWER: usize = 16;

/// What the handshake needs of a connection: send one message, receive one
/// of at most `max` bytes.
pub(crate) trait Channel {
    fn send_message(&self, bytes: &[u8]) -> Result<(), AuthError>;
    fn recv_message(&self, max: usize) -> Result<Vec<u8>, AuthError>;
}

/// The digests Python accepts in a handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Digest {
    Md5,
    Sha256,
    Sha384,
    Sha3_256,
    Sha3_384,
}

impl Digest {
    fn named(name: &[u8]) -> Option<Digest> {
        Some(match name {
            b"md5" => Digest::Md5,
            b"sha256" => Digest::Sha256,
            b"sha384" => Digest::Sha384,
            b"sha3_256" => Digest::Sha3_256,
            b"sha3_384" => Digest::Sha3_384,
            _ => return None,
        })
    }

    fn mac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
            let mut mac =
                <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Digest::Md5 => run::<SimpleHmac<md5::Md5>>(key, message),
            Digest::Sha256 => run::<SimpleHmac<sha2::Sha256>>(key, message),
            Digest::Sha384 => run::<SimpleHmac<sha2::Sha384>>(key, message),
            Digest::Sha3_256 => run::<SimpleHmac<sha3::Sha3_256>>(key, message),
            Digest::Sha3_384 => run::<SimpleHmac<sha3::Sha3_384>>(key, message),
        }
    }

    /// Checks `mac` in constant time.
    fn verify(self, key: &[u8], message: &[u8], mac: &[u8]) -> bool {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
            let Ok(mut m) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
                return false;
            };
            m.update(message);
            m.verify_slice(tag).is_ok()
        }
        match self {
            Digest::Md5 => run::<SimpleHmac<md5::Md5>>(key, message, mac),
            Digest::Sha256 => run::<SimpleHmac<sha2::Sha256>>(key, message, mac),
            Digest::Sha384 => run::<SimpleHmac<sha2::Sha384>>(key, message, mac),
            Digest::Sha3_256 => run::<SimpleHmac<sha3::Sha3_256>>(key, message, mac),
            Digest::Sha3_384 => run::<SimpleHmac<sha3::Sha3_384>>(key, message, mac),
        }
    }

    fn len(self) -> usize {
        match self {
            Digest::Md5 => 16,
            Digest::Sha256 | Digest::Sha3_256 => 32,
            Digest::Sha384 | Digest::Sha3_384 => 48,
        }
    }
}

/// The digest a message names, with its `{name}` prefix; `None` for the
/// legacy form (no prefix, MD5).
type Named<'m> = Option<(Digest, &'m [u8])>;

/// The digest a message names, and its payload.
fn digest_of(message: &[u8]) -> Result<(Named<'_>, &[u8]), AuthError> {
    if message.len() == LEGACY_CHALLENGE || message.len() == LEGACY_ANSWER {
        return Ok((None, message));
    }
    if let Some(rest) = message.strip_prefix(b"{") {
        // The longest name, `sha3_384`, is 8 bytes.
        if let Some(close) = rest.iter().take(9).position(|&b| b == b'}') {
            let name = &rest[..close];
            if let Some(d) = Digest::named(name) {
                return Ok((Some((d, &message[..close + 2])), &rest[close + 1..]));
            }
        }
    }
    Err(AuthError::Protocol {
        reason: "unsupported message length, missing digest prefix, or unsupported digest".into(),
    })
}

/// Sends a challenge and checks the answer; `#WELCOME#` or `#FAILURE#`.
pub(crate) fn deliver(ch: &impl Channel, key: &[u8]) -> Result<(), AuthError> {
    let mut random = [0u8; MESSAGE_LENGTH];
    getrandom::getrandom(&mut random).map_err(|e| AuthError::Random(e.to_string()))?;
    let mut message = b"{sha256}".to_vec();
    message.extend_from_slice(&random);
    let mut challenge = CHALLENGE.to_vec();
    challenge.extend_from_slice(&message);
    ch.send_message(&challenge)?;
    let answer = ch.recv_message(MAX_AUTH_MESSAGE)?;
    match check(key, &message, &answer) {
        Ok(()) => ch.send_message(WELCOME),
        Err(e) => {
            // Python sends the failure first, then raises.
            let _ = ch.send_message(FAILURE);
            Err(e)
        }
    }
}

/// Checks `answer` to `message` as Python 3.12 does.
fn check(key: &[u8], message: &[u8], answer: &[u8]) -> Result<(), AuthError> {
    let (digest, mac) = digest_of(answer)?;
    let digest = digest.map_or(Digest::Md5, |(d, _)| d);
    if mac.len() != digest.len() {
        return Err(AuthError::Protocol {
            reason: format!("expected a digest of length {}, got {}", digest.len(), mac.len()),
        });
    }
    if digest.verify(key, message, mac) {
        Ok(())
    } else {
        Err(AuthError::WrongDigest)
    }
}

/// Answers a challenge and hears whether the answer was accepted.
pub(crate) fn answer(ch: &impl Channel, key: &[u8]) -> Result<(), AuthError> {
    let challenge = ch.recv_message(MAX_AUTH_MESSAGE)?;
    let message = challenge
        .strip_prefix(CHALLENGE)
        .ok_or_else(|| AuthError::Protocol {
            reason: "expected a challenge".into(),
        })?;
    if message.len() < LEGACY_CHALLENGE {
        return Err(AuthError::Protocol {
            reason: format!("challenge too short: {} bytes", message.len()),
        });
    }
    let response = match digest_of(message)? {
        (None, _) => Digest::Md5.mac(key, message),
        (Some((digest, prefix)), _) => {
            let mut r = prefix.to_vec();
            r.extend_from_slice(&digest.mac(key, message));
            r
        }
    };
    ch.send_message(&response)?;
    let verdict = ch.recv_message(MAX_AUTH_MESSAGE)?;
    if verdict == WELCOME {
        Ok(())
    } else {
        Err(AuthError::Rejected)
    }
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, collections::VecDeque};

    use super::*;

    /// Two in-memory queues: what one side sends, the other receives.
    #[derive(Default)]
    struct Wire {
        to_client: RefCell<VecDeque<Vec<u8>>>,
        to_server: RefCell<VecDeque<Vec<u8>>>,
    }

    #[test]
    fn legacy_and_modern_answers_are_checked() {
        let key = b"secret";
        let message = b"{sha256}0123456789012345678901234567890123456789";
        let modern = {
            let mut r = b"{sha256}".to_vec();
            r.extend(Digest::Sha256.mac(key, message));
            r
        };
        assert!(check(key, message, &modern).is_ok());
        // Python 3.11's answer to the same challenge: raw HMAC-MD5.
        assert!(check(key, message, &Digest::Md5.mac(key, message)).is_ok());
        assert!(matches!(
            check(b"wrong", message, &modern),
            Err(AuthError::WrongDigest)
        ));
        assert!(matches!(
            check(key, message, b"{sha1}xx"),
            Err(AuthError::Protocol { .. })
        ));
        // A known vector: HMAC-MD5("key", "The quick brown fox jumps over the lazy dog").
        let mac = Digest::Md5.mac(b"key", b"The quick brown fox jumps over the lazy dog");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "80070713463e7749b90c2dc24911e275");
    }

    #[test]
    fn digest_prefixes_are_parsed_like_python() {
        assert!(matches!(digest_of(&[0u8; 20]), Ok((None, _))));
        let (d, payload) = digest_of(b"{sha3_384}abc").unwrap();
        assert_eq!(
            d.map(|(d, p)| (d, p.to_vec())),
            Some((Digest::Sha3_384, b"{sha3_384}".to_vec()))
        );
        assert_eq!(payload, b"abc");
        assert!(digest_of(b"{whatever}abcdefghijklmnopqrstu").is_err());
    }

    impl Wire {
        fn side(&self, server: bool) -> Side<'_> {
            Side { wire: self, server }
        }
    }

    struct Side<'a> {
        wire: &'a Wire,
        server: bool,
    }

    impl Channel for Side<'_> {
        fn send_message(&self, bytes: &[u8]) -> Result<(), AuthError> {
            let q = if self.server {
                &self.wire.to_client
            } else {
                &self.wire.to_server
            };
            q.borrow_mut().push_back(bytes.to_vec());
            Ok(())
        }

        fn recv_message(&self, _max: usize) -> Result<Vec<u8>, AuthError> {
            let q = if self.server {
                &self.wire.to_server
            } else {
                &self.wire.to_client
            };
            q.borrow_mut().pop_front().ok_or(AuthError::Disconnected)
        }
    }

    #[test]
    fn a_wrong_answer_hears_failure() {
        // The client answers a challenge with the wrong key: the server
        // sends #FAILURE# and the client reads it as a rejection.
        let wire = Wire::default();
        let mut random = [0u8; 40];
        getrandom::getrandom(&mut random).unwrap();
        let mut challenge = b"#CHALLENGE#{sha256}".to_vec();
        challenge.extend_from_slice(&random);
        wire.to_client.borrow_mut().push_back(challenge);
        wire.to_client.borrow_mut().push_back(FAILURE.to_vec());
        assert!(matches!(
            answer(&wire.side(false), b"key"),
            Err(AuthError::Rejected)
        ));
        let sent = wire.to_server.borrow_mut().pop_front().unwrap();
        assert!(sent.starts_with(b"{sha256}") && sent.len() == 8 + 32);
    }
}
