//! A census of this crate's shared memory segments (`/dev/shm` on Linux,
//! the backing files on Windows, the registry on macOS): before and after
//! the other test binaries, after 1,000 create/drop cycles, and after
//! processes are killed holding segments. Nothing may be left.
//!
//! One test function runs the steps in order, so nothing else in this
//! binary creates segments meanwhile.

use std::{
    collections::BTreeSet,
    path::PathBuf,
    process::Command,
    time::{Duration, SystemTime},
};

use transport_core::conformance::{Harness, PEER_TIMEOUT, Role, run, test_name};
use transport_shm::{SharedValue, ShmConfig, channel, cleanup_stale, list_segments};

fn segments_now() -> BTreeSet<String> {
    let listed: BTreeSet<String> = list_segments().expect("listing segments").into_iter().collect();
    #[cfg(target_os = "linux")]
    {
        // An independent look at the file system agrees with the crate.
        let direct: BTreeSet<String> = std::fs::read_dir("/dev/shm")
            .expect("reading /dev/shm")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("tshm_"))
            .map(|n| format!("/{n}"))
            .collect();
        assert_eq!(listed, direct, "list_segments disagrees with /dev/shm");
    }
    listed
}

/// On Windows, backing files of unlinked segments count too: after a
/// cleanup none may remain. Elsewhere unlinking leaves nothing.
fn assert_no_unlinked_leftovers() {
    let _ = cleanup_stale();
    if cfg!(windows) {
        let dir = std::env::temp_dir().join("shared_memory-rs");
        let files: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        let unlinked: Vec<&String> = files.iter().filter(|f| f.starts_with("tshm_")).collect();
        assert!(unlinked.is_empty(), "backing files remain: {unlinked:?}");
    }
}

/// The newest build of test binary `name` next to this one.
fn sibling_test_binary(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    let dir = me.parent().expect("a directory");
    let mut best: Option<(SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).expect("reading the deps directory") {
        let path = entry.expect("entry").path();
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_owned();
        let is_exe = path.extension().is_none_or(|e| e == "exe");
        if file.starts_with(&format!("{name}-")) && is_exe {
            let modified = path.metadata().and_then(|m| m.modified()).expect("mtime");
            if best.as_ref().is_none_or(|(t, _)| modified > *t) {
                best = Some((modified, path));
            }
        }
    }
    best.unwrap_or_else(|| panic!("no `{name}` test binary beside {}", me.display()))
        .1
}

fn run_suite(name: &str) {
    // Output is captured (and shown on failure) so test runners that count
    // result lines do not count these tests twice.
    let out = Command::new(sibling_test_binary(name))
        .args(["--test-threads=2", "-q"])
        .output()
        .expect("running a test binary");
    assert!(
        out.status.success(),
        "the `{name}` tests failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn census() {
    run(test_name(module_path!(), "census"), "shm", true, steps);
}

fn steps(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let _ = cleanup_stale();
            let before = segments_now();

            // The other test binaries, kill cases included, leave nothing.
            run_suite("conformance");
            run_suite("shared_state");
            run_suite("async_ready");
            run_suite("hostile");
            run_suite("handoff");
            run_suite("crash_loss");
            run_suite("started_child");
            assert_eq!(segments_now(), before, "segments left by the test suites");
            assert_no_unlinked_leftovers();

            // 1,000 create/drop cycles.
            let config = ShmConfig::bounded(4).max_message_size(1024).buffer_bytes(4096);
            for i in 0..1000u64 {
                if i % 2 == 0 {
                    let (tx, rx) = channel::channel::<u64>(&config).expect("creating a channel");
                    tx.send(i).expect("sending");
                    assert_eq!(*rx.recv().expect("receiving"), i);
                } else {
                    let v = SharedValue::new(i).expect("creating a value");
                    assert_eq!(v.get().expect("reading"), i);
                }
            }
            assert_eq!(
                segments_now(),
                before,
                "segments left by 1,000 create/drop cycles"
            );

            // A process killed while it alone holds segments leaves them
            // behind; cleanup_stale removes them.
            let mut peer = h.child("owner").spawn();
            let names = peer.expect_report(Duration::from_secs(60));
            peer.kill();
            let left: Vec<&str> = names.split(' ').collect();
            let now = segments_now();
            assert!(
                left.iter().all(|n| now.contains(*n)),
                "the killed owner's segments {left:?} exist"
            );
            assert!(cleanup_stale().expect("cleanup") >= left.len());
            assert_eq!(
                segments_now(),
                before,
                "cleanup_stale removed the killed owner's segments"
            );

            // And a process's first segment creation removes them too.
            let mut peer = h.child("owner").spawn();
            let names = peer.expect_report(Duration::from_secs(60));
            peer.kill();
            let creator = h.child("creator").spawn();
            assert_eq!(creator.wait(PEER_TIMEOUT), ["created"]);
            let now = segments_now();
            assert!(
                names.split(' ').all(|n| !now.contains(n)),
                "creation swept {names}"
            );
            assert_eq!(segments_now(), before);
            assert_no_unlinked_leftovers();
        }
        Role::Child("owner") => {
            let v = SharedValue::new(1u32).expect("value");
            let (tx, _rx) =
                channel::channel::<u32>(&ShmConfig::bounded(2).max_message_size(64)).expect("channel");
            h.report(format!("{} {}", v.segment_name(), tx.raw().segment_name()));
            loop {
                std::thread::park();
            }
        }
        Role::Child("creator") => {
            let v = SharedValue::new(0u8).expect("creating a value");
            h.report("created");
            drop(v);
        }
        Role::Child(other) => panic!("no role `{other}`"),
    }
}
