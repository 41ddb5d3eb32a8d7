//! The command-line options the tasks share: which operating systems and
//! which backends, and whether missing tools may be installed.

use std::{fmt, time::Duration};

/// An operating system of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
    Macos,
}

impl Os {
    /// Every operating system, in the order the matrix runs them.
    pub const ALL: [Os; 3] = [Os::Linux, Os::Windows, Os::Macos];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Windows => "windows",
            Os::Macos => "macos",
        }
    }

    fn parse(name: &str) -> Result<Os, String> {
        Os::ALL
            .into_iter()
            .find(|os| os.name() == name)
            .ok_or_else(|| format!("unknown operating system `{name}` (expected linux, windows or macos)"))
    }

    /// The operating system this program runs on, if it is one of ours.
    pub fn host() -> Option<Os> {
        if cfg!(target_os = "linux") {
            Some(Os::Linux)
        } else if cfg!(windows) {
            Some(Os::Windows)
        } else if cfg!(target_os = "macos") {
            Some(Os::Macos)
        } else {
            None
        }
    }
}

impl fmt::Display for Os {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The options of `test-matrix`, `caps` and `setup`.
#[derive(Debug)]
pub struct Options {
    /// The operating systems asked for, in matrix order.
    pub os: Vec<Os>,
    /// The backends asked for; empty for all.
    pub backends: Vec<String>,
    /// Whether missing packages may be installed.
    pub install: bool,
    /// How long one cell may run before it is killed and fails.
    pub cell_timeout: Duration,
    /// How long the whole run may take: cells not started by then fail.
    pub budget: Duration,
}

/// `--cell-timeout`'s default, in minutes.
pub const CELL_TIMEOUT_MINUTES: u64 = 15;
/// `--budget`'s default, in minutes: CI must finish within 60.
pub const BUDGET_MINUTES: u64 = 50;

impl Options {
    /// Parses `--os a,b`, `--backend x,y` (both repeatable),
    /// `--no-install`, `--cell-timeout MIN` and `--budget MIN`;
    /// `known_backends` checks the backend names.
    pub fn parse(args: &[String], default_os: &[Os], known_backends: &[&str]) -> Result<Options, String> {
        let mut os = Vec::new();
        let mut backends = Vec::new();
        let mut install = true;
        let mut cell_timeout = Duration::from_secs(CELL_TIMEOUT_MINUTES * 60);
        let mut budget = Duration::from_secs(BUDGET_MINUTES * 60);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag {
                "--os" => {
                    for name in value()?.split(',').filter(|s| !s.is_empty()) {
                        os.push(Os::parse(name)?);
                    }
                }
                "--backend" => {
                    for name in value()?.split(',').filter(|s| !s.is_empty()) {
                        if !known_backends.contains(&name) {
                            return Err(format!(
                                "unknown backend `{name}` (expected one of {})",
                                known_backends.join(", ")
                            ));
                        }
                        backends.push(name.to_owned());
                    }
                }
                "--no-install" => install = false,
                "--cell-timeout" => cell_timeout = minutes(flag, &value()?)?,
                "--budget" => budget = minutes(flag, &value()?)?,
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        let os = if os.is_empty() {
            default_os.to_vec()
        } else {
            // Matrix order, each once, whatever order they were given in.
            Os::ALL.into_iter().filter(|o| os.contains(o)).collect()
        };
        Ok(Options {
            os,
            backends,
            install,
            cell_timeout,
            budget,
        })
    }

    /// Whether `backend` was asked for.
    pub fn wants(&self, backend: &str) -> bool {
        self.backends.is_empty() || self.backends.iter().any(|b| b == backend)
    }
}

fn minutes(flag: &str, text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{flag} takes a whole number of minutes, not `{text}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Options::parse(&args, &Os::ALL, &["local", "pipe"])
    }

    #[test]
    fn lists_and_repeats() {
        let o = parse(&["--os", "windows,linux", "--backend=pipe", "--no-install"]).unwrap();
        assert_eq!(o.os, vec![Os::Linux, Os::Windows]);
        assert!(o.wants("pipe") && !o.wants("local"));
        assert!(!o.install);
        let o = parse(&["--os", "macos", "--os=linux", "--budget", "5", "--cell-timeout=2"]).unwrap();
        assert_eq!(o.os, vec![Os::Linux, Os::Macos]);
        assert_eq!((o.budget.as_secs(), o.cell_timeout.as_secs()), (300, 120));
    }

    #[test]
    fn defaults_to_everything() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.os, Os::ALL.to_vec());
        assert!(o.wants("local") && o.wants("pipe"));
        assert!(o.install);
    }

    #[test]
    fn rejects_unknown_names() {
        assert!(parse(&["--os", "beos"]).unwrap_err().contains("beos"));
        assert!(
            parse(&["--backend", "carrier-pigeon"])
                .unwrap_err()
                .contains("carrier-pigeon")
        );
        assert!(parse(&["--os"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--fast"]).unwrap_err().contains("--fast"));
        assert!(parse(&["--budget", "soon"]).unwrap_err().contains("minutes"));
    }
}
