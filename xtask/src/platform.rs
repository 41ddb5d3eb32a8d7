//! How each operating system of the matrix is reached from this host:
//! natively with the cargo that runs xtask, or from Debian Linux by
//! building for Windows and running under Wine, or by type-checking for
//! macOS.

use std::{env, path::Path, process::Command};

use crate::{
    debian::{self, DebianRust, Problem},
    options::Os,
    wine::Wine,
    zig::Zig,
};

const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
const MACOS_TARGETS: [&str; 2] = ["x86_64-apple-darwin", "aarch64-apple-darwin"];

/// One operating system, ready (or not) to test.
#[derive(Debug)]
pub enum Platform {
    /// This host: tests run with the cargo that runs xtask.
    Native,
    /// Windows from Linux: Debian's toolchain builds `std` and the tests
    /// for `x86_64-pc-windows-gnu`, mingw-w64 links, Wine runs them.
    Wine { rust: DebianRust, wine: Wine },
    /// macOS from Linux: Debian's toolchain type-checks every target for
    /// both Apple targets (Zig compiles the C that build scripts build);
    /// nothing runs.
    CheckOnly { rust: DebianRust, zig: Zig },
    /// Cannot be tested from here: its cells are skipped
    /// ([`Problem::Unavailable`]) or fail ([`Problem::Broken`]).
    Blocked(Problem),
}

impl Platform {
    /// Gets `os` ready, installing what is missing when `install` allows.
    pub fn prepare(os: Os, root: &Path, install: bool) -> Platform {
        let host = Os::host();
        if host == Some(os) {
            return Platform::Native;
        }
        let result = match (host, os) {
            (Some(Os::Linux), Os::Windows) => prepare_wine(root, install),
            (Some(Os::Linux), Os::Macos) => prepare_check(root, install),
            _ => Err(Problem::Unavailable(format!(
                "{os} cells run on {os}, or from Debian Linux for windows and macos; this host is {}",
                host.map_or(env::consts::OS, Os::name)
            ))),
        };
        result.unwrap_or_else(Platform::Blocked)
    }

    /// One line on how this platform is reached, for progress.
    pub fn describe(&self) -> String {
        match self {
            Platform::Native => format!("native, {}", cargo()),
            Platform::Wine { rust, .. } => {
                format!(
                    "Debian rustc {} -Zbuild-std, {WINDOWS_TARGET}, run under Wine",
                    rust.version
                )
            }
            Platform::CheckOnly { rust, .. } => {
                format!(
                    "Debian rustc {} -Zbuild-std, zig cc, cargo check for {}",
                    rust.version,
                    MACOS_TARGETS.join(" + ")
                )
            }
            Platform::Blocked(Problem::Unavailable(why)) => format!("skipped: {why}"),
            Platform::Blocked(Problem::Broken(why)) => format!("setup failed: {why}"),
        }
    }

    /// The command that tests a package here (`args` select it and its
    /// features), or why this platform cannot.
    pub fn test(&self, root: &Path, args: &[String]) -> Result<Command, &Problem> {
        let mut cmd = match self {
            Platform::Native => {
                let mut cmd = Command::new(cargo());
                cmd.current_dir(root).args(["test", "--no-fail-fast"]);
                cmd
            }
            Platform::Wine { rust, wine } => {
                let mut cmd = windows_cargo(rust, wine, root, "test");
                cmd.arg("--no-fail-fast");
                cmd
            }
            Platform::CheckOnly { rust, zig } => {
                let mut cmd = rust.cargo(root, "check");
                zig.configure(&mut cmd);
                cmd.arg("-Zbuild-std=std,panic_abort");
                for target in MACOS_TARGETS {
                    cmd.args(["--target", target]);
                }
                cmd.arg("--all-targets");
                cmd
            }
            Platform::Blocked(problem) => return Err(problem),
        };
        cmd.args(args);
        Ok(cmd)
    }

    /// The command that runs example `name` of `package` here; `Ok(None)`
    /// when programs of this platform cannot run on this host.
    pub fn run_example(&self, root: &Path, package: &str, name: &str) -> Result<Option<Command>, &Problem> {
        let mut cmd = match self {
            Platform::Native => {
                let mut cmd = Command::new(cargo());
                cmd.current_dir(root).arg("run");
                cmd
            }
            Platform::Wine { rust, wine } => windows_cargo(rust, wine, root, "run"),
            Platform::CheckOnly { .. } => return Ok(None),
            Platform::Blocked(problem) => return Err(problem),
        };
        cmd.args(["--quiet", "--package", package, "--example", name]);
        Ok(Some(cmd))
    }

    /// Whether cells here only type-check.
    pub fn check_only(&self) -> bool {
        matches!(self, Platform::CheckOnly { .. })
    }

    /// Kills what runs on this platform outside the process tree xtask can
    /// see: every process of the Wine prefix.
    pub fn kill(&self) {
        if let Platform::Wine { wine, .. } = self {
            wine.kill();
        }
    }

    /// Ends what this platform started: waits for Wine to go idle.
    pub fn finish(&self) -> Result<(), String> {
        match self {
            Platform::Wine { wine, .. } => wine.wait_idle(),
            _ => Ok(()),
        }
    }
}

/// The cargo that runs xtask (`$CARGO`), for native runs.
pub fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn prepare_wine(root: &Path, install: bool) -> Result<Platform, Problem> {
    let packages: Vec<&debian::Package> = debian::RUST.iter().chain(debian::WINDOWS).collect();
    debian::provide(&packages, install)?;
    let rust = DebianRust::check(root)?;
    let wine = Wine::prepare(root, rust.target_dir()).map_err(Problem::Broken)?;
    Ok(Platform::Wine { rust, wine })
}

fn prepare_check(root: &Path, install: bool) -> Result<Platform, Problem> {
    let packages: Vec<&debian::Package> = debian::RUST.iter().collect();
    debian::provide(&packages, install)?;
    let rust = DebianRust::check(root)?;
    let zig = Zig::prepare(rust.target_dir(), install)?;
    Ok(Platform::CheckOnly { rust, zig })
}

/// `cargo <subcommand>` for Windows: `std` built from source (with
/// unwinding, so a failing test fails rather than aborts the binary),
/// linked by mingw-w64, run by Wine.
fn windows_cargo(rust: &DebianRust, wine: &Wine, root: &Path, subcommand: &str) -> Command {
    let mut cmd = rust.cargo(root, subcommand);
    cmd.args(["-Zbuild-std=std,panic_unwind", "--target", WINDOWS_TARGET])
        .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER", debian::MINGW_GCC)
        .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER", wine.runner());
    wine.configure(&mut cmd);
    cmd
}
