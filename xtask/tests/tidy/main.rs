//! The workspace's rules, checked as ordinary tests (`cargo xtask tidy`,
//! or `cargo test -p xtask --test tidy`): what `ARCHITECTURE.md` promises
//! about where code lives, which way crates depend, how `unsafe` is
//! explained, and that docs name the mechanisms the manifests really use.
//! Each rule has a test that shows it fails on a made-up violation.

mod cases;
mod docs;
mod imports;
mod layers;
mod platform;
mod source;
mod unsafety;
