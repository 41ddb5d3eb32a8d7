//! `cargo xtask setup`: installs and prepares what the matrix needs to
//! reach the other operating systems from this host (Debian's toolchain,
//! mingw-w64, Wine and its prefix) and the servers its tests start
//! (`nats-server`, on Linux), and says what it could not.
//! `test-matrix` does the same on its own; this is the step alone, for a
//! machine image or a CI cache.

use crate::{
    debian::{self, Problem},
    options::{Options, Os},
    platform::Platform,
    test_matrix::{BACKENDS, workspace_root},
};

/// Runs the task; `Ok(false)` when an operating system cannot be reached.
pub fn run(args: &[String]) -> Result<bool, String> {
    let others: Vec<Os> = Os::ALL.into_iter().filter(|o| Some(*o) != Os::host()).collect();
    let options = Options::parse(args, &others, BACKENDS)?;
    let root = workspace_root();
    let mut ready = true;
    for &os in &options.os {
        let platform = Platform::prepare(os, &root, options.install);
        println!("{os}: {}", platform.describe());
        ready &= !matches!(platform, Platform::Blocked(_));
        if let Err(e) = platform.finish() {
            println!("{os}: {e}");
            ready = false;
        }
    }
    if Os::host() == Some(Os::Linux) && options.wants("nats") {
        match debian::provide(&debian::NATS_SERVER.iter().collect::<Vec<_>>(), options.install) {
            Ok(()) => println!("linux: nats-server installed"),
            Err(Problem::Unavailable(why) | Problem::Broken(why)) => {
                println!("linux: nats-server: {why}");
                ready = false;
            }
        }
    }
    Ok(ready)
}
