//! The messages between the daemon and its command-line client, and where
//! they meet.

use transport_core::rkyv::{Archive, Deserialize, Serialize};
use transport_pipe::{Address, Options};

/// What a client asks.
#[derive(Archive, Serialize, Deserialize, Debug)]
#[rkyv(crate = transport_core::rkyv)]
pub enum Request {
    /// Store `value` under `key`.
    Put { key: String, value: String },
    /// The value under `key`.
    Get { key: String },
    /// Stop the daemon.
    Stop,
}

/// What the daemon answers.
#[derive(Archive, Serialize, Deserialize, Debug)]
#[rkyv(crate = transport_core::rkyv)]
pub enum Reply {
    Stored,
    Value(Option<String>),
    Stopping,
}

/// `$TRANSPORT_DAEMON` if set, else a socket in `$XDG_RUNTIME_DIR` (or the
/// temporary directory).
pub fn address() -> Address {
    if let Ok(text) = std::env::var("TRANSPORT_DAEMON") {
        return match text.parse() {
            Ok(a) => a,
            Err(never) => match never {},
        };
    }
    let dir = std::env::var_os("XDG_RUNTIME_DIR").map_or_else(std::env::temp_dir, Into::into);
    Address::path(dir.join("transport-daemon.sock"))
}

/// Only this user, and the key in `$TRANSPORT_DAEMON_KEY` if set.
pub fn options() -> Options {
    let options = Options::new().require_same_user();
    match std::env::var("TRANSPORT_DAEMON_KEY") {
        Ok(key) => options.authkey(key),
        Err(_) => options,
    }
}
