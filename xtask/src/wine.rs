//! Wine, to run Windows test binaries on Linux: a prefix of our own under
//! `target/xplat/wine`, the `bcryptprimitives.dll` that Wine 8 lacks (built
//! from `xtask/wine/bcryptprimitives.c` with mingw-w64), the environment
//! every Wine process gets, and waiting for the prefix's `wineserver` to
//! finish.
//!
//! A Windows test binary that starts a child process (the conformance
//! suite re-executes itself) starts it through Wine's `CreateProcess`, so
//! the child runs under the same Wine and prefix.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::debian::MINGW_GCC;

/// Wine's 64-bit loader (package `wine64`; `/usr/bin/wine` comes only
/// with the `wine` package, which pulls in the 32-bit half too).
pub const WINE: &str = "/usr/lib/wine/wine64";
const WINESERVER: &str = "/usr/lib/wine/wineserver64";
/// Where Wine keeps its own Windows DLLs: if it has `bcryptprimitives.dll`
/// (Wine 9 and later), no stand-in is needed.
const WINE_DLL_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows",
    "/usr/lib/wine/x86_64-windows",
    "/usr/lib64/wine/x86_64-windows",
];
const STANDIN: &str = "bcryptprimitives.dll";
/// How long the prefix's processes may take to end once the tests are done.
const SHUTDOWN: Duration = Duration::from_secs(60);

/// A prepared Wine prefix.
#[derive(Debug)]
pub struct Wine {
    prefix: PathBuf,
}

impl Wine {
    /// Creates the prefix under `dir` if needed and makes sure Rust
    /// programs can load in it.
    pub fn prepare(root: &Path, dir: &Path) -> Result<Wine, String> {
        let wine = Wine {
            prefix: dir.join("wine"),
        };
        if !wine.prefix.join("system.reg").exists() {
            eprintln!("[setup] wine: creating the prefix {}", wine.prefix.display());
            fs::create_dir_all(&wine.prefix)
                .map_err(|e| format!("creating {}: {e}", wine.prefix.display()))?;
            let out = wine
                .command(WINE)
                .args(["wineboot", "--init"])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("could not run {WINE}: {e}"))?;
            wine.wait_idle()?;
            if !wine.prefix.join("system.reg").exists() {
                return Err(format!(
                    "wineboot did not create the prefix {}: {}",
                    wine.prefix.display(),
                    summary(&out.stderr)
                ));
            }
        }
        let own = WINE_DLL_DIRS.iter().any(|d| Path::new(d).join(STANDIN).exists());
        if !own {
            wine.install_standin(&root.join("xtask").join("wine").join("bcryptprimitives.c"))?;
        }
        Ok(wine)
    }

    /// Builds the stand-in DLL into the prefix's `system32`, unless the one
    /// there is newer than its source.
    fn install_standin(&self, source: &Path) -> Result<(), String> {
        let dll = self.prefix.join("drive_c/windows/system32").join(STANDIN);
        let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
        let source_time = modified(source).ok_or_else(|| format!("{} is missing", source.display()))?;
        if modified(&dll).is_some_and(|t| t >= source_time) {
            return Ok(());
        }
        eprintln!(
            "[setup] wine: building {STANDIN} (Wine 8 has none) from {}",
            source.display()
        );
        let out = Command::new(MINGW_GCC)
            .args(["-O2", "-Wall", "-shared", "-s", "-o"])
            .arg(&dll)
            .arg(source)
            .arg("-lbcrypt")
            .output()
            .map_err(|e| format!("could not run {MINGW_GCC}: {e}"))?;
        if !out.status.success() {
            return Err(format!("building {STANDIN} failed: {}", summary(&out.stderr)));
        }
        Ok(())
    }

    /// The program cargo runs test binaries with.
    pub fn runner(&self) -> &'static str {
        WINE
    }

    /// Gives `cmd` the environment of this prefix.
    pub fn configure(&self, cmd: &mut Command) {
        cmd.env("WINEPREFIX", &self.prefix)
            .env("WINEARCH", "win64")
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko install prompts, no desktop menu entries.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=;winemenubuilder.exe=d");
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        self.configure(&mut cmd);
        cmd
    }

    /// Kills every process of the prefix.
    pub fn kill(&self) {
        let _ = self.command(WINESERVER).arg("-k").status();
    }

    /// Waits for the prefix's `wineserver` to exit, which it does a few
    /// seconds after its last process ended. Processes still running after
    /// [`SHUTDOWN`] are killed, and that is an error: a test left them.
    pub fn wait_idle(&self) -> Result<(), String> {
        let mut server = self
            .command(WINESERVER)
            .arg("-w")
            .spawn()
            .map_err(|e| format!("could not run {WINESERVER}: {e}"))?;
        let deadline = Instant::now() + SHUTDOWN;
        loop {
            match server.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
                Ok(None) | Err(_) => break,
            }
        }
        self.kill();
        let _ = server.kill();
        let _ = server.wait();
        Err(format!(
            "Windows processes were still running in {} {}s after the tests; killed them",
            self.prefix.display(),
            SHUTDOWN.as_secs()
        ))
    }
}

/// The first line that mentions an error, or else the last line.
fn summary(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first_error = lines.clone().find(|l| l.contains("error"));
    first_error
        .or_else(|| lines.next_back())
        .unwrap_or("no output")
        .to_owned()
}
