//! Every case of the conformance suite runs: each case function of either
//! driver (the blocking cases in `transport-core`, the async ones in the
//! adapters' tests) is named in the suite's macros in
//! `transport-core/src/conformance/mod.rs` (the case table, the FIFO and
//! `Select` rows). The case table makes a shared case exist in both
//! drivers; this rule catches a case written and never run.

use std::path::Path;

use crate::source;

/// The names of the case functions in `text`: public functions whose only
/// parameter is the harness (`pub fn name<T: ...>(h: &Harness)`).
fn cases_in(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("pub fn ") {
        rest = &rest[at + "pub fn ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let signature = rest.split('{').next().unwrap_or("");
        let params = signature.split_once(">(").map_or(signature, |(_, p)| p);
        if params.trim_start().starts_with("h: &Harness)") {
            names.push(name);
        }
    }
    names
}

/// The words (identifiers) of `text`.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect()
}

/// The case functions under `dir` not named in `table`.
fn left_out(dir: &Path, table: &str) -> Vec<String> {
    let named = words(table);
    let mut missing = Vec::new();
    for file in source::rust_files(dir) {
        for case in cases_in(&source::read(&file)) {
            if !named.contains(&case.as_str()) {
                missing.push(format!("{}: {case}", source::shown(&file)));
            }
        }
    }
    missing
}

/// The suite's macros, where every case must be named.
fn table() -> String {
    source::read(&source::root().join("transport-core/src/conformance/mod.rs"))
}

#[test]
fn every_case_of_both_drivers_is_in_the_table() {
    let root = source::root();
    let table = table();
    let mut missing = left_out(&root.join("transport-core/src/conformance/cases"), &table);
    missing.extend(left_out(&root.join("adapters/tests/async_conformance"), &table));
    assert!(
        missing.is_empty(),
        "cases that no test runs (add them to the case table in transport-core/src/conformance/mod.rs):\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_case_rule_sees_a_case_left_out() {
    let made_up = "pub fn a_case_nobody_runs<T: Transport>(h: &Harness) {}\n\
                   pub fn helper<T: Transport>(h: &Harness, n: u64) {}\n\
                   pub fn fifo_from_child<T: Transport>(h: &Harness) {}";
    assert_eq!(cases_in(made_up), ["a_case_nobody_runs", "fifo_from_child"]);
    let table = table();
    let named = words(&table);
    assert!(named.contains(&"fifo_from_child"));
    assert!(!named.contains(&"a_case_nobody_runs"));
}
