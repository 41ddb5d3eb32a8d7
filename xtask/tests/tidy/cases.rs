//! Every case of the conformance suite runs, and a shared case is written
//! once: each case function of either driver (the shared and blocking-only
//! cases in `transport-core`, the async-only ones in the adapters' tests)
//! is named in the suite's macros in `transport-core/src/conformance/mod.rs`
//! (the case table, the FIFO and `Select` rows), and no case of the async
//! driver has the name of a case in `transport-core`, but those of the
//! table's `@each` row, which every driver writes itself by design. The
//! case table runs a shared case (written once, generic over the driver)
//! in both drivers; this rule catches a case written and never run, and a
//! second copy of a shared case written for the async driver.

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

/// The case functions in `text` whose names are among `taken`.
fn copies(text: &str, taken: &[String]) -> Vec<String> {
    cases_in(text)
        .into_iter()
        .filter(|case| taken.contains(case))
        .collect()
}

/// The case functions under `dir` whose names are among `taken`.
fn written_twice(dir: &Path, taken: &[String]) -> Vec<String> {
    let mut twice = Vec::new();
    for file in source::rust_files(dir) {
        for case in copies(&source::read(&file), taken) {
            twice.push(format!("{}: {case}", source::shown(&file)));
        }
    }
    twice
}

/// The names of the case functions under `dir`.
fn cases_under(dir: &Path) -> Vec<String> {
    source::rust_files(dir)
        .iter()
        .flat_map(|file| cases_in(&source::read(file)))
        .collect()
}

/// The suite's macros, where every case must be named.
fn table() -> String {
    source::read(&source::root().join("transport-core/src/conformance/mod.rs"))
}

/// The cases of the table's `@each` rows (each driver writes its own body
/// of them): the names after `$transport;` up to the row's closing `)`.
fn each_driver_writes(table: &str) -> Vec<String> {
    const ROW: &str = "conformance_case_table!(@each [$($path)*] $transport;";
    let mut names = Vec::new();
    let mut rest = table;
    while let Some(at) = rest.find(ROW) {
        rest = &rest[at + ROW.len()..];
        let row = rest.split(')').next().unwrap_or("");
        names.extend(
            words(row)
                .into_iter()
                .filter(|w| !w.is_empty())
                .map(str::to_owned),
        );
    }
    names
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
fn no_case_is_written_for_each_driver() {
    let root = source::root();
    let each = each_driver_writes(&table());
    let core: Vec<String> = cases_under(&root.join("transport-core/src/conformance/cases"))
        .into_iter()
        .filter(|case| !each.contains(case))
        .collect();
    let twice = written_twice(&root.join("adapters/tests/async_conformance"), &core);
    assert!(
        twice.is_empty(),
        "async cases that transport-core has too (a shared case is written once, generic over the driver, in transport-core/src/conformance/cases):\n{}",
        twice.join("\n")
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

#[test]
fn the_each_row_is_read() {
    let each = each_driver_writes(&table());
    assert!(each.iter().any(|case| case == "occupancy"), "{each:?}");
    assert!(!each.iter().any(|case| case == "fifo_from_child"), "{each:?}");
}

#[test]
fn the_case_rule_sees_a_case_written_twice() {
    let core = cases_under(&source::root().join("transport-core/src/conformance/cases"));
    assert!(core.iter().any(|case| case == "fifo_from_child"));
    let made_up = "pub fn fifo_from_child<T: AsyncTransport>(h: &Harness) {}\n\
                   pub fn an_async_only_case<T: AsyncTransport>(h: &Harness) {}";
    assert_eq!(copies(made_up, &core), ["fifo_from_child"]);
}
