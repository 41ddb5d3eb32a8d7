//! Nobody but the two ends can reach a pipe, and nothing of it outlives
//! them: no name to connect to (Unix) or a name that refuses strays and
//! only admits the owner (Windows), no descriptor leaking into other
//! children, and nothing left after a drop or a `SIGKILL` of either end.

use transport_core::{
    RecvTimeoutError,
    conformance::{self, Harness, Item, LONG, Role},
};
use transport_pipe::{Connection, PipeEnd};

/// Held by a case's parent while it forks children or counts sockets: a
/// child forked by another test holds a copy of every descriptor of this
/// process until its `exec`, which would make a socket outlive both of its
/// ends for that long.
static FORKS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn forks_alone() -> std::sync::MutexGuard<'static, ()> {
    FORKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn run(name: &str, case: conformance::Case) {
    conformance::run(conformance::test_name(module_path!(), name), "pipe", true, case);
}

/// What identifies an end's kernel object from outside: the socket's inode
/// on Unix, the pipe's name on Windows.
#[cfg(unix)]
fn identity(end: &PipeEnd) -> libc::ino_t {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills `st` when it returns 0.
    assert_eq!(unsafe { libc::fstat(end.as_raw_fd(), st.as_mut_ptr()) }, 0);
    // SAFETY: fstat succeeded.
    let st = unsafe { st.assume_init() };
    assert_eq!(st.st_mode & libc::S_IFMT, libc::S_IFSOCK);
    st.st_ino
}

/// Whether the kernel still has the socket with `inode`, and with which
/// bound name (Linux lists every Unix socket in /proc/net/unix).
#[cfg(target_os = "linux")]
fn unix_socket_path(inode: libc::ino_t) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/unix").expect("reading /proc/net/unix");
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(6)?.parse::<libc::ino_t>().ok()? == inode)
            .then(|| fields.get(7).unwrap_or(&"").to_string())
    })
}

#[cfg(unix)]
#[test]
fn unix_pair_has_no_name() {
    use std::os::fd::AsRawFd;
    let (a, b) = transport_pipe::duplex::<u8, u8>().expect("a pipe");
    for end in [a.raw(), b.raw()] {
        for peer in [false, true] {
            // SAFETY: an all-zero sockaddr_un is valid storage for the call.
            let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            let fd = end.as_raw_fd();
            let p = (&raw mut addr).cast::<libc::sockaddr>();
            // SAFETY: `addr` has room for `len` bytes; the call shortens `len`.
            let r = unsafe {
                if peer {
                    libc::getpeername(fd, p, &mut len)
                } else {
                    libc::getsockname(fd, p, &mut len)
                }
            };
            assert_eq!(r, 0, "get{}name", if peer { "peer" } else { "sock" });
            assert_eq!(i32::from(addr.sun_family), libc::AF_UNIX);
            let path_len = len as usize - std::mem::offset_of!(libc::sockaddr_un, sun_path);
            assert_eq!(
                path_len, 0,
                "the socket has a name: nothing may be able to connect to it"
            );
        }
        #[cfg(target_os = "linux")]
        assert_eq!(
            unix_socket_path(identity(end)).as_deref(),
            Some(""),
            "listed without a path"
        );
    }
}

/// An end prepared for one child is not inherited by another child spawned
/// meanwhile, and the child that opens it keeps it from its own children.
#[cfg(unix)]
fn no_inheritance(h: &Harness) {
    use std::os::fd::AsRawFd;
    let fd_open = |fd: i32| {
        // SAFETY: F_GETFD only queries the descriptor table.
        unsafe { libc::fcntl(fd, libc::F_GETFD) }
    };
    match h.role() {
        Role::Parent => {
            let _alone = forks_alone();
            let (mine, theirs) = transport_pipe::duplex::<Item, Item>().expect("a pipe");
            let (fd, inode) = (theirs.raw().as_raw_fd(), identity(theirs.raw()));
            let owner = h.child("owner").endpoint("end", theirs);
            let stranger = h.child("stranger").param("fd", fd).param("inode", inode).spawn();
            assert_eq!(stranger.wait(conformance::PEER_TIMEOUT), ["the end is not here"]);
            let owner = owner.spawn();
            mine.recv_timeout(LONG)
                .expect("the owner's greeting")
                .assert_is(40, 0);
            assert_eq!(owner.wait(conformance::PEER_TIMEOUT), ["close-on-exec again"]);
        }
        Role::Child("stranger") => {
            let fd: i32 = h.param("fd");
            let inode: libc::ino_t = h.param("inode");
            let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
            // SAFETY: fstat fills `st` when it returns 0.
            let here = fd_open(fd) != -1
                && unsafe { libc::fstat(fd, st.as_mut_ptr()) } == 0
                // SAFETY: fstat succeeded.
                && unsafe { st.assume_init() }.st_ino == inode;
            h.report(if here {
                "the end leaked here"
            } else {
                "the end is not here"
            });
        }
        Role::Child(_) => {
            let end: Connection<Item, Item> = h.endpoint("end");
            let flags = fd_open(end.raw().as_raw_fd());
            end.send(Item::new(40, 0)).expect("greeting");
            h.report(if flags & libc::FD_CLOEXEC != 0 {
                "close-on-exec again"
            } else {
                "inheritable"
            });
        }
    }
}

#[cfg(unix)]
#[test]
fn other_children_do_not_inherit_an_end() {
    run("other_children_do_not_inherit_an_end", no_inheritance);
}

/// Each end goes to its own child; one is killed, the other sees
/// `Disconnected` and is killed too; then nothing of the pipe is left.
fn kill_both(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let _alone = forks_alone();
            let (a, b) = transport_pipe::duplex::<Item, Item>().expect("a pipe");
            let ids = [identity(a.raw()), identity(b.raw())];
            let mut first = h.child("first").endpoint("end", a).spawn();
            let mut second = h.child("second").endpoint("end", b).spawn();
            // The parent told each hand-off its child, so its copies are
            // closed by the time each spawn returned.
            for id in &ids {
                assert_not_held_here(id);
            }
            assert_eq!(first.expect_report(LONG), "ready");
            assert_eq!(second.expect_report(LONG), "ready");
            first.kill();
            assert_eq!(second.expect_report(LONG), "disconnected");
            second.kill();
            for id in &ids {
                assert_gone(id);
            }
            // And the plain case: both ends dropped in this process.
            let (a, b) = transport_pipe::duplex::<Item, Item>().expect("a pipe");
            let ids = [identity(a.raw()), identity(b.raw())];
            drop((a, b));
            for id in &ids {
                assert_gone(id);
            }
        }
        Role::Child(role) => {
            let end: Connection<Item, Item> = h.endpoint("end");
            h.report("ready");
            if role == "second" {
                // The peer may already be dead: either outcome is fine here.
                let _ = end.send(Item::new(41, 0));
                match end.recv_timeout(LONG) {
                    Err(RecvTimeoutError::Disconnected) => h.report("disconnected"),
                    Err(e) => panic!("expected Disconnected, got {e}"),
                    Ok(_) => panic!("expected Disconnected, got a message"),
                }
            }
            // Wait to be killed.
            let _ = end.recv_timeout(LONG);
        }
    }
}

#[cfg(target_os = "linux")]
fn assert_gone(inode: &libc::ino_t) {
    assert_eq!(
        unix_socket_path(*inode),
        None,
        "socket {inode} outlived both ends"
    );
}

/// No descriptor of this process is the socket with `inode`.
#[cfg(target_os = "linux")]
fn assert_not_held_here(inode: &libc::ino_t) {
    let name = format!("socket:[{inode}]");
    for fd in std::fs::read_dir("/proc/self/fd")
        .expect("listing /proc/self/fd")
        .flatten()
    {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            assert_ne!(
                target.to_string_lossy(),
                name,
                "the parent still holds socket {inode} after handing it off"
            );
        }
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn assert_not_held_here(_inode: &libc::ino_t) {
    // Only Linux lists a process's descriptors by what they are.
}

#[cfg(all(unix, not(target_os = "linux")))]
fn assert_gone(_inode: &libc::ino_t) {
    // Only Linux lists sockets; the pair never had a name to leave behind
    // (see `unix_pair_has_no_name`).
}

#[test]
fn nothing_is_left_after_drop_or_kill_of_either_end() {
    run("nothing_is_left_after_drop_or_kill_of_either_end", kill_both);
}

#[cfg(windows)]
mod windows {
    //! The Windows pipe has a name: it refuses strays, admits only its
    //! owner, and disappears with its ends.

    use std::os::windows::io::AsRawHandle;

    use windows_sys::Win32::{
        Foundation::{
            ERROR_FILE_NOT_FOUND, ERROR_PIPE_BUSY, GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE,
            LocalFree,
        },
        Security::Authorization::{GetSecurityInfo, SE_KERNEL_OBJECT},
        Security::{
            ACCESS_ALLOWED_ACE, ACL, ACL_SIZE_INFORMATION, AclSizeInformation, DACL_SECURITY_INFORMATION,
            EqualSid, GetAce, GetAclInformation, GetTokenInformation, PSECURITY_DESCRIPTOR, TOKEN_QUERY,
            TOKEN_USER, TokenUser,
        },
        Storage::FileSystem::{CreateFileW, FileNameInfo, GetFileInformationByHandleEx, OPEN_EXISTING},
        System::Threading::{GetCurrentProcess, OpenProcessToken},
    };

    use super::*;

    /// The pipe's full name, `\\.\pipe\...`.
    pub(super) fn pipe_name(end: &PipeEnd) -> String {
        let mut buf = vec![0u32; 1024];
        // SAFETY: `buf` has room for the FILE_NAME_INFO the call writes.
        let ok = unsafe {
            GetFileInformationByHandleEx(
                end.as_raw_handle(),
                FileNameInfo,
                buf.as_mut_ptr().cast(),
                (buf.len() * 4) as u32,
            )
        };
        assert_ne!(
            ok,
            0,
            "GetFileInformationByHandleEx: {}",
            std::io::Error::last_os_error()
        );
        let bytes = buf[0] as usize;
        // SAFETY: the name's UTF-16 units follow the 4-byte length.
        let units = unsafe { std::slice::from_raw_parts(buf.as_ptr().add(1).cast::<u16>(), bytes / 2) };
        format!(r"\\.\pipe{}", String::from_utf16_lossy(units))
    }

    /// Opens `name` as a client would; the Windows error code on failure.
    pub(super) fn connect(name: &str) -> Result<(), i32> {
        let wide: Vec<u16> = name.encode_utf16().chain([0]).collect();
        // SAFETY: `wide` is NUL-terminated; a returned handle is closed below.
        let h = unsafe {
            CreateFileW(
                wide.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                0,
                std::ptr::null_mut(),
            )
        };
        if h == INVALID_HANDLE_VALUE {
            return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
        // SAFETY: `h` is a new handle owned here.
        drop(unsafe {
            <std::os::windows::io::OwnedHandle as std::os::windows::io::FromRawHandle>::from_raw_handle(h)
        });
        Ok(())
    }

    #[test]
    fn stray_connect_is_refused_and_the_pair_still_works() {
        let (a, b) = transport_pipe::duplex::<Item, Item>().expect("a pipe");
        let name = pipe_name(a.raw());
        assert!(name.contains("transport-pipe-"), "{name}");
        assert_eq!(
            connect(&name),
            Err(ERROR_PIPE_BUSY as i32),
            "a stray client got in"
        );
        a.send(Item::new(42, 0)).expect("sending after the stray attempt");
        b.recv_timeout(LONG).expect("receiving").assert_is(42, 0);
        b.send(Item::new(42, 1)).expect("replying");
        a.recv_timeout(LONG).expect("the reply").assert_is(42, 1);
        drop((a, b));
        assert_eq!(
            connect(&name),
            Err(ERROR_FILE_NOT_FOUND as i32),
            "the name outlived the pipe"
        );
    }

    #[test]
    fn pipe_admits_only_its_owner() {
        let (a, _b) = transport_pipe::duplex::<Item, Item>().expect("a pipe");
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: asks for the DACL of a handle we own; `sd` receives a
        // LocalAlloc'd descriptor that `dacl` points into.
        let err = unsafe {
            GetSecurityInfo(
                a.raw().as_raw_handle() as HANDLE,
                SE_KERNEL_OBJECT,
                DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut dacl,
                std::ptr::null_mut(),
                &mut sd,
            )
        };
        assert_eq!(err, 0, "GetSecurityInfo");
        assert!(!dacl.is_null(), "a null DACL lets everyone in");
        // SAFETY: an all-zero ACL_SIZE_INFORMATION is valid storage.
        let mut info: ACL_SIZE_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: `dacl` is valid while `sd` lives; `info` has the right size.
        let ok = unsafe {
            GetAclInformation(
                dacl,
                (&raw mut info).cast(),
                std::mem::size_of::<ACL_SIZE_INFORMATION>() as u32,
                AclSizeInformation,
            )
        };
        assert_ne!(ok, 0);
        assert_eq!(info.AceCount, 1, "exactly one entry: the owner");
        let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
        // SAFETY: entry 0 exists (AceCount is 1).
        assert_ne!(unsafe { GetAce(dacl, 0, &mut ace) }, 0);
        // SAFETY: `ace` points at an ACE in the DACL.
        let ace = unsafe { &*ace.cast::<ACCESS_ALLOWED_ACE>() };
        assert_eq!(ace.Header.AceType, 0, "an access-allowed entry");
        let user = current_user();
        // SAFETY: the ACE's SID starts at `SidStart`; `user` holds a TOKEN_USER.
        let same = unsafe {
            EqualSid(
                (&raw const ace.SidStart).cast_mut().cast(),
                (*user.as_ptr().cast::<TOKEN_USER>()).User.Sid,
            )
        };
        assert_ne!(same, 0, "the entry is for the current user");
        // SAFETY: `sd` was allocated by GetSecurityInfo and is freed once.
        unsafe { LocalFree(sd) };
    }

    /// The current process's TOKEN_USER, in pointer-aligned storage.
    fn current_user() -> Vec<u64> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: opens this process's token for querying.
        let opened = unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) };
        assert_ne!(opened, 0);
        let mut buf = vec![0u64; 128];
        let mut len = 0u32;
        // SAFETY: `buf` has room for 1 KiB.
        let ok = unsafe { GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), 1024, &mut len) };
        assert_ne!(ok, 0);
        // SAFETY: `token` is owned here and closed once.
        drop(unsafe {
            <std::os::windows::io::OwnedHandle as std::os::windows::io::FromRawHandle>::from_raw_handle(token)
        });
        buf
    }
}

#[cfg(windows)]
fn identity(end: &PipeEnd) -> String {
    windows::pipe_name(end)
}

#[cfg(windows)]
fn assert_gone(name: &String) {
    assert_eq!(
        windows::connect(name),
        Err(windows_sys::Win32::Foundation::ERROR_FILE_NOT_FOUND as i32),
        "pipe {name} outlived both ends"
    );
}

#[cfg(windows)]
fn assert_not_held_here(_name: &String) {
    // The parent keeps the end's handle until the child takes it, which
    // happens after the spawn returns (see the pipe's hand-off claim).
}
