//! Docs that name a crate's underlying mechanism match its manifest: every
//! crate of the lock file named in code quotes (`` `ipc-channel` ``) in a
//! library's row of the README's crate table, or in the first paragraph of
//! its crate docs, is a dependency of that library.

use std::collections::BTreeSet;

use crate::source::{self, Crate};

/// Every package name of `Cargo.lock`.
fn locked_packages() -> BTreeSet<String> {
    let lock: toml::Table = source::read(&source::root().join("Cargo.lock"))
        .parse()
        .expect("Cargo.lock is TOML");
    lock["package"]
        .as_array()
        .expect("Cargo.lock lists packages")
        .iter()
        .filter_map(|p| p.get("name")?.as_str().map(str::to_owned))
        .collect()
}

/// The words in code quotes of `text`.
fn quoted(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The crate docs' first paragraph (the `//!` lines up to the first blank
/// one).
fn first_paragraph(root_file: &str) -> String {
    root_file
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("//!"))
        .take_while(|l| l.starts_with("//!") && l.trim_start_matches("//!").trim() != "")
        .map(|l| l.trim_start_matches("//!"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The README table row of `name` (`| \`name\` | ... |`).
fn readme_row<'a>(readme: &'a str, name: &str) -> Option<&'a str> {
    let cell = format!("| `{name}` |");
    readme.lines().find(|l| l.starts_with(&cell))
}

/// The packages `text` names that `krate` does not depend on.
fn named_but_not_used(krate: &Crate, text: &str, packages: &BTreeSet<String>) -> Vec<String> {
    let deps = krate.dependencies("dependencies");
    quoted(text)
        .into_iter()
        .filter(|w| packages.contains(*w) && *w != krate.name && !deps.iter().any(|d| d == w))
        .map(str::to_owned)
        .collect()
}

#[test]
fn docs_name_the_mechanisms_the_manifests_use() {
    let packages = locked_packages();
    let readme = source::read(&source::root().join("README.md"));
    let mut bad = Vec::new();
    let mut rows = 0;
    for krate in source::crates().iter().filter(|c| c.is_library()) {
        if let Some(row) = readme_row(&readme, &krate.name) {
            rows += 1;
            for name in named_but_not_used(krate, row, &packages) {
                bad.push(format!(
                    "README.md: the `{}` row names `{name}`, which it does not depend on",
                    krate.name
                ));
            }
        }
        let docs = first_paragraph(&source::read(&krate.root_file()));
        for name in named_but_not_used(krate, &docs, &packages) {
            bad.push(format!(
                "{}'s crate docs name `{name}`, which it does not depend on",
                krate.name
            ));
        }
    }
    assert!(rows >= 5, "the README's crate table was not found");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_docs_rule_sees_a_mechanism_not_used() {
    let manifest: toml::Table = "[package]\nname = \"transport-pipe\"\n[dependencies]\nlibc = \"0.2\"\n"
        .parse()
        .unwrap();
    let krate = Crate {
        name: "transport-pipe".into(),
        dir: source::root().join("transport-pipe"),
        manifest,
    };
    let packages: BTreeSet<String> = ["libc", "interprocess"].map(String::from).into();
    let row = "| `transport-pipe` | a pipe on `interprocess` local sockets and `libc` |";
    assert_eq!(
        named_but_not_used(&krate, row, &packages),
        vec!["interprocess".to_owned()]
    );
    assert_eq!(
        first_paragraph("//! One `a`\n//! two.\n//!\n//! `b`\n"),
        " One `a`  two."
    );
}
