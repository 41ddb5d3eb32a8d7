//! Debian's tools for building the other systems from Linux: the Rust
//! toolchain with its standard library's sources (so `-Zbuild-std` can
//! build `std` for Windows and macOS), mingw-w64 to link Windows programs
//! and Wine to run them.
//!
//! [`provide`] installs what is missing (with `apt-get`, as root), or says
//! exactly what is missing when it may not; [`DebianRust::check`] makes sure
//! the compiler and the standard library's sources are the same release.

use std::{
    fs,
    io::ErrorKind,
    path::{Path, PathBuf},
    process::Command,
};

use crate::libtest;

/// A Debian package and a file it provides that the matrix uses.
#[derive(Debug)]
pub struct Package {
    pub name: &'static str,
    pub file: &'static str,
}

/// Debian's Rust toolchain, which can build `std` for another target.
pub const RUST: &[Package] = &[
    Package {
        name: "rustc-web",
        file: RUSTC,
    },
    Package {
        name: "cargo-web",
        file: CARGO,
    },
    Package {
        name: "rust-web-src",
        file: "/usr/lib/rustlib/src/rust/library/std/Cargo.toml",
    },
];

/// What building and running Windows programs needs besides [`RUST`].
pub const WINDOWS: &[Package] = &[
    Package {
        name: "gcc-mingw-w64-x86-64-posix",
        file: MINGW_GCC,
    },
    Package {
        name: "wine64",
        file: crate::wine::WINE,
    },
];

/// The NATS server the `nats` backend's tests start (on loopback ports).
pub const NATS_SERVER: &[Package] = &[Package {
    name: "nats-server",
    file: "/usr/sbin/nats-server",
}];

const RUSTC: &str = "/usr/bin/rustc";
const RUSTDOC: &str = "/usr/bin/rustdoc";
const CARGO: &str = "/usr/bin/cargo";
/// Where `rustc --print sysroot` (`/usr`) keeps the sources `-Zbuild-std` reads.
const STD_SOURCES: &str = "/usr/lib/rustlib/src/rust";
/// The mingw-w64 C compiler with POSIX threads, which Rust's
/// `x86_64-pc-windows-gnu` target links with.
pub const MINGW_GCC: &str = "/usr/bin/x86_64-w64-mingw32-gcc-posix";

/// Why a platform cannot be tested from here.
#[derive(Debug)]
pub enum Problem {
    /// The tools are missing and this run may not or cannot install them:
    /// the cells are skipped with this reason.
    Unavailable(String),
    /// Setting up failed where it should have worked: the cells fail.
    Broken(String),
}

/// Makes sure `packages` are installed, installing the missing ones with
/// `apt-get` when `install` allows it and this process can (as root, or
/// through `sudo` without a password).
pub fn provide(packages: &[&Package], install: bool) -> Result<(), Problem> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err(Problem::Unavailable(
            "cross-testing is set up only from Debian on x86-64 Linux".to_owned(),
        ));
    }
    let missing = missing(packages)?;
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|p| p.name).collect();
    let names = names.join(" ");
    let by_hand = format!("apt-get install --no-install-recommends {names}");
    if !install {
        return Err(Problem::Unavailable(format!(
            "missing Debian packages: {names} (run `cargo xtask setup` as root, or `{by_hand}`)"
        )));
    }
    let Some(privilege) = privilege() else {
        return Err(Problem::Unavailable(format!(
            "missing Debian packages: {names}; installing them needs root: run `{by_hand}` as root"
        )));
    };
    eprintln!("[setup] installing Debian packages: {names}");
    let apt = |args: &[&str]| -> Result<(), Problem> {
        let mut cmd = match privilege {
            Privilege::Sudo => {
                let mut c = Command::new("sudo");
                c.args(["-n", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
                c
            }
            Privilege::Root => {
                let mut c = Command::new("apt-get");
                c.env("DEBIAN_FRONTEND", "noninteractive");
                c
            }
        };
        cmd.args(args);
        let outcome = libtest::run(cmd, None, &|| ()).map_err(Problem::Broken)?;
        if outcome.success {
            Ok(())
        } else {
            let why = outcome
                .first_error
                .unwrap_or_else(|| "no error message".to_owned());
            Err(Problem::Broken(format!(
                "`apt-get {}` failed: {why}",
                args.join(" ")
            )))
        }
    };
    apt(&["update", "-q"])?;
    let mut install_args = vec!["install", "-y", "-q", "--no-install-recommends"];
    install_args.extend(missing.iter().map(|p| p.name));
    apt(&install_args)?;
    let still: Vec<&str> = self::missing(packages)?.iter().map(|p| p.name).collect();
    if !still.is_empty() {
        return Err(Problem::Broken(format!(
            "still missing after apt-get install: {}",
            still.join(" ")
        )));
    }
    Ok(())
}

/// The packages that are not installed, or whose file is not there.
fn missing<'a>(packages: &[&'a Package]) -> Result<Vec<&'a Package>, Problem> {
    let names: Vec<&str> = packages.iter().map(|p| p.name).collect();
    let query = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${db:Status-Status}\\n"])
        .args(&names)
        .output();
    let out = match query {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let wanted: Vec<String> = packages
                .iter()
                .map(|p| format!("{} ({})", p.name, p.file))
                .collect();
            return Err(Problem::Unavailable(format!(
                "not a Debian system (no dpkg-query); needs {}",
                wanted.join(", ")
            )));
        }
        Err(e) => return Err(Problem::Broken(format!("could not run dpkg-query: {e}"))),
    };
    // dpkg-query exits non-zero when a package is unknown; the lines it
    // printed for the others still count.
    let text = String::from_utf8_lossy(&out.stdout);
    let installed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, status)| status.trim() == "installed")
        .map(|(name, _)| name)
        .collect();
    Ok(packages
        .iter()
        .copied()
        .filter(|p| !installed.contains(&p.name) || !Path::new(p.file).exists())
        .collect())
}

/// How this process can install packages.
#[derive(Clone, Copy, Debug)]
enum Privilege {
    /// It runs as root.
    Root,
    /// `sudo` works without a password.
    Sudo,
}

/// How this process can install packages, if it can.
fn privilege() -> Option<Privilege> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1));
    if uid == Some("0") {
        return Some(Privilege::Root);
    }
    let sudo = Command::new("sudo").args(["-n", "true"]).output().ok()?;
    sudo.status.success().then_some(Privilege::Sudo)
}

/// The version dpkg has installed of `package`.
fn installed_version(package: &str) -> Result<String, Problem> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()
        .map_err(|e| Problem::Broken(format!("could not run dpkg-query: {e}")))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || version.is_empty() {
        return Err(Problem::Broken(format!("dpkg does not know package {package}")));
    }
    Ok(version)
}

/// Debian's Rust toolchain, checked to be one release throughout.
#[derive(Debug)]
pub struct DebianRust {
    /// The compiler's version, as `rustc -V` gives it.
    pub version: String,
    /// The directory cross builds put their artifacts in.
    target_dir: PathBuf,
}

impl DebianRust {
    /// Checks that `rustc-web` and `rust-web-src` are the same release and
    /// that the sources are where `-Zbuild-std` looks for them.
    pub fn check(root: &Path) -> Result<DebianRust, Problem> {
        let compiler = installed_version("rustc-web")?;
        let sources = installed_version("rust-web-src")?;
        if compiler != sources {
            return Err(Problem::Broken(format!(
                "rustc-web {compiler} and rust-web-src {sources} differ: install both from the same \
                 release (apt-get install rustc-web rust-web-src)"
            )));
        }
        let out = Command::new(RUSTC)
            .arg("-V")
            .output()
            .map_err(|e| Problem::Broken(format!("could not run {RUSTC}: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text.split_whitespace().nth(1).unwrap_or_default().to_owned();
        if !out.status.success() || !compiler.starts_with(&version) || version.is_empty() {
            return Err(Problem::Broken(format!(
                "{RUSTC} says `{}`, but dpkg has rustc-web {compiler}",
                text.trim()
            )));
        }
        let src = fs::canonicalize(STD_SOURCES)
            .map_err(|e| Problem::Broken(format!("rust-web-src: {STD_SOURCES}: {e}")))?;
        let expected = format!("rustc-{version}");
        if src.file_name().and_then(|n| n.to_str()) != Some(expected.as_str()) {
            return Err(Problem::Broken(format!(
                "{STD_SOURCES} points to {}, not to the sources of rustc {version}",
                src.display()
            )));
        }
        Ok(DebianRust {
            version,
            target_dir: root.join("target").join("xplat"),
        })
    }

    /// Where cross builds go (`target/xplat`), beside the Wine prefix.
    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    /// `cargo <subcommand>` with Debian's toolchain, allowed to use
    /// `-Z` flags, building into [`target_dir`](Self::target_dir).
    pub fn cargo(&self, root: &Path, subcommand: &str) -> Command {
        let mut cmd = Command::new(CARGO);
        cmd.current_dir(root)
            .arg(subcommand)
            .env("RUSTC", RUSTC)
            .env("RUSTDOC", RUSTDOC)
            // Debian's stable compiler, told to accept `-Zbuild-std`.
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", &self.target_dir)
            // What rustup and `cargo run` set for the toolchain that runs
            // xtask must not leak into this one.
            .env_remove("CARGO")
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("LD_LIBRARY_PATH");
        cmd
    }
}
