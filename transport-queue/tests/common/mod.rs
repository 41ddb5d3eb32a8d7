//! Helpers shared by the queue's own cross-process tests.

#![allow(dead_code)]

use std::time::Duration;

use transport_core::conformance::{Case, run};

/// How long a test waits for one thing before it fails; it only bounds a
/// hang, a passing run never waits this long.
pub const LONG: Duration = Duration::from_secs(60);

/// Runs `case` as the test named `name` (its function name), with peers as
/// processes.
pub fn run_case(name: &str, case: Case) {
    run(name.to_owned(), "queue", true, case);
}

/// Panics on a role a test does not have.
pub fn unknown_role(role: &str) -> ! {
    panic!("this test has no child role `{role}`")
}
