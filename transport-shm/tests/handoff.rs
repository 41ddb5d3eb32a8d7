//! Hand-offs bound to the child they were made for, across real
//! processes: a token read from another process's environment opens
//! nothing, a command spawned twice gives its second child a clear
//! refusal, segments are owner-only whatever the umask, and the stale
//! sweep touches only this user's segments and does not run on every
//! creation.
#![cfg(target_os = "linux")]

use std::{
    os::unix::{fs::MetadataExt, process::CommandExt as _},
    path::Path,
    process::Command,
};

use transport_core::{
    FromEnvError, Handoff, OpenError,
    conformance::{Harness, LONG, PEER_TIMEOUT, Peer, Role},
    from_env, open_token,
};
use transport_shm::{
    SharedEvent, SharedValue, ShmConfig,
    channel::{self, Receiver},
    cleanup_stale,
};

transport_core::cross_process_tests!("shm", cases;
    stolen_receiver_token_is_refused,
    stolen_value_token_is_refused,
    command_spawned_twice_refuses_the_second_receiver,
    command_spawned_twice_refuses_the_second_value,
    hand_off_used_by_a_child_that_left_says_already_used,
    segments_are_owner_only_whatever_the_umask,
    cleanup_spares_other_users_segments,
    creation_does_not_sweep_every_time,
);

fn small() -> ShmConfig {
    ShmConfig::default().max_message_size(256).buffer_bytes(4096)
}

/// An error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What opening endpoint `name` from this process's environment gave.
fn open_outcome<E: Handoff>(name: &str) -> Result<E, String> {
    from_env::<E>(name).map_err(|e| describe(&e))
}

fn describe(e: &FromEnvError) -> String {
    let kind = match e {
        FromEnvError::Open {
            source: OpenError::Refused { .. },
            ..
        } => "refused",
        FromEnvError::Open {
            source: OpenError::AlreadyUsed { .. },
            ..
        } => "already used",
        FromEnvError::Open {
            source: OpenError::Gone { .. },
            ..
        } => "gone",
        _ => "other",
    };
    format!("{kind}: {}", chain(e))
}

/// The token that process `pid` was given for endpoint `name`, read from
/// its environment as any process of the same user can.
fn steal(pid: u32, name: &str) -> String {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("reading the victim's environment");
    let var = format!("{}{}=", transport_core::ENV_PREFIX, name.to_ascii_uppercase());
    environ
        .split(|b| *b == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .find_map(|entry| entry.strip_prefix(var.as_str()))
        .unwrap_or_else(|| panic!("the victim has no {var}"))
        .to_owned()
}

/// Whether this process runs as root (the other-user cases need it).
fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A throwaway user, deleted on drop.
struct TempUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl TempUser {
    fn create() -> TempUser {
        let name = format!("tshm_t{}", std::process::id());
        let status = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                &name,
            ])
            .status()
            .expect("running useradd");
        assert!(status.success(), "useradd {name} failed");
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .args([flag, &name])
                .output()
                .expect("running id");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("a numeric id")
        };
        let (uid, gid) = (id("-u"), id("-g"));
        TempUser { name, uid, gid }
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

/// The one line a second child of the same command reported: the
/// refusal of a hand-off already used.
fn already_used(said: &[String]) -> &str {
    assert_eq!(said.len(), 1, "the second child: {said:?}");
    assert!(
        said[0].starts_with("already used: "),
        "the second child: {said:?}"
    );
    &said[0]
}

/// A child's part: opens shared value `v` and reports it, or why not.
fn report_value(h: &Harness) {
    match open_outcome::<SharedValue<u64>>("v") {
        Ok(v) => h.report(format!("value {}", v.get().expect("reading"))),
        Err(e) => h.report(e),
    }
}

mod cases {
    use super::*;

    /// A process of the same user reads the victim child's token from
    /// `/proc/<pid>/environ` before the victim opens it: its open is
    /// refused, and the victim still opens its receiver and gets the
    /// message.
    pub fn stolen_receiver_token_is_refused(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let (tx, rx) = channel::channel::<u64>(&small()).expect("creating the channel");
                let go = SharedEvent::new().expect("creating the event");
                let mut victim = h
                    .child("victim")
                    .endpoint("go", go.clone())
                    .endpoint("rx", rx)
                    .spawn();
                let pid = victim.expect_report(LONG);
                let thief = h.child("thief").param("pid", &pid).spawn();
                let said = thief.wait(PEER_TIMEOUT);
                assert_eq!(said.len(), 1);
                assert!(said[0].starts_with("refused: "), "the thief: {said:?}");
                assert!(said[0].contains("refused this process"), "{said:?}");
                eprintln!("the thief was told: {}", said[0]);
                go.set();
                tx.send(42).expect("sending");
                assert_eq!(victim.wait(PEER_TIMEOUT), ["received 42"]);
            }
            Role::Child("victim") => {
                let go: SharedEvent = h.endpoint("go");
                h.report(std::process::id());
                assert!(go.wait_timeout(LONG), "the parent never said go");
                let rx: Receiver<u64> = h.endpoint("rx");
                let m = rx.recv_timeout(LONG).expect("receiving");
                h.report(format!("received {}", m.to_native()));
            }
            Role::Child("thief") => {
                let token = steal(h.param("pid"), "rx");
                match open_token::<Receiver<u64>>("rx", &token) {
                    Ok(_) => h.report("stole the receiver"),
                    Err(e) => h.report(describe(&e)),
                }
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// As above for a shared value.
    pub fn stolen_value_token_is_refused(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let value = SharedValue::new(5u64).expect("creating the value");
                let go = SharedEvent::new().expect("creating the event");
                let mut victim = h
                    .child("victim")
                    .endpoint("go", go.clone())
                    .endpoint("v", value.clone())
                    .spawn();
                let pid = victim.expect_report(LONG);
                let thief = h.child("thief").param("pid", &pid).spawn();
                let said = thief.wait(PEER_TIMEOUT);
                assert_eq!(said.len(), 1);
                assert!(said[0].starts_with("refused: "), "the thief: {said:?}");
                go.set();
                assert_eq!(victim.wait(PEER_TIMEOUT), ["value 5"]);
            }
            Role::Child("victim") => {
                let go: SharedEvent = h.endpoint("go");
                h.report(std::process::id());
                assert!(go.wait_timeout(LONG), "the parent never said go");
                let v: SharedValue<u64> = h.endpoint("v");
                h.report(format!("value {}", v.get().expect("reading")));
            }
            Role::Child("thief") => {
                let token = steal(h.param("pid"), "v");
                match open_token::<SharedValue<u64>>("v", &token) {
                    Ok(v) => {
                        let _ = v.set(666);
                        h.report("stole the value");
                    }
                    Err(e) => h.report(describe(&e)),
                }
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// One prepared command spawned twice: the first child gets the
    /// receiver (whichever opens first), the second is told the hand-off
    /// was already used by another process.
    pub fn command_spawned_twice_refuses_the_second_receiver(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let (tx, rx) = channel::channel::<u64>(&small()).expect("creating the channel");
                let mut cmd = h.child("opener").endpoint("rx", rx).into_command();
                let first = Peer::process("first", cmd.spawn().expect("spawning"));
                let second = Peer::process("second", cmd.spawn().expect("spawning again"));
                drop(cmd);
                tx.send(7).expect("sending");
                // The sender keeps the segment alive whenever the second
                // child looks (the first may be done by then).
                let second = second.wait(PEER_TIMEOUT);
                drop(tx);
                let said = already_used(&second);
                assert!(said.contains("already used by another process"), "{said}");
                eprintln!("the second child was told: {said}");
                assert_eq!(first.wait(PEER_TIMEOUT), ["received 7"]);
            }
            Role::Child("opener") => match open_outcome::<Receiver<u64>>("rx") {
                Ok(rx) => {
                    let m = rx.recv_timeout(LONG).expect("receiving");
                    h.report(format!("received {}", m.to_native()));
                }
                Err(e) => h.report(e),
            },
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// As above for a shared value.
    pub fn command_spawned_twice_refuses_the_second_value(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let value = SharedValue::new(9u64).expect("creating the value");
                let mut cmd = h.child("opener").endpoint("v", value.clone()).into_command();
                let first = Peer::process("first", cmd.spawn().expect("spawning"));
                let second = Peer::process("second", cmd.spawn().expect("spawning again"));
                drop(cmd);
                already_used(&second.wait(PEER_TIMEOUT));
                assert_eq!(first.wait(PEER_TIMEOUT), ["value 9"]);
            }
            Role::Child("opener") => report_value(h),
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// The first child opens the value and exits; the same command spawned
    /// again: the segment is alive, the hand-off was used.
    pub fn hand_off_used_by_a_child_that_left_says_already_used(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let value = SharedValue::new(3u64).expect("creating the value");
                let mut cmd = h.child("opener").endpoint("v", value.clone()).into_command();
                let first = Peer::process("first", cmd.spawn().expect("spawning"));
                assert_eq!(first.wait(PEER_TIMEOUT), ["value 3"]);
                let second = Peer::process("second", cmd.spawn().expect("spawning again"));
                let said = second.wait(PEER_TIMEOUT);
                let said = already_used(&said);
                assert!(!said.contains("no longer exists"), "{said}");
                assert_eq!(value.get().expect("reading"), 3, "the segment is alive");
            }
            Role::Child("opener") => report_value(h),
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// Under umasks from 000 to 777 a segment is created with mode 0600
    /// exactly: never readable by others, never locked out of its owner.
    pub fn segments_are_owner_only_whatever_the_umask(h: &Harness) {
        match h.role() {
            Role::Parent => {
                for umask in ["000", "022", "077", "277", "777"] {
                    let peer = h.child("creator").param("umask", umask).spawn();
                    assert_eq!(
                        peer.wait(PEER_TIMEOUT),
                        ["value 600, channel 600"],
                        "segment modes under umask {umask}"
                    );
                }
            }
            Role::Child("creator") => {
                let umask = u32::from_str_radix(&h.param::<String>("umask"), 8).expect("an octal umask");
                // SAFETY: umask only sets this process's file mode mask.
                unsafe { libc::umask(umask as libc::mode_t) };
                let value = SharedValue::new(1u8).expect("creating a value");
                let (tx, _rx) = channel::channel::<u8>(&small()).expect("creating a channel");
                let mode = |name: &str| {
                    let meta = std::fs::metadata(format!("/dev/shm{name}")).expect("the segment's file");
                    format!("{:o}", meta.mode() & 0o777)
                };
                h.report(format!(
                    "value {}, channel {}",
                    mode(value.segment_name()),
                    mode(tx.raw().segment_name())
                ));
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// Root runs `cleanup_stale` while another user has a stale segment:
    /// it is left alone (that user's own sweep removes it).
    pub fn cleanup_spares_other_users_segments(h: &Harness) {
        match h.role() {
            Role::Parent => {
                if !is_root() {
                    h.skip("needs root to create a second user");
                    return;
                }
                let user = TempUser::create();
                let as_user = |role: &str| {
                    let mut cmd = h.child(role).into_command();
                    cmd.uid(user.uid).gid(user.gid).current_dir("/");
                    Peer::process(role, cmd.spawn().expect("spawning as the other user"))
                };
                let mut owner = as_user("owner");
                let name = owner.expect_report(LONG);
                owner.kill();
                let path = format!("/dev/shm{name}");
                let meta = std::fs::metadata(&path).expect("the other user's segment exists");
                assert_eq!(meta.uid(), user.uid);
                let removed = cleanup_stale().expect("sweeping");
                let spared = Path::new(&path).exists();
                // Whatever happened, the other user's sweep removes it.
                let sweeper = as_user("sweeper");
                let swept = sweeper.wait(PEER_TIMEOUT);
                assert!(!Path::new(&path).exists(), "the owner's own sweep removed it");
                assert!(
                    spared,
                    "root's sweep removed another user's segment ({removed} removed)"
                );
                assert_eq!(swept, ["swept 1"]);
            }
            Role::Child("owner") => {
                let value = SharedValue::new(1u32).expect("creating a value");
                h.report(value.segment_name());
                loop {
                    std::thread::park();
                }
            }
            Role::Child("sweeper") => {
                h.report(format!("swept {}", cleanup_stale().expect("sweeping")));
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }

    /// A process's first creation sweeps; later ones (within the sweep
    /// period) do not scan the segments again; `cleanup_stale` always does.
    pub fn creation_does_not_sweep_every_time(h: &Harness) {
        match h.role() {
            Role::Parent => {
                let creator = h.child("creator").spawn();
                assert_eq!(
                    creator.wait(PEER_TIMEOUT),
                    ["left by the second creation", "removed by cleanup_stale"]
                );
            }
            Role::Child("creator") => {
                let first = SharedValue::new(0u8).expect("creating a value");
                let mut owner = h.child("owner").spawn();
                let name = owner.expect_report(LONG);
                owner.kill();
                let path = format!("/dev/shm{name}");
                assert!(Path::new(&path).exists(), "the killed owner left its segment");
                let second = SharedValue::new(0u8).expect("creating a value");
                h.report(if Path::new(&path).exists() {
                    "left by the second creation"
                } else {
                    "swept by the second creation"
                });
                cleanup_stale().expect("sweeping");
                h.report(if Path::new(&path).exists() {
                    "left by cleanup_stale"
                } else {
                    "removed by cleanup_stale"
                });
                drop((first, second));
            }
            Role::Child("owner") => {
                let value = SharedValue::new(1u32).expect("creating a value");
                h.report(value.segment_name());
                loop {
                    std::thread::park();
                }
            }
            Role::Child(other) => panic!("no role `{other}`"),
        }
    }
}
