//! Helpers shared by the queue's own cross-process tests.

#![allow(dead_code)]

#[cfg(target_os = "linux")]
pub mod raw;

use transport_core::conformance::{Case, run};

pub use transport_core::conformance::LONG;

/// Runs `case` as the test named `name` (its function name), with peers as
/// processes.
pub fn run_case(name: &str, case: Case) {
    run(name.to_owned(), "queue", true, case);
}

/// Panics on a role a test does not have.
pub fn unknown_role(role: &str) -> ! {
    panic!("this test has no child role `{role}`")
}
