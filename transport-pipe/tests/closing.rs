//! How an end ends: killed with its backlog full (it loses at most what the
//! docs say), dropped or closed while its peer does not read (it returns
//! within its linger). Each case runs across two real processes.

use std::time::Duration;

use transport_core::{
    SendTimeoutError,
    backend::{Frame, RawReceiver, RawRecvError, RawSendError, RawSender, Wait},
    conformance::{self, Blob, Harness, LONG, PEER_TIMEOUT, Role},
};
use transport_pipe::{BACKLOG, PipeEnd};

fn run(name: &str, case: conformance::Case) {
    conformance::run(conformance::test_name(module_path!(), name), "pipe", true, case);
}

/// The payload of each frame the children send; big enough that the
/// backlog holds a few hundred, small enough to take the backlog path.
const PAYLOAD: usize = 1000;
/// A frame on the wire: the 16-byte header and the payload.
const FRAME: usize = 16 + PAYLOAD;

/// Payload `seq`: its number, then a pattern.
fn payload(seq: u64) -> Vec<u8> {
    let mut p = conformance::pattern(seq, PAYLOAD);
    p[..8].copy_from_slice(&seq.to_le_bytes());
    p
}

/// Sends payloads until a send finds no room for a moment (the peer reads
/// nothing, so the kernel's buffer is full and the backlog at its bound,
/// with a batch being written); how many sends returned. Each send may
/// wait, so the backlog keeps filling while the flusher holds a batch.
fn fill(end: &PipeEnd) -> u64 {
    let mut seq = 0;
    loop {
        match end.send_bytes(&payload(seq), Wait::timeout(Duration::from_millis(200))) {
            Ok(()) => seq += 1,
            Err(RawSendError::NotReady) => return seq,
            Err(e) => panic!("sending payload {seq}: {e:?}"),
        }
    }
}

/// Receives until `Disconnected`: every frame whole and in order; how many.
fn receive_all(end: &PipeEnd) -> u64 {
    let mut seq = 0;
    loop {
        match end.recv_frame(Wait::timeout(LONG)) {
            Ok(f) => {
                assert!(f.bytes() == payload(seq), "payload {seq} is corrupt");
                seq += 1;
            }
            Err(RawRecvError::Disconnected) => return seq,
            Err(e) => panic!("after payload {seq}: expected Disconnected, got {e:?}"),
        }
    }
}

/// The bytes the parent received after the child was killed, counted
/// exactly: on Unix straight from the socket (a frame the kernel holds
/// only part of is not a message, but its bytes did reach the system),
/// checked to be the child's frames in order.
#[cfg(unix)]
fn received_bytes(end: &PipeEnd) -> usize {
    use std::os::fd::AsRawFd;
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let mut pfd = libc::pollfd {
            fd: end.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&raw mut pfd, 1, LONG.as_millis() as libc::c_int) };
        assert!(ready > 0, "the killed child's bytes did not end within {LONG:?}");
        // SAFETY: reads into a live buffer of its length.
        let n = unsafe { libc::recv(end.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        assert!(n >= 0, "reading: {}", std::io::Error::last_os_error());
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n as usize]);
    }
    for (seq, frame) in bytes.chunks(FRAME).enumerate() {
        let mut whole = vec![0u8; 16];
        whole[..4].copy_from_slice(b"TPF1");
        whole[8..].copy_from_slice(&(PAYLOAD as u64).to_le_bytes());
        whole.extend(payload(seq as u64));
        assert!(frame == &whole[..frame.len()], "frame {seq} is corrupt");
    }
    bytes.len()
}

/// On Windows: whole frames (the one the pipe holds only part of counts as
/// lost, so one frame more), and a write the pipe has not finished is still
/// in the sending process and dies with it (see the crate docs), at most
/// 1 MiB more.
#[cfg(windows)]
fn received_bytes(end: &PipeEnd) -> usize {
    receive_all(end) as usize * FRAME
}
#[cfg(windows)]
const SLACK: usize = FRAME + (1 << 20);
#[cfg(not(windows))]
const SLACK: usize = 0;

/// The child fills its backlog, says how many sends returned, and is
/// killed. The parent then reads all that reached the system: what is
/// lost is at most the documented bound, `BACKLOG` plus the last frame.
fn killed_with_a_full_backlog(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = transport_pipe::duplex::<Blob, Blob>().expect("a pipe");
            let mine = mine.into_raw();
            let mut peer = h.child("sender").endpoint("end", theirs.into_raw()).spawn();
            let sent: usize = peer.expect_report(LONG).parse().expect("a count");
            peer.kill();
            let received = received_bytes(&mine);
            let sent = sent * FRAME;
            assert!(received <= sent, "received {received} bytes of {sent} sent");
            let lost = sent - received;
            let bound = BACKLOG + FRAME + SLACK;
            eprintln!("{sent} bytes sent, {received} received: {lost} bytes lost (bound {bound})");
            assert!(
                lost <= bound,
                "a killed sender lost {lost} bytes of returned sends ({sent} sent, {received} received); \
                 the bound is {bound}"
            );
        }
        Role::Child(_) => {
            let end: PipeEnd = h.endpoint("end");
            h.report(fill(&end));
            // Wait to be killed (the parent sends nothing).
            let _ = end.recv_frame(Wait::timeout(LONG));
        }
    }
}

#[test]
fn a_killed_sender_loses_at_most_its_backlog() {
    run(
        "a_killed_sender_loses_at_most_its_backlog",
        killed_with_a_full_backlog,
    );
}

/// A frame the kernel holds only part of when its sender dies is not
/// delivered (the receiver drops a frame cut short), so it is lost whole,
/// and the backlog's bound must count it whole. The child makes one: it
/// shrinks its socket's send buffer, sends one big frame the kernel takes
/// only part of, then small frames until there is no room, says how many
/// sends returned, and is killed. The parent receives frames (not bytes)
/// until `Disconnected`: the frames that never arrived add up to at most
/// `BACKLOG` plus the last one. `big` picks the big frame's path: below
/// 64 KiB the backlog (a lone write), from 64 KiB the large-send path.
#[cfg(unix)]
fn killed_with_a_frame_cut_short(h: &Harness) {
    const SMALL: usize = 1000;
    let len = |big: usize, seq: u64| if seq == 0 { big } else { SMALL };
    let frame = |big: usize, seq: u64| {
        let mut f = conformance::pattern(seq, len(big, seq));
        f[..8].copy_from_slice(&seq.to_le_bytes());
        f
    };
    match h.role() {
        // Through the backlog (a lone write), then the large-send path.
        Role::Parent => [60 << 10, 200 << 10].into_iter().for_each(|big: usize| {
            let (mine, theirs) = transport_pipe::duplex::<Blob, Blob>().expect("a pipe");
            let mine = mine.into_raw();
            let mut peer = h
                .child("sender")
                .param("big", big)
                .endpoint("end", theirs.into_raw())
                .spawn();
            let sent: u64 = peer.expect_report(LONG).parse().expect("a count");
            peer.kill();
            let mut received = 0;
            loop {
                match mine.recv_frame(Wait::timeout(LONG)) {
                    Ok(f) => {
                        assert!(f.bytes() == frame(big, received), "frame {received} is corrupt");
                        received += 1;
                    }
                    Err(RawRecvError::Disconnected) => break,
                    Err(e) => panic!("after frame {received}: expected Disconnected, got {e:?}"),
                }
            }
            assert!(received <= sent, "received {received} frames of {sent} sent");
            let lost: usize = (received..sent).map(|seq| 16 + len(big, seq)).sum();
            let bound = BACKLOG + 16 + len(big, sent.saturating_sub(1)) + SLACK;
            eprintln!("{sent} frames sent, {received} received: {lost} bytes lost (bound {bound})");
            assert!(
                lost <= bound,
                "a killed sender lost {lost} bytes of returned sends ({sent} frames sent, {received} \
                 received, the big one {big} bytes); the bound is {bound}"
            );
        }),
        Role::Child(_) => {
            use std::os::fd::AsRawFd;
            let big: usize = h.param("big");
            let end: PipeEnd = h.endpoint("end");
            // A small send buffer: the kernel takes only the start of the
            // big frame, whatever the system's defaults.
            let size: libc::c_int = 8 << 10;
            // SAFETY: SO_SNDBUF takes an int, passed with its size, on a
            // socket this end owns.
            let set = unsafe {
                libc::setsockopt(
                    end.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_SNDBUF,
                    (&raw const size).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            assert_eq!(set, 0, "setting SO_SNDBUF: {}", std::io::Error::last_os_error());
            // The parent reads nothing: the first send writes what the
            // kernel takes at once and leaves the rest; later sends only
            // append, until there is no room.
            let mut seq = 0;
            loop {
                match end.send_bytes(&frame(big, seq), Wait::Never) {
                    Ok(()) => seq += 1,
                    Err(RawSendError::NotReady) if seq > 0 => break,
                    Err(e) => panic!("sending frame {seq}: {e:?}"),
                }
            }
            h.report(seq);
            // Wait to be killed (the parent sends nothing).
            let _ = end.recv_frame(Wait::timeout(LONG));
        }
    }
}

#[cfg(unix)]
#[test]
fn a_frame_cut_short_by_a_kill_counts_whole_in_the_backlog() {
    run(
        "a_frame_cut_short_by_a_kill_counts_whole_in_the_backlog",
        killed_with_a_frame_cut_short,
    );
}

/// The child fills its backlog while the parent reads nothing, then drops
/// its end: the drop returns (within the default linger), and the parent
/// then receives whole frames, in order, then `Disconnected`.
fn dropped_while_the_peer_does_not_read(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = transport_pipe::duplex::<Blob, Blob>().expect("a pipe");
            let mine = mine.into_raw();
            let mut peer = h.child("sender").endpoint("end", theirs.into_raw()).spawn();
            let sent: u64 = peer.expect_report(LONG).parse().expect("a count");
            assert_eq!(peer.expect_report(LONG), "dropped");
            let received = receive_all(&mine);
            assert!(received <= sent);
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child(_) => {
            let end: PipeEnd = h.endpoint("end");
            assert_eq!(end.linger(), transport_pipe::DEFAULT_LINGER);
            h.report(fill(&end));
            drop(end);
            h.report("dropped");
        }
    }
}

#[test]
fn dropping_an_end_returns_within_its_linger() {
    run(
        "dropping_an_end_returns_within_its_linger",
        dropped_while_the_peer_does_not_read,
    );
}

/// `flush_timeout` and `close` with a short wait say `Timeout` when the
/// peer does not read; a zero linger drops at once; the parent receives
/// whole frames only.
fn bounded_flush_and_close(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (a, theirs_a) = transport_pipe::duplex::<Blob, Blob>().expect("a pipe");
            let (b, theirs_b) = transport_pipe::duplex::<Blob, Blob>().expect("a pipe");
            let (a, b) = (a.into_raw(), b.into_raw());
            let mut peer = h
                .child("sender")
                .endpoint("a", theirs_a.into_raw())
                .endpoint("b", theirs_b.into_raw())
                .spawn();
            assert_eq!(peer.expect_report(LONG), "flush: timeout");
            assert_eq!(peer.expect_report(LONG), "close: timeout");
            receive_all(&a);
            assert_eq!(peer.expect_report(LONG), "zero linger: dropped");
            receive_all(&b);
            peer.wait(PEER_TIMEOUT);
        }
        Role::Child(_) => {
            let short = Duration::from_millis(100);
            let a: PipeEnd = h.endpoint("a");
            fill(&a);
            match a.flush_timeout(short) {
                Err(SendTimeoutError::Timeout(())) => h.report("flush: timeout"),
                other => h.report(format!("flush: {other:?}")),
            }
            match a.close(short) {
                Err(SendTimeoutError::Timeout(())) => h.report("close: timeout"),
                other => h.report(format!("close: {other:?}")),
            }
            let b: PipeEnd = h.endpoint("b");
            fill(&b);
            b.set_linger(Duration::ZERO);
            drop(b);
            h.report("zero linger: dropped");
        }
    }
}

#[test]
fn flush_and_close_with_a_timeout_say_what_was_left() {
    run(
        "flush_and_close_with_a_timeout_say_what_was_left",
        bounded_flush_and_close,
    );
}
