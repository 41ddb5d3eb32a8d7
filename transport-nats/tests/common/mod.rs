//! What the tests share: a real `nats-server` per test thread
//! (`transport_nats::testing`), and the two delivery modes as `Transport`s on it.
#![allow(dead_code)]

use transport_nats::Client;
#[allow(unused_imports)]
pub use transport_nats::testing::{OnThreadServer as OnTestServer, with_thread_server as with_server};

/// The client of this test's own server, starting the server first.
///
/// # Panics
/// When `nats-server` cannot be started (the message says why).
pub fn client() -> Client {
    transport_nats::testing::thread_client().unwrap_or_else(|e| panic!("this test's nats-server: {e}"))
}

/// Whether `nats-server` is installed; prints why a test is skipped if not.
pub fn server_available(test: &str) -> bool {
    let found = transport_nats::server::program().is_some();
    if !found {
        eprintln!("SKIP {test}: nats-server is not installed (Debian: `apt-get install nats-server`)");
    }
    found
}

/// Runs `case` as the cross-process test `name` (its path as libtest names
/// it: the harness re-runs this test binary for the children with it).
pub fn run(name: &str, case: transport_core::conformance::Case) {
    transport_core::conformance::run(name.to_owned(), "nats", true, case);
}
