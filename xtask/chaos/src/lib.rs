//! The workspace README's examples, compiled (and run, where they need no
//! server) as this unpublished crate's doctests: the README is outside
//! every published package, so no library can include it.
//! `cargo test -p transport-chaos --doc` runs them.

/// The workspace README's examples.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;
