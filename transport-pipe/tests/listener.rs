//! Rust to Rust through a `Listener`, across real processes: many clients,
//! another user refused, stale socket files reclaimed (and nothing else),
//! owner-only whatever the umask, nothing left behind. On Windows the
//! address is a named pipe; the tests about socket files, users and TCP
//! say why they do not apply there.

#[cfg(unix)]
use std::{
    os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt},
    path::PathBuf,
    time::Duration,
};

use transport_core::conformance::{self, Harness, LONG, PEER_TIMEOUT, Role};
use transport_pipe::{Address, AuthError, BindError, Client, ConnectError, Listener, Options};

/// Says that a test does not apply here, and why (shown even when libtest
/// captures output).
#[allow(dead_code)]
fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP {test}: {why}");
}

fn run(name: &str, case: conformance::Case) {
    conformance::run(conformance::test_name(module_path!(), name), "pipe", true, case);
}

/// A private directory for this test's socket files, empty when it goes.
#[cfg(unix)]
fn dir(h: &Harness) -> PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let path = std::env::temp_dir().join(format!("tp-{}", h.unique_name("l")));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&path)
        .expect("a private directory");
    path
}

#[cfg(unix)]
fn remove_empty(path: &std::path::Path) {
    let left: Vec<_> = std::fs::read_dir(path)
        .expect("the directory")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    std::fs::remove_dir(path).expect("removing the directory");
}

/// A key, and on Unix the same user (on Windows the pipe's security
/// descriptor admits only this user, and the peer's user is not reported).
fn options() -> Options {
    let options = Options::new().authkey(b"rust secret");
    if cfg!(unix) {
        options.require_same_user()
    } else {
        options
    }
}

/// Where a test's listener listens: a socket file in `dir`, or a named pipe.
#[cfg(unix)]
fn place(_h: &Harness, dir: &std::path::Path, name: &str) -> Address {
    Address::path(dir.join(name))
}

#[cfg(unix)]
fn geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn many(h: &Harness) {
    const CLIENTS: u64 = 8;
    match h.role() {
        Role::Parent => {
            #[cfg(unix)]
            let dir = dir(h);
            #[cfg(unix)]
            let address = place(h, &dir, "many.sock");
            #[cfg(windows)]
            let address = Address::path(format!(r"\\.\pipe\tp-{}", h.unique_name("many")));
            let listener = Listener::bind(address.clone(), options()).expect("listening");
            let children: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    h.child("client")
                        .param("address", &address)
                        .param("id", i)
                        .spawn()
                })
                .collect();
            let mut seen = Vec::new();
            let mut pids = Vec::new();
            for _ in 0..CLIENTS {
                let conn = listener.accept_timeout::<u64, u64>(LONG).expect("a client");
                #[cfg(unix)]
                assert_eq!(conn.raw().peer().uid, Some(geteuid()));
                pids.extend(conn.raw().peer().pid);
                let id = *conn.recv_timeout(LONG).expect("its id");
                conn.send(id * 2).expect("the answer");
                seen.push(id);
            }
            for child in children {
                assert_eq!(child.wait(PEER_TIMEOUT), ["answered"]);
            }
            seen.sort();
            assert_eq!(seen, (0..CLIENTS).collect::<Vec<_>>());
            if cfg!(any(target_os = "linux", windows)) {
                pids.sort();
                pids.dedup();
                assert_eq!(pids.len(), CLIENTS as usize, "each client is its own process");
            }
            drop(listener);
            #[cfg(unix)]
            {
                assert!(
                    !dir.join("many.sock").exists(),
                    "the socket file goes with the listener"
                );
                remove_empty(&dir);
            }
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let id: u64 = h.param("id");
            let conn = Client::connect::<u64, u64>(Address::path(address), &options()).expect("connecting");
            conn.send(id).expect("sending");
            assert_eq!(*conn.recv_timeout(LONG).expect("the answer"), id * 2);
            h.report("answered");
        }
    }
}

#[test]
fn many_clients_are_accepted() {
    run("many_clients_are_accepted", many);
}

#[cfg(unix)]
fn stale(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let dir = dir(h);
            let path = dir.join("stale.sock");
            let mut crashed = h.child("crash").param("path", path.display()).spawn();
            assert_eq!(crashed.expect_report(LONG), "listening");
            // A live listener is not displaced.
            match Listener::bind(Address::path(&path), options()) {
                Err(BindError::InUse { .. }) => {}
                other => panic!("expected InUse, got {other:?}"),
            }
            // Killed and reaped.
            crashed.kill();
            assert!(
                std::fs::symlink_metadata(&path)
                    .expect("the crash left its socket file")
                    .file_type()
                    .is_socket()
            );
            // Nobody listens there now: the stale file is reclaimed.
            let listener =
                Listener::bind(Address::path(&path), options()).expect("reclaiming the stale socket");
            drop(listener);
            assert!(!path.exists());
            // Anything that is not a socket is left alone.
            std::fs::write(&path, b"precious").expect("a plain file");
            match Listener::bind(Address::path(&path), options()) {
                Err(BindError::NotOurs { reason, .. }) => {
                    assert!(reason.contains("not a socket"), "{reason}")
                }
                other => panic!("expected NotOurs, got {other:?}"),
            }
            assert_eq!(std::fs::read(&path).expect("still there"), b"precious");
            std::fs::remove_file(&path).expect("removing the plain file");
            remove_empty(&dir);
        }
        Role::Child(_) => {
            let path: String = h.param("path");
            let _listener = Listener::bind(Address::path(path), options()).expect("listening");
            h.report("listening");
            // Killed here, its socket file stays behind.
            std::thread::sleep(PEER_TIMEOUT);
        }
    }
}

#[test]
fn stale_socket_is_reclaimed_and_nothing_else() {
    #[cfg(unix)]
    run("stale_socket_is_reclaimed_and_nothing_else", stale);
    #[cfg(windows)]
    run("stale_socket_is_reclaimed_and_nothing_else", stale_pipe);
}

/// Windows: a named pipe goes with its last handle, so a crashed
/// listener's name is free again at once; a live one's is not.
#[cfg(windows)]
fn stale_pipe(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let address = Address::path(format!(r"\\.\pipe\tp-{}", h.unique_name("stale")));
            let mut crashed = h.child("crash").param("address", &address).spawn();
            assert_eq!(crashed.expect_report(LONG), "listening");
            match Listener::bind(address.clone(), options()) {
                Err(BindError::InUse { .. }) => {}
                other => panic!("expected InUse, got {other:?}"),
            }
            crashed.kill();
            drop(Listener::bind(address, options()).expect("the crashed listener's name is free"));
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let _listener = Listener::bind(Address::path(address), options()).expect("listening");
            h.report("listening");
            std::thread::sleep(PEER_TIMEOUT);
        }
    }
}

#[cfg(unix)]
fn umask(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let dir = dir(h);
            let path = dir.join("umask.sock");
            let child = h.child("bind").param("path", path.display()).spawn();
            assert_eq!(child.wait(PEER_TIMEOUT), ["mode 140600"]);
            assert!(!path.exists());
            remove_empty(&dir);
        }
        Role::Child(_) => {
            let path: String = h.param("path");
            // SAFETY: umask only changes this process's file creation mask.
            unsafe { libc::umask(0) };
            let listener = Listener::bind(Address::path(&path), options()).expect("listening");
            let meta = std::fs::symlink_metadata(&path).expect("the socket file");
            h.report(format!("mode {:o}", meta.mode()));
            assert_eq!(meta.uid(), geteuid());
            drop(listener);
        }
    }
}

#[test]
fn socket_file_is_owner_only_whatever_the_umask() {
    #[cfg(unix)]
    run("socket_file_is_owner_only_whatever_the_umask", umask);
    #[cfg(not(unix))]
    skip(
        "socket_file_is_owner_only_whatever_the_umask",
        "a named pipe has no file mode: its security descriptor admits only this user",
    );
}

/// The user the test creates to be someone else, and removes after.
#[cfg(unix)]
const STRANGER: &str = "tpstranger";

#[cfg(unix)]
fn user_id(name: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.first() == Some(&name)).then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))?
    })
}

#[cfg(not(unix))]
#[test]
fn another_user_is_refused() {
    skip(
        "another_user_is_refused",
        "no second user can be made here; the named pipe's security descriptor is what refuses one",
    );
}

#[cfg(unix)]
#[test]
fn another_user_is_refused() {
    use std::{os::unix::process::CommandExt as _, process::Command};
    const ROLE: &str = "TRANSPORT_PIPE_STRANGER";
    if let Ok(address) = std::env::var(ROLE) {
        // The stranger: the path's file refuses it outright; the abstract
        // name lets it reach the listener, which drops it unheard.
        let (path, abstract_name) = address.split_once('|').expect("two addresses");
        match Client::connect_raw(Address::path(path), &Options::new()) {
            Err(ConnectError::Io { source, .. }) => {
                assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied, "{source}")
            }
            other => panic!("the socket file let another user in: {other:?}"),
        }
        match Client::connect_raw(
            Address::abstract_name(abstract_name),
            &options().require(transport_pipe::PeerUser::Any),
        ) {
            Err(ConnectError::Auth(AuthError::Disconnected | AuthError::Io(_))) => {}
            other => panic!("the listener must drop another user, got {other:?}"),
        }
        println!("stranger-done");
        return;
    }
    if geteuid() != 0 {
        eprintln!("SKIP another_user_is_refused: not root, so no other user can be made to run the client");
        return;
    }
    if !cfg!(target_os = "linux") {
        eprintln!(
            "SKIP another_user_is_refused: needs Linux's abstract namespace to let another user connect"
        );
        return;
    }
    let created = user_id(STRANGER).is_none();
    if created {
        let status = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                STRANGER,
            ])
            .status();
        if !status.as_ref().is_ok_and(|s| s.success()) {
            eprintln!("SKIP another_user_is_refused: useradd failed ({status:?})");
            return;
        }
    }
    let (uid, gid) = user_id(STRANGER).expect("the new user");
    let dir = std::env::temp_dir().join(format!("tp-stranger-{}", std::process::id()));
    std::fs::create_dir(&dir).expect("a directory");
    // The directory is open to all: only the socket file's own mode keeps
    // the stranger out.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = dir.join("owner.sock");
    let abstract_name = format!("tp-stranger-{}", std::process::id());
    let by_path = Listener::bind(Address::path(&path), options()).expect("listening on a path");
    let by_name =
        Listener::bind(Address::abstract_name(&abstract_name), options()).expect("listening on a name");
    let exe = std::env::current_exe().expect("the test binary");
    let child = Command::new(exe)
        .args([
            "another_user_is_refused",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, format!("{}|{abstract_name}", path.display()))
        .uid(uid)
        .gid(gid)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running the client as another user");
    match by_name.accept_timeout::<u8, u8>(LONG) {
        Err(ConnectError::PeerRefused {
            uid: Some(seen),
            expected: 0,
        }) => assert_eq!(seen, uid),
        other => panic!("expected the stranger refused, got {other:?}"),
    }
    let out = child.wait_with_output().expect("the stranger's output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("stranger-done"), "{text}");
    // Nobody ever reached the path's listener.
    assert!(matches!(
        by_path.accept_timeout::<u8, u8>(Duration::ZERO),
        Err(ConnectError::Timeout)
    ));
    drop((by_path, by_name));
    std::fs::remove_dir(&dir).expect("nothing left in the directory");
    if created {
        let _ = Command::new("userdel").arg(STRANGER).status();
    }
}

fn wrong_key(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let address = Address::tcp("127.0.0.1:0".parse().unwrap());
            let listener = Listener::bind(address, Options::new().authkey(b"right")).expect("listening");
            let child = h.child("client").param("address", listener.address()).spawn();
            match listener.accept_timeout::<u8, u8>(LONG) {
                Err(ConnectError::Auth(AuthError::WrongDigest)) => {}
                other => panic!("expected a wrong digest, got {other:?}"),
            }
            assert_eq!(child.wait(PEER_TIMEOUT), ["digest sent was rejected"]);
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let address: Address = address.parse().expect("an address");
            match Client::connect::<u8, u8>(address, &Options::new().authkey(b"wrong")) {
                Err(ConnectError::Auth(e)) => h.report(e),
                other => panic!("expected a rejection, got {other:?}"),
            }
        }
    }
}

#[test]
fn wrong_key_is_refused() {
    run("wrong_key_is_refused", wrong_key);
}

/// On a named pipe (Windows) as on TCP.
#[cfg(windows)]
fn wrong_key_pipe(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let address = Address::path(format!(r"\\.\pipe\tp-{}", h.unique_name("key")));
            let listener = Listener::bind(address, Options::new().authkey(b"right")).expect("listening");
            let child = h.child("client").param("address", listener.address()).spawn();
            match listener.accept_timeout::<u8, u8>(LONG) {
                Err(ConnectError::Auth(AuthError::WrongDigest)) => {}
                other => panic!("expected a wrong digest, got {other:?}"),
            }
            assert_eq!(child.wait(PEER_TIMEOUT), ["digest sent was rejected"]);
        }
        Role::Child(_) => wrong_key(h),
    }
}

#[cfg(windows)]
#[test]
fn wrong_key_is_refused_on_a_named_pipe() {
    run("wrong_key_is_refused_on_a_named_pipe", wrong_key_pipe);
}

/// Many clients over TCP, in this crate's framing (every system).
fn many_tcp(h: &Harness) {
    const CLIENTS: u64 = 4;
    let tcp_options = || Options::new().authkey(b"rust secret");
    match h.role() {
        Role::Parent => {
            let address = Address::tcp("127.0.0.1:0".parse().unwrap());
            let listener = Listener::bind(address, tcp_options()).expect("listening");
            let children: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    h.child("client")
                        .param("address", listener.address())
                        .param("id", i)
                        .spawn()
                })
                .collect();
            let mut seen = Vec::new();
            for _ in 0..CLIENTS {
                let conn = listener.accept_timeout::<u64, Vec<u8>>(LONG).expect("a client");
                let msg = conn.recv_timeout(LONG).expect("its message");
                let id = msg.len() as u64;
                assert!(msg.iter().all(|&b| b == id as u8));
                conn.send(id * 2).expect("the answer");
                seen.push(id);
            }
            for child in children {
                assert_eq!(child.wait(PEER_TIMEOUT), ["answered"]);
            }
            seen.sort();
            assert_eq!(seen, (0..CLIENTS).map(|i| i * 100_000).collect::<Vec<_>>());
        }
        Role::Child(_) => {
            let address: String = h.param("address");
            let id: u64 = h.param("id");
            let address: Address = address.parse().expect("an address");
            let conn = Client::connect::<Vec<u8>, u64>(address, &tcp_options()).expect("connecting");
            // Empty, and up to 300 KB: more than one read.
            let len = id * 100_000;
            conn.send(vec![len as u8; len as usize]).expect("sending");
            assert_eq!(*conn.recv_timeout(LONG).expect("the answer"), len * 2);
            h.report("answered");
        }
    }
}

#[test]
fn many_clients_are_accepted_over_tcp() {
    run("many_clients_are_accepted_over_tcp", many_tcp);
}

#[cfg(unix)]
fn silent(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let dir = dir(h);
            let path = dir.join("silent.sock");
            let options = options().handshake_timeout(Duration::from_millis(200));
            let listener = Listener::bind(Address::path(&path), options).expect("listening");
            let child = h.child("silent").param("path", path.display()).spawn();
            // A client that says nothing cannot hold up accept forever.
            match listener.accept_timeout::<u8, u8>(LONG) {
                Err(ConnectError::Auth(AuthError::Timeout)) => {}
                other => panic!("expected a handshake timeout, got {other:?}"),
            }
            assert_eq!(child.wait(PEER_TIMEOUT), ["dropped"]);
            drop(listener);
            remove_empty(&dir);
        }
        Role::Child(_) => {
            let path: String = h.param("path");
            let raw = std::os::unix::net::UnixStream::connect(path).expect("connecting");
            raw.set_read_timeout(Some(LONG)).expect("a timeout");
            let mut buf = [0u8; 256];
            // The challenge, then the end of the stream once the listener gives up.
            let mut total = 0;
            loop {
                match std::io::Read::read(&mut &raw, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => total += n,
                    Err(e) => panic!("reading: {e}"),
                }
            }
            assert!(total > 0, "the listener sent its challenge");
            h.report("dropped");
        }
    }
}

#[test]
fn silent_client_cannot_hold_up_accept() {
    #[cfg(unix)]
    run("silent_client_cannot_hold_up_accept", silent);
    #[cfg(not(unix))]
    skip(
        "silent_client_cannot_hold_up_accept",
        "the silent client is a raw Unix socket (silent TCP and named-pipe clients: listener_python_framing.rs)",
    );
}

#[test]
fn tcp_cannot_require_a_user() {
    let options = Options::new().authkey(b"rust secret").require_same_user();
    match Listener::bind(Address::tcp("127.0.0.1:0".parse().unwrap()), options) {
        Err(BindError::Unsupported { what }) => assert!(what.contains("TCP"), "{what}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

/// The Python interop tests (`python_interop.rs`, `examples.rs`) are Unix
/// only: say so where they do not run.
#[cfg(not(unix))]
#[test]
fn python_interop_runs_on_unix_only() {
    skip(
        "python_interop_runs_on_unix_only",
        "no CPython runs here (Wine); Python's framing over TCP and message-mode named pipes \
         is tested Rust to Rust in listener_python_framing.rs",
    );
}
