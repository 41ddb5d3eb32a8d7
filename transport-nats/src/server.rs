//! [`LocalServer`]: a `nats-server` of one's own on the loopback interface,
//! for tests, examples and benchmarks.
//!
//! It listens on `127.0.0.1` only, on a free port, with JetStream on and its
//! store in a fresh directory of its own, and is killed (by its process id)
//! and its directory removed when the value is dropped. On Linux it is also
//! killed when the thread that started it ends, so a test that is itself
//! killed leaves no server behind. Servers can form a cluster on loopback
//! ports ([`LocalServer::cluster`]).

use std::{
    env, fmt, fs,
    io::{self, BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use crate::sys;

/// How long a server may take to say it is ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A `nats-server` process owned by this value.
pub struct LocalServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    config: PathBuf,
    name: String,
    log: mpsc::Receiver<String>,
}

impl fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServer")
            .field("url", &self.url())
            .field("pid", &self.pid())
            .finish()
    }
}

/// Where the `nats-server` program is: `$NATS_SERVER`, then `PATH`, then
/// `/usr/sbin` (where Debian's package puts it) and `/usr/local/bin`.
pub fn program() -> Option<PathBuf> {
    if let Some(path) = env::var_os("NATS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let name = format!("nats-server{}", env::consts::EXE_SUFFIX);
    let mut dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/sbin"));
    dirs.push(PathBuf::from("/usr/local/bin"));
    dirs.into_iter().map(|d| d.join(&name)).find(|p| p.is_file())
}

/// A free TCP port on the loopback interface (free when asked; the server
/// binds it right after).
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// How to start a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The client port (0: a free one).
    pub port: u16,
    /// `max_payload` in bytes (NATS allows up to 64 MiB).
    pub max_payload: usize,
    /// Cluster membership: cluster name, this server's route port, and
    /// the other servers' route ports.
    pub cluster: Option<(String, u16, Vec<u16>)>,
    /// The server's name (needed in a cluster).
    pub name: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: 0,
            max_payload: 64 << 20,
            cluster: None,
            name: format!("transport-{}", crate::id::random()),
        }
    }
}

impl LocalServer {
    /// Starts a server with JetStream, a 64 MiB `max_payload`, on a free
    /// loopback port.
    ///
    /// # Errors
    /// [`io::ErrorKind::NotFound`] when `nats-server` is not installed;
    /// otherwise when it cannot start or does not become ready in
    /// [`START_TIMEOUT`].
    pub fn start() -> io::Result<LocalServer> {
        Self::start_with(ServerConfig::default())
    }

    /// Starts a server as `config` says.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn start_with(mut config: ServerConfig) -> io::Result<LocalServer> {
        if config.port == 0 {
            config.port = free_port()?;
        }
        let dir = env::temp_dir().join(format!("transport-nats-{}", crate::id::random()));
        fs::create_dir_all(&dir)?;
        let config_path = dir.join("server.conf");
        fs::write(&config_path, config_text(&config, &dir))?;
        let mut server = LocalServer {
            child: None,
            port: config.port,
            dir,
            config: config_path,
            name: config.name.clone(),
            log: mpsc::channel().1,
        };
        server.spawn()?;
        Ok(server)
    }

    /// Starts three servers forming a JetStream cluster on loopback ports.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn cluster(size: usize) -> io::Result<Vec<LocalServer>> {
        let routes: Vec<u16> = (0..size).map(|_| free_port()).collect::<io::Result<_>>()?;
        let cluster = format!("c{}", crate::id::random());
        routes
            .iter()
            .enumerate()
            .map(|(i, &route)| {
                LocalServer::start_with(ServerConfig {
                    cluster: Some((cluster.clone(), route, routes.clone())),
                    name: format!("{cluster}-n{i}"),
                    ..ServerConfig::default()
                })
            })
            .collect()
    }

    fn spawn(&mut self) -> io::Result<()> {
        let program = program().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "nats-server is not installed (Debian: `apt-get install nats-server`; or set NATS_SERVER)",
            )
        })?;
        let mut cmd = Command::new(program);
        cmd.arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        sys::tie_to_parent(&mut cmd);
        let mut child = cmd.spawn()?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        self.child = Some(child);
        self.log = rx;
        self.await_ready()
    }

    fn await_ready(&mut self) -> io::Result<()> {
        let mut seen = Vec::new();
        loop {
            match self.log.recv_timeout(START_TIMEOUT) {
                Ok(line) if line.contains("Server is ready") => return Ok(()),
                Ok(line) => seen.push(line),
                Err(_) => {
                    self.kill();
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("nats-server did not become ready:\n{}", seen.join("\n")),
                    ));
                }
            }
        }
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's name (as JetStream names stream leaders).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills the server at once (`SIGKILL` / `TerminateProcess`) and reaps
    /// it; its store stays for [`restart`](Self::restart).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server the way an operator does (`SIGTERM` on Unix: it
    /// writes its JetStream state out and exits), waits up to 10 s, then
    /// kills it; its store stays for [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            sys::terminate(&child);
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                // Waiting for a process to exit: its exit is the only signal.
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn config_text(config: &ServerConfig, dir: &Path) -> String {
    let store = dir.join("jetstream");
    let mut text = format!(
        "server_name: \"{}\"\nlisten: \"127.0.0.1:{}\"\nmax_payload: {}\nmax_pending: {}\n\
         jetstream {{\n  store_dir: \"{}\"\n}}\n",
        config.name,
        config.port,
        config.max_payload,
        (config.max_payload * 2).max(64 << 20),
        store.display()
    );
    if let Some((name, route, routes)) = &config.cluster {
        let others: Vec<String> = routes
            .iter()
            .filter(|r| *r != route)
            .map(|r| format!("\"nats-route://127.0.0.1:{r}\""))
            .collect();
        text.push_str(&format!(
            "cluster {{\n  name: \"{name}\"\n  listen: \"127.0.0.1:{route}\"\n  routes: [{}]\n}}\n",
            others.join(", ")
        ));
    }
    text
}
