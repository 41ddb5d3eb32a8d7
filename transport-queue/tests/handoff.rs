//! A hand-off is single-use, bound to the child it was made for, private to
//! this user whatever the umask, and not left hanging by a child that died.

#![cfg(target_os = "linux")]

mod common;

use std::{
    os::{fd::AsRawFd, unix::fs::PermissionsExt},
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use common::{LONG, raw, run_case, unknown_role};
use transport_core::{
    CommandExt, OpenError, RecvTimeoutError,
    conformance::{Harness, Role},
    from_env,
};
use transport_queue::Queue;

/// Well under [`transport_queue::HANDOFF_TIMEOUT`].
const SOON: Duration = Duration::from_secs(10);

fn open_error(name: &str) -> OpenError {
    match from_env::<Queue<u64>>(name) {
        Err(transport_core::FromEnvError::Open { source, .. }) => source,
        Err(other) => panic!("not an open error: {other}"),
        Ok(_) => panic!("the hand-off opened"),
    }
}

/// Issue 12, item 5: a child that dies before it opens its end is noticed
/// at once: the sender kept for it stops counting.
#[test]
fn a_child_that_dies_before_opening_is_noticed_at_once() {
    run_case(
        "a_child_that_dies_before_opening_is_noticed_at_once",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<u64>::unbounded();
                let rx = q.receiver();
                let child = h.child("quitter").endpoint("tx", q.sender()).spawn();
                drop(q);
                assert!(child.wait(LONG).is_empty());
                match rx.recv_timeout(SOON) {
                    Err(RecvTimeoutError::Disconnected) => {}
                    other => panic!("the hand-off still held a sender: {:?}", other.map(|_| ())),
                }
            }
            Role::Child("quitter") => {}
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// Issue 12, item 8: connections that say nothing, or nothing this crate
/// writes, do not use the hand-off up; the real child still opens it.
#[test]
fn junk_connections_do_not_use_the_hand_off_up() {
    run_case(
        "junk_connections_do_not_use_the_hand_off_up",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<u64>::unbounded();
                let child = h.child("real").endpoint("q", q.clone()).spawn();
                assert_eq!(q.get_timeout(LONG).expect("the child's item").to_native(), 7);
                assert!(child.wait(LONG).is_empty());
            }
            Role::Child("real") => {
                let path = raw::token_path("q");
                let bare = raw::connect(&path).expect("a bare connection");
                let junk = raw::connect(&path).expect("a second connection");
                raw::send(junk.as_raw_fd(), b"hello, queue", &[]).expect("junk");
                let lying = raw::connect(&path).expect("a third connection");
                raw::send(lying.as_raw_fd(), &raw::framed(1 << 20, 1 << 40, &[0; 8]), &[]).expect("junk");
                let q: Queue<u64> = h.endpoint("q");
                q.put(7).expect("putting");
                drop((bare, junk, lying));
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// Issue 12, items 6 and 7: another process of this user that copied the
/// token is refused (and told so), and the real child still opens.
#[test]
fn a_process_that_copied_the_token_is_refused() {
    run_case(
        "a_process_that_copied_the_token_is_refused",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<u64>::unbounded();
                let go = transport_queue::Queue::<u64>::unbounded();
                let mut real = h
                    .child("real")
                    .endpoint("q", q.clone())
                    .endpoint("go", go.clone())
                    .spawn();
                let token = real.expect_report(LONG);
                let stranger = Command::new(std::env::current_exe().expect("the test binary"))
                    .args([
                        "a_process_that_copied_the_token_is_refused",
                        "--exact",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(
                        "TRANSPORT_CONFORMANCE_CHILD_OF",
                        "a_process_that_copied_the_token_is_refused",
                    )
                    .env("TRANSPORT_CONFORMANCE_ROLE", "stranger")
                    .env(transport_core::env_var("q").expect("a name"), token)
                    .stdin(Stdio::null())
                    .output()
                    .expect("running the stranger");
                let out = String::from_utf8_lossy(&stranger.stdout);
                assert!(
                    out.contains("conformance-report: refused"),
                    "the stranger was not refused: {out}\n{}",
                    String::from_utf8_lossy(&stranger.stderr)
                );
                go.put(1).expect("telling the real child to open");
                assert_eq!(q.get_timeout(LONG).expect("the real child's item").to_native(), 7);
                assert_eq!(real.wait(LONG), Vec::<String>::new());
            }
            Role::Child("real") => {
                let var = transport_core::env_var("q").expect("a name");
                h.report(std::env::var(var).expect("the token"));
                let go: Queue<u64> = h.endpoint("go");
                go.get_timeout(LONG).expect("the word to open");
                let q: Queue<u64> = h.endpoint("q");
                q.put(7).expect("putting");
            }
            Role::Child("stranger") => {
                let said = match open_error("q") {
                    OpenError::Refused { reason, .. } => format!("refused: {reason}"),
                    other => format!("opened or failed otherwise: {other}"),
                };
                h.report(said);
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// A member hands the queue on to a child of its own: the grandchild joins
/// through its parent's hand-off server (its channels passed on to the
/// hub in an adoption) and is served as any member.
#[test]
fn a_member_hands_the_queue_to_its_own_child() {
    run_case(
        "a_member_hands_the_queue_to_its_own_child",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<u64>::unbounded();
                let middle = h.child("middle").endpoint("q", q.clone()).spawn();
                assert_eq!(q.get_timeout(LONG).expect("the grandchild's item").to_native(), 5);
                q.put(6).expect("an item for the grandchild");
                assert_eq!(middle.wait(LONG), ["leaf got 6"]);
            }
            Role::Child("middle") => {
                let q: Queue<u64> = h.endpoint("q");
                let leaf = h.child("leaf").endpoint("q", q.clone()).spawn();
                for line in leaf.wait(LONG) {
                    h.report(line);
                }
            }
            Role::Child("leaf") => {
                let q: Queue<u64> = h.endpoint("q");
                q.put(5).expect("putting");
                let got = q.get_timeout(LONG).expect("getting");
                h.report(format!("leaf got {}", got.to_native()));
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// Spawning the same prepared command twice fails loudly: the second
/// spawn is refused once the first child has started.
#[test]
fn a_command_spawned_twice_fails_the_second_time() {
    run_case(
        "a_command_spawned_twice_fails_the_second_time",
        |h: &Harness| match h.role() {
            Role::Parent => {
                let q = transport_queue::Queue::<u64>::unbounded();
                let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
                cmd.args([
                    "a_command_spawned_twice_fails_the_second_time",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(
                    "TRANSPORT_CONFORMANCE_CHILD_OF",
                    "a_command_spawned_twice_fails_the_second_time",
                )
                .env("TRANSPORT_CONFORMANCE_ROLE", "opener")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .endpoint("q", q.clone())
                .expect("handing the queue over");
                let mut first = cmd.spawn().expect("the first spawn");
                assert_eq!(
                    q.get_timeout(LONG).expect("the first child's item").to_native(),
                    1
                );
                match cmd.spawn() {
                    Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EALREADY), "{e}"),
                    Ok(mut second) => {
                        let _ = second.kill();
                        let _ = second.wait();
                        panic!("the second spawn of the same command succeeded");
                    }
                }
                let _ = first.wait();
            }
            Role::Child("opener") => {
                let q: Queue<u64> = h.endpoint("q");
                q.put(1).expect("putting");
            }
            Role::Child(other) => unknown_role(other),
        },
    );
}

/// A throwaway user for the other-user test, made with `useradd` (root
/// only): its uid and gid.
fn other_user() -> Result<(u32, u32), String> {
    // SAFETY: `geteuid` cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not running as root, so no second user can be made".into());
    }
    let name = "tq-intruder";
    let made = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .output()
        .map_err(|e| format!("useradd: {e}"))?;
    let exists = String::from_utf8_lossy(&made.stderr).contains("already exists");
    if !made.status.success() && !exists {
        return Err(format!(
            "useradd failed: {}",
            String::from_utf8_lossy(&made.stderr)
        ));
    }
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, name])
            .output()
            .map_err(|e| format!("id: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|e| format!("id {flag}: {e}"))
    };
    Ok((id("-u")?, id("-g")?))
}

/// Issue 12, items 6 and 7: with the umask at 000 the hand-off is still
/// private (directory 0700, socket 0600); a process of another user that
/// has the token cannot reach it (and is told it was refused, not that
/// the parent is gone), and the real child still opens.
#[test]
fn another_user_cannot_reach_the_hand_off() {
    run_case("another_user_cannot_reach_the_hand_off", |h: &Harness| {
        match h.role() {
            Role::Parent => {
                let (uid, gid) = match other_user() {
                    Ok(ids) => ids,
                    Err(why) => return h.skip(&why),
                };
                let reports = transport_queue::Queue::<String>::unbounded();
                let creator = h
                    .child("creator")
                    .endpoint("reports", reports.clone())
                    .param("uid", uid)
                    .param("gid", gid)
                    .spawn();
                let said = creator.wait(LONG);
                assert_eq!(
                    said,
                    ["dir 700 socket 600", "intruder refused", "real child opened"]
                );
            }
            Role::Child("creator") => {
                // SAFETY: `umask` only sets this process's mask.
                unsafe { libc::umask(0) };
                let q = transport_queue::Queue::<u64>::unbounded();
                let go = transport_queue::Queue::<u64>::unbounded();
                let mut real = h
                    .child("real")
                    .endpoint("q", q.clone())
                    .endpoint("go", go.clone())
                    .spawn();
                let token = real.expect_report(LONG);
                let path = token.rsplit(';').next().expect("a path").to_owned();
                let mode = |p: &Path| std::fs::metadata(p).expect("a mode").permissions().mode() & 0o777;
                let socket = Path::new(&path);
                h.report(format!(
                    "dir {:o} socket {:o}",
                    mode(socket.parent().expect("a directory")),
                    mode(socket)
                ));
                let intruder = Command::new(std::env::current_exe().expect("the test binary"))
                    .args([
                        "another_user_cannot_reach_the_hand_off",
                        "--exact",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(
                        "TRANSPORT_CONFORMANCE_CHILD_OF",
                        "another_user_cannot_reach_the_hand_off",
                    )
                    .env("TRANSPORT_CONFORMANCE_ROLE", "intruder")
                    .env(transport_core::env_var("q").expect("a name"), &token)
                    .stdin(Stdio::null())
                    .uid(h.param("uid"))
                    .gid(h.param("gid"))
                    .output()
                    .expect("running the intruder");
                let out = String::from_utf8_lossy(&intruder.stdout);
                if out.contains("conformance-report: refused") {
                    h.report("intruder refused");
                } else {
                    h.report(format!(
                        "intruder: {out} {}",
                        String::from_utf8_lossy(&intruder.stderr)
                    ));
                }
                go.put(1).expect("telling the real child to open");
                match q.get_timeout(LONG) {
                    Ok(item) if item.to_native() == 7 => h.report("real child opened"),
                    other => h.report(format!("real child: {:?}", other.map(|i| i.to_native()))),
                }
                let _ = real.wait(LONG);
            }
            Role::Child("real") => {
                let var = transport_core::env_var("q").expect("a name");
                h.report(std::env::var(var).expect("the token"));
                let go: Queue<u64> = h.endpoint("go");
                go.get_timeout(LONG).expect("the word to open");
                let q: Queue<u64> = h.endpoint("q");
                q.put(7).expect("putting");
            }
            Role::Child("intruder") => {
                let said = match open_error("q") {
                    OpenError::Refused { reason, .. } => format!("refused: {reason}"),
                    other => format!("opened or failed otherwise: {other}"),
                };
                h.report(said);
            }
            Role::Child(other) => unknown_role(other),
        }
    });
}

use std::os::unix::process::CommandExt as _;
