//! Finding the CPython interpreters on the machine, running `peer.py` under
//! one of them, and private temporary directories.

#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

/// The peer script (by way of the workspace, so the adapters' tests can
/// include this module too).
pub const PEER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../transport-pipe/tests/python/peer.py"
);

/// How long any one step of a Python peer may take.
pub const STEP: Duration = Duration::from_secs(60);

/// One CPython found on the machine.
#[derive(Clone, Debug)]
pub struct Interp {
    pub path: PathBuf,
    /// `3.12.1`.
    pub version: String,
}

impl Interp {
    /// `(major, minor)`.
    pub fn minor(&self) -> (u32, u32) {
        let mut parts = self.version.split('.').map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// Which handshake a Listener of this version delivers.
    pub fn handshake(&self) -> &'static str {
        if self.minor() >= (3, 12) {
            "{sha256}"
        } else {
            "legacy md5"
        }
    }
}

/// Writes a line that shows even when libtest captures output.
pub fn note(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn version_of(path: &Path) -> Option<String> {
    let out = Command::new(path)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let v = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && v.starts_with('3')).then_some(v)
}

/// Every CPython 3 on the machine: pyenv's versions and the `python3*` on
/// `PATH`, one per version, oldest first. Prints what it found, and a
/// reason for each candidate it skipped.
pub fn interpreters() -> Vec<Interp> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root/.pyenv"))
        .join("versions");
    if let Ok(dir) = std::fs::read_dir(&pyenv) {
        for entry in dir.flatten() {
            candidates.push(entry.path().join("bin/python3"));
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        candidates.push(dir.join("python3"));
        for minor in 6..=14 {
            candidates.push(dir.join(format!("python3.{minor}")));
        }
    }
    let mut found: BTreeMap<(u32, u32, u32), Interp> = BTreeMap::new();
    for path in candidates {
        if !path.exists() {
            continue;
        }
        match version_of(&path) {
            Some(version) => {
                let mut nums = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
                let key = (
                    nums.next().unwrap_or(0),
                    nums.next().unwrap_or(0),
                    nums.next().unwrap_or(0),
                );
                found.entry(key).or_insert(Interp { path, version });
            }
            None => note(format!(
                "python: SKIP {} (does not run as CPython 3: a pyenv shim of a version not selected?)",
                path.display()
            )),
        }
    }
    let list: Vec<Interp> = found.into_values().collect();
    if list.is_empty() {
        note("python: SKIP every interop test: no CPython 3 on this machine (pyenv or PATH)");
    }
    list
}

/// Says which test ran on which Python (the interop matrix).
pub fn ran(test: &str, py: &Interp) {
    note(format!(
        "interop: {test} ran on Python {} ({})",
        py.version,
        py.handshake()
    ));
}

/// A `peer.py` process: its stdout lines, and a kill on drop.
pub struct PyPeer {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    err: Option<JoinHandle<String>>,
}

impl PyPeer {
    pub fn spawn(py: &Interp, args: &[&str]) -> PyPeer {
        let mut child = Command::new(&py.path)
            .arg(PEER)
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", py.path.display()));
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("piped");
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped");
        let err = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        PyPeer {
            child,
            lines,
            seen: Vec::new(),
            err: Some(err),
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let err = self
            .err
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        panic!(
            "python peer: {why}\nstdout so far:\n{}\nstderr:\n{err}",
            self.seen.join("\n")
        );
    }

    /// The next line starting with `prefix` (other lines are kept for the
    /// failure message).
    pub fn expect(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    // A Rust child's libtest prints `test name ... ` with
                    // no line end before its own output.
                    let text = line.rsplit_once("... ").map_or(line.as_str(), |(_, t)| t);
                    if let Some(rest) = text.strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.fail(&format!("no `{prefix}` line in time")),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("exited before a `{prefix}` line"))
                }
            }
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Waits for the process to exit (its stdout closes first).
    pub fn finish(mut self) -> ExitStatus {
        let deadline = Instant::now() + STEP;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => self.fail("did not exit in time"),
            }
        }
        self.child.wait().expect("waiting for python")
    }
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        // No python process outlives its test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private (0700) directory under the system's temporary directory,
/// removed with what is left in it; it must be empty by then (no socket
/// file left behind), which the drop checks.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        use std::os::unix::fs::DirBuilderExt;
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("tp-{test}-{}-{n}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let left: Vec<String> = std::fs::read_dir(&self.0)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let _ = std::fs::remove_dir_all(&self.0);
        if !thread::panicking() {
            assert!(
                left.is_empty(),
                "files left behind in {}: {left:?}",
                self.0.display()
            );
        }
    }
}
