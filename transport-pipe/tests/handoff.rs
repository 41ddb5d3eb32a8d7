//! A hand-off goes to one child, once, and the parent's copy of the end
//! does not outlive the child's start, even while the parent keeps the
//! `Command` (the conformance harness drops it at once, so these cases
//! start their children themselves: this test binary again, for one test,
//! with its role in the environment).

use std::{
    env,
    io::{BufRead, BufReader},
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use transport_core::{
    CommandExt, FromEnvError, OpenError, RecvTimeoutError,
    conformance::{Item, LONG, PEER_TIMEOUT},
    from_env,
};
use transport_pipe::Connection;

/// The environment variable naming a child's role.
const ROLE: &str = "TRANSPORT_PIPE_HANDOFF_ROLE";
/// Lines a child prints with this prefix are reports to its parent.
const REPORT: &str = "handoff-report: ";

/// This test binary, to run test `test` as a child with role `role`.
fn command(test: &str, role: &str) -> Command {
    let mut cmd = Command::new(env::current_exe().expect("the test binary's path"));
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    cmd
}

/// A started child and the reports it prints.
struct Peer {
    child: Child,
    reports: mpsc::Receiver<String>,
}

impl Peer {
    fn start(cmd: &mut Command) -> std::io::Result<Peer> {
        let mut child = cmd.spawn()?;
        // A child that exits before it opens its end still makes it go
        // (on Windows the parent holds it for the child until then).
        transport_core::spawned(cmd, &child);
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, reports) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, report)) = line.split_once(REPORT) {
                    let _ = tx.send(report.to_owned());
                }
            }
        });
        Ok(Peer { child, reports })
    }

    fn report(&self) -> String {
        self.reports
            .recv_timeout(LONG)
            .unwrap_or_else(|e| panic!("no report from the child within {LONG:?}: {e}"))
    }

    /// Waits for the child to exit (polling: its exit status is the only
    /// signal there is), killing it after `PEER_TIMEOUT`.
    fn finish(mut self) -> ExitStatus {
        let deadline = Instant::now() + PEER_TIMEOUT;
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the child") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("the child did not finish within {PEER_TIMEOUT:?}");
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// In a child: prints a report line for the parent.
fn report(line: impl std::fmt::Display) {
    println!("{REPORT}{line}");
}

/// Runs the child's part if this process is a child, then exits.
fn as_child(part: impl FnOnce(&str)) {
    if let Ok(role) = env::var(ROLE) {
        part(&role);
        std::process::exit(0);
    }
}

/// What opening endpoint `end` gave, in a few words.
fn open_end() -> Result<Connection<Item, Item>, String> {
    from_env::<Connection<Item, Item>>("end").map_err(|e| match e {
        FromEnvError::Open {
            source: OpenError::AlreadyUsed { .. },
            ..
        } => "already used".to_owned(),
        FromEnvError::Open {
            source: OpenError::Refused { .. },
            ..
        } => "refused".to_owned(),
        other => format!("error: {other} ({:?})", std::error::Error::source(&other)),
    })
}

/// The same prepared `Command` spawned twice: on Unix the second spawn
/// fails (`EALREADY`) and no second child starts; on Windows both start,
/// the first to open the end gets it and the other is told it was already
/// used. Either way one child has the end to itself.
#[test]
fn a_command_spawned_twice_hands_the_end_to_one_child() {
    const TEST: &str = "a_command_spawned_twice_hands_the_end_to_one_child";
    as_child(|_| match open_end() {
        Ok(end) => {
            report("opened");
            end.send(Item::new(1, 0)).expect("greeting the parent");
            end.recv_timeout(LONG)
                .expect("the parent's answer")
                .assert_is(2, 0);
        }
        Err(e) => report(e),
    });
    let (mine, theirs) = transport_pipe::duplex::<Item, Item>().expect("a pipe");
    let mut cmd = command(TEST, "twice");
    cmd.endpoint("end", theirs).expect("handing the end over");
    let first = Peer::start(&mut cmd).expect("the first spawn");
    let second = Peer::start(&mut cmd);
    #[cfg(unix)]
    let children = {
        let err = second
            .err()
            .expect("the second spawn of the same Command must fail");
        assert_eq!(err.raw_os_error(), Some(libc::EALREADY), "{err}");
        assert_eq!(first.report(), "opened");
        vec![first]
    };
    #[cfg(not(unix))]
    let children = {
        let second = second.expect("the second spawn");
        let mut reports = [first.report(), second.report()];
        reports.sort();
        assert_eq!(reports, ["already used", "opened"]);
        vec![first, second]
    };
    mine.recv_timeout(LONG)
        .expect("the greeting of the child that opened the end")
        .assert_is(1, 0);
    mine.send(Item::new(2, 0)).expect("answering");
    for child in children {
        assert!(child.finish().success());
    }
    drop(cmd);
}

/// A parent that keeps the `Command` it spawned a child with still sees
/// `Disconnected` when the child exits (having used the end or not) or is
/// killed; the Windows case of a child that exits without opening it is
/// what a pool's worker killed while it started was.
#[test]
fn the_parent_sees_disconnected_while_it_keeps_the_command() {
    const TEST: &str = "the_parent_sees_disconnected_while_it_keeps_the_command";
    as_child(|role| {
        if role == "never_opens" {
            return;
        }
        let end = open_end().expect("opening the end");
        end.send(Item::new(3, 0)).expect("greeting the parent");
        if role == "waits" {
            report("waiting");
            // Until killed: the parent never sends.
            let _ = end.recv_timeout(LONG);
        }
    });
    // On Windows the parent's copy goes when the child takes it, or when a
    // child that never takes it exits (`transport_core::spawned`).
    for role in ["opens", "waits", "never_opens"] {
        let (mine, theirs) = transport_pipe::duplex::<Item, Item>().expect("a pipe");
        let mut cmd = command(TEST, role);
        cmd.endpoint("end", theirs).expect("handing the end over");
        let peer = Peer::start(&mut cmd).expect("spawning");
        match role {
            "never_opens" => assert!(peer.finish().success()),
            "waits" => {
                mine.recv_timeout(LONG)
                    .expect("the child's greeting")
                    .assert_is(3, 0);
                assert_eq!(peer.report(), "waiting");
                peer.kill();
            }
            _ => {
                mine.recv_timeout(LONG)
                    .expect("the child's greeting")
                    .assert_is(3, 0);
                assert!(peer.finish().success());
            }
        }
        match mine.recv_timeout(LONG) {
            Err(RecvTimeoutError::Disconnected) => {}
            Err(e) => panic!("child `{role}` is gone and the Command kept: expected Disconnected, got {e}"),
            Ok(_) => panic!("child `{role}`: expected Disconnected, got a message"),
        }
        drop(cmd);
    }
}

/// A child running as another user is refused by its end, whose peer runs
/// as this one: the error says so. Needs root to start such a child.
#[cfg(unix)]
#[test]
fn a_child_of_another_user_is_refused() {
    use std::os::unix::process::CommandExt as _;
    const TEST: &str = "a_child_of_another_user_is_refused";
    as_child(|_| match open_end() {
        Ok(_) => report("opened"),
        Err(e) => report(e),
    });
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP {TEST}: starting a child as another user needs root");
        return;
    }
    // `nobody`, which every Unix system has.
    const NOBODY: u32 = 65534;
    let (_mine, theirs) = transport_pipe::duplex::<Item, Item>().expect("a pipe");
    let mut cmd = command(TEST, "stranger");
    cmd.uid(NOBODY).gid(NOBODY);
    cmd.endpoint("end", theirs).expect("handing the end over");
    let peer = Peer::start(&mut cmd).expect("spawning a child as nobody");
    assert_eq!(peer.report(), "refused");
    assert!(peer.finish().success());
}
