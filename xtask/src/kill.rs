//! Killing a command together with the processes it started: cargo's test
//! binaries and the children they run. `Child::kill` ends only the direct
//! child, and its orphans would keep running and keep its output open.

use std::process::Child;
#[cfg(any(target_os = "linux", windows))]
use std::process::{Command, Stdio};

/// Kills `child` and, where this OS lets us find them, its descendants.
pub fn tree(child: &mut Child) {
    #[cfg(target_os = "linux")]
    {
        // Collected before anything dies: an orphan gets a new parent and
        // would no longer be found under `child`.
        let mut pids = linux::descendants(child.id());
        pids.push(child.id());
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(pids.iter().map(u32::to_string))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    #[cfg(windows)]
    {
        let _ = Command::new("taskkill")
            .args(["/F", "/T", "/PID", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    // Where neither of the above applies (or `kill` is not installed),
    // at least the direct child ends.
    let _ = child.kill();
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs;

    /// Every process below `root`, from the parent links in `/proc`.
    pub fn descendants(root: u32) -> Vec<u32> {
        let Ok(dir) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        let links: Vec<(u32, u32)> = dir
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| Some((pid, parent(pid)?)))
            .collect();
        let mut found = vec![root];
        let mut i = 0;
        while i < found.len() {
            let parent = found[i];
            found.extend(links.iter().filter(|(_, pp)| *pp == parent).map(|(pid, _)| *pid));
            i += 1;
        }
        found.remove(0);
        found
    }

    /// The parent of `pid`: the field after the state in
    /// `/proc/<pid>/stat`, which follows the command name in parentheses.
    fn parent(pid: u32) -> Option<u32> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = &stat[stat.rfind(')')? + 1..];
        after_name.split_whitespace().nth(1)?.parse().ok()
    }

    #[cfg(test)]
    mod tests {
        use std::{
            fs,
            process::{Command, Stdio},
            thread,
            time::{Duration, Instant},
        };

        /// Whether `f` comes true within ten seconds.
        fn within_10s(mut f: impl FnMut() -> bool) -> bool {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if f() {
                    return true;
                }
                thread::yield_now();
            }
            f()
        }

        #[test]
        fn finds_and_kills_a_grandchild() {
            // A shell that starts a sleeping child and waits for it.
            let mut child = Command::new("sh")
                .args(["-c", "sleep 300 & wait"])
                .stdout(Stdio::null())
                .spawn()
                .expect("sh runs");
            let mut found = Vec::new();
            assert!(
                within_10s(|| {
                    found = super::descendants(child.id());
                    !found.is_empty()
                }),
                "the shell's child is found"
            );
            assert_eq!(found.len(), 1);
            super::super::tree(&mut child);
            let _ = child.wait();
            // Gone, or a zombie waiting for whoever adopted it to reap it.
            let dead = || {
                fs::read_to_string(format!("/proc/{}/stat", found[0]))
                    .map_or(true, |s| s.contains(") Z ") || s.contains(") X "))
            };
            assert!(within_10s(dead), "the grandchild was killed");
        }
    }
}
