//! What the crash tests share: kill points drawn from a printed seed,
//! waits with a deadline, reading a channel up to `Disconnected`, and the
//! check that a trial left no segment behind.
#![allow(dead_code)] // each test binary uses a part

use std::time::Instant;

use transport_core::{RecvTimeoutError, conformance::LONG};
use transport_shm::list_segments;

/// A random source seeded from the clock; the seed is printed, so a
/// failing trial can be replayed with `fastrand::Rng::with_seed`.
pub fn rng(test: &str) -> fastrand::Rng {
    let seed = fastrand::u64(..);
    eprintln!("{test}: seed {seed:#x}");
    fastrand::Rng::with_seed(seed)
}

/// Calls `step` until `done` holds, failing the trial after [`LONG`].
pub fn until(trial: u64, what: &str, mut done: impl FnMut() -> bool, mut step: impl FnMut()) {
    let deadline = Instant::now() + LONG;
    while !done() {
        assert!(Instant::now() < deadline, "trial {trial}: {what}");
        step();
    }
}

/// Receives until `Disconnected`, giving each message to `take`; any other
/// error fails the trial.
pub fn drain(trial: u64, mut recv: impl FnMut() -> Result<u64, RecvTimeoutError>, mut take: impl FnMut(u64)) {
    loop {
        match recv() {
            Ok(m) => take(m),
            Err(RecvTimeoutError::Disconnected) => return,
            Err(e) => panic!("trial {trial}: after the kill: {e}"),
        }
    }
}

/// Fails the trial if segment `name` is still there (every end of its
/// channel, and every object sharing it, must be dropped by now).
pub fn assert_removed(trial: u64, name: &str) {
    let left = list_segments().expect("listing the segments");
    assert!(
        !left.iter().any(|n| n == name),
        "trial {trial}: the channel's segment was left"
    );
}
