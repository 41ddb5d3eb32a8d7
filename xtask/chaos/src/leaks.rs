//! Operating-system objects a trial leaves behind: shared-memory segments
//! named after its processes, files in its private temporary folder (where
//! the queue's hand-off sockets go), and processes still running with the
//! trial's mark in their environment.

use std::{
    collections::BTreeSet,
    fs,
    path::PathBuf,
    thread,
    time::{Duration, Instant},
};

use crate::child;

/// How long objects may take to go after a trial ends (a survivor's
/// thread may remove them just after the ends are dropped).
const SETTLE: Duration = Duration::from_secs(2);

/// What the campaign has found so far.
#[derive(Debug)]
pub struct Leaks {
    /// The private temporary folder every process of the run uses.
    tmp: PathBuf,
    /// This process and every child it started: shared-memory segments are
    /// named after the process that made them (`tshm_<pid in hex>_…`).
    pids: Vec<u32>,
    /// Objects already reported.
    known: BTreeSet<String>,
}

impl Leaks {
    /// Watches `tmp` and the segments of this process.
    pub fn new(tmp: PathBuf) -> Self {
        Leaks {
            tmp,
            pids: vec![std::process::id()],
            known: BTreeSet::new(),
        }
    }

    /// Watches the segments of `pid` too.
    pub fn watch_pid(&mut self, pid: u32) {
        self.pids.push(pid);
    }

    /// The objects left after trial `id` that were not reported before,
    /// once they have had [`SETTLE`] to go.
    pub fn settle(&mut self, id: &str) -> Vec<String> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let new: Vec<String> = self.scan(id).difference(&self.known).cloned().collect();
            if new.is_empty() || Instant::now() >= deadline {
                self.known.extend(new.iter().cloned());
                return new;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn scan(&self, id: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let prefixes: Vec<String> = self.pids.iter().map(|pid| format!("tshm_{pid:x}_")).collect();
        for name in names("/dev/shm") {
            if prefixes.iter().any(|p| name.starts_with(p.as_str())) {
                found.insert(format!("/dev/shm/{name}"));
            }
        }
        for name in names(&self.tmp) {
            found.insert(format!("{}/{name}", self.tmp.display()));
        }
        found.extend(processes_marked(id));
        found
    }
}

fn names(dir: impl AsRef<std::path::Path>) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Live processes whose environment carries trial `id`'s mark.
fn processes_marked(id: &str) -> Vec<String> {
    let mark = format!("{}={id}", child::RUN);
    names("/proc")
        .into_iter()
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|pid| {
            let env = fs::read(format!("/proc/{pid}/environ")).ok()?;
            let marked = env.split(|&b| b == 0).any(|var| var == mark.as_bytes());
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // A zombie has ended; its parent has not reaped it yet.
            let zombie = stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'));
            (marked && !zombie).then(|| format!("process {pid}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    #[test]
    fn finds_segments_files_and_processes_and_reports_each_once() {
        let tmp = std::env::temp_dir().join(format!("chaos-leaks-test-{}", std::process::id()));
        fs::create_dir_all(&tmp).unwrap();
        let mut leaks = Leaks::new(tmp.clone());
        assert!(leaks.settle("none").is_empty());

        let segment = format!("/dev/shm/tshm_{:x}_leaktest", std::process::id());
        fs::write(&segment, b"").unwrap();
        fs::write(tmp.join("socket-dir"), b"").unwrap();
        let id = format!("leak-test-{}", std::process::id());
        let mut sleeper = Command::new("sleep")
            .arg("60")
            .env(child::RUN, &id)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();

        let found = leaks.settle(&id);
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        let _ = fs::remove_file(&segment);
        let _ = fs::remove_dir_all(&tmp);
        assert!(found.contains(&segment), "{found:?}");
        assert!(found.iter().any(|f| f.ends_with("/socket-dir")), "{found:?}");
        assert!(found.contains(&format!("process {}", sleeper.id())), "{found:?}");
        assert_eq!(found.len(), 3, "{found:?}");
        // Reported once: the same objects are not news after the next trial.
        assert!(leaks.settle(&id).is_empty());
    }
}
