//! A C compiler for the Apple targets, so the macOS check can run build
//! scripts that compile C (the `nats` backend's TLS stack builds `ring`,
//! whose C and assembly must be compiled even by `cargo check`).
//!
//! Debian's gcc cannot target macOS and its clang (14) lacks the macOS
//! headers; Zig's `zig cc` is clang with the Darwin C headers bundled. It is
//! installed from its Python package (`ziglang`, pinned) with Debian's
//! `pip --target` into `target/xplat/zig`, owned by this checkout; nothing
//! is installed system-wide. A small script per target adapts the flags
//! `cc-rs` passes (`--target=…-apple-macosx`, Apple clang's `-gfull`) to
//! `zig cc -target …-macos`.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use crate::debian::{self, Problem};

/// The pinned `ziglang` release.
const ZIGLANG: &str = "ziglang==0.17.1";
/// Debian's Python, whose pip installs with `--target` (Debian's
/// `python3-pip`).
const PYTHON: &str = "/usr/bin/python3";
const PIP: &[debian::Package] = &[debian::Package {
    name: "python3-pip",
    file: "/usr/lib/python3/dist-packages/pip/__init__.py",
}];

/// Rust's Apple targets and the names Zig gives them.
const TARGETS: [(&str, &str); 2] = [
    ("x86_64-apple-darwin", "x86_64-macos"),
    ("aarch64-apple-darwin", "aarch64-macos"),
];

/// Zig, installed and wrapped for each Apple target.
#[derive(Debug)]
pub struct Zig {
    dir: PathBuf,
}

impl Zig {
    /// Installs Zig under `xplat` (when missing and `install` allows) and
    /// writes the compiler scripts.
    pub fn prepare(xplat: &Path, install: bool) -> Result<Zig, Problem> {
        let dir = xplat.join("zig");
        let zig = dir.join("ziglang").join("zig");
        if !zig.is_file() {
            if !install {
                return Err(Problem::Unavailable(format!(
                    "no C compiler for the Apple targets: run `{PYTHON} -m pip install --target {} {ZIGLANG}`",
                    dir.display()
                )));
            }
            debian::provide(&PIP.iter().collect::<Vec<_>>(), install)?;
            eprintln!("[setup] installing Zig ({ZIGLANG}) into {}", dir.display());
            let status = Command::new(PYTHON)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--target",
                ])
                .arg(&dir)
                .arg(ZIGLANG)
                .status()
                .map_err(|e| Problem::Broken(format!("cannot run {PYTHON}: {e}")))?;
            if !status.success() || !zig.is_file() {
                return Err(Problem::Broken(format!(
                    "`pip install {ZIGLANG}` failed ({status})"
                )));
            }
        }
        let this = Zig { dir };
        for (rust, zig_target) in TARGETS {
            this.write_script(&this.cc(rust), &format!("cc -target {zig_target}"), true)?;
        }
        this.write_script(&this.ar(), "ar", false)?;
        Ok(this)
    }

    /// Points `cmd`'s C builds for the Apple targets at Zig.
    pub fn configure(&self, cmd: &mut Command) {
        for (rust, _) in TARGETS {
            let var = rust.replace('-', "_");
            cmd.env(format!("CC_{var}"), self.cc(rust))
                .env(format!("AR_{var}"), self.ar());
        }
    }

    fn cc(&self, rust_target: &str) -> PathBuf {
        self.dir.join(format!("cc-{rust_target}"))
    }

    fn ar(&self) -> PathBuf {
        self.dir.join("ar")
    }

    /// A script that runs `zig <command>` with the caller's arguments,
    /// without the target flags cc-rs adds for Apple's clang when `filter`.
    fn write_script(&self, path: &Path, command: &str, filter: bool) -> Result<(), Problem> {
        let zig = self.dir.join("ziglang").join("zig");
        let filter = if filter {
            "for arg do\n  shift\n  case $arg in\n    --target=*|-gfull) ;;\n    *) set -- \"$@\" \"$arg\" ;;\n  esac\ndone\n"
        } else {
            ""
        };
        let text = format!("#!/bin/sh\n{filter}exec '{}' {command} \"$@\"\n", zig.display());
        let broken = |e: std::io::Error| Problem::Broken(format!("cannot write {}: {e}", path.display()));
        fs::write(path, text).map_err(broken)?;
        // Only ever run from Linux (the macOS check from Debian).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(broken)?;
        }
        Ok(())
    }
}
