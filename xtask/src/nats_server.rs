//! A `nats-server` of the matrix's own, for the cells whose doc tests use
//! the default client: they find it at `NATS_URL`.
//!
//! The tests themselves start servers of their own (`transport-nats`'s
//! `LocalServer`); the doc tests are the user's examples, which connect
//! where a user's program would. This one listens on `127.0.0.1` only, on
//! a free port, with JetStream on and its store in a fresh directory, and
//! is killed (by its process id) and its directory removed when dropped.
//! `xtask` depends on nothing it tests, so it does not borrow that type.

use std::{
    env, fs,
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// How long the server may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `nats-server`, stopped on drop.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl NatsServer {
    /// Starts `program` on a free loopback port; an error names what went
    /// wrong, with the server's output when it did not become ready. A
    /// port taken between the look and the server's bind costs one more
    /// try, twice at most.
    pub fn start(program: &Path) -> Result<NatsServer, String> {
        let mut tries = 0;
        loop {
            tries += 1;
            match Self::start_once(program) {
                Err(why) if tries < 3 && why.contains("address already in use") => continue,
                other => return other,
            }
        }
    }

    fn start_once(program: &Path) -> Result<NatsServer, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("finding a free loopback port: {e}"))?
            .port();
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = env::temp_dir().join(format!("xtask-nats-{}-{stamp}", std::process::id()));
        owner_only_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let spawned = Command::new(program)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(format!("starting {}: {e}", program.display()));
            }
        };
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            // Read to the end, after the wait too: a server whose stderr
            // closed would die of the broken pipe at its next log line.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Dropped on every return but the last: killed, its store removed.
        let server = NatsServer {
            child,
            dir,
            url: format!("nats://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("Server is ready") => return Ok(server),
                Ok(line) => seen.push(line),
                // Timed out, or the server exited and its output ended.
                Err(_) => {
                    return Err(format!(
                        "nats-server did not become ready in {}s:\n{}",
                        START_TIMEOUT.as_secs(),
                        seen.join("\n")
                    ));
                }
            }
        }
    }

    /// The URL clients connect to.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Creates `dir` readable by its owner only, whatever the umask (the
/// server's store holds the doc tests' messages).
fn owner_only_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
