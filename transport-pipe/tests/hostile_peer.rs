//! A peer that does not play by the rules: it writes raw bytes on its end
//! (not through this crate), never reads, or lies in a frame header. Each
//! case runs across two real processes; the peer is the child.

#![cfg(unix)]

use std::{
    os::fd::{AsRawFd, RawFd},
    time::{Duration, Instant},
};

use transport_core::{
    backend::{Frame, RawReceiver, RawRecvError, RawSendError, RawSender, Wait},
    conformance::{self, Blob, Harness, LONG, PEER_TIMEOUT, Role},
};
use transport_pipe::PipeEnd;

fn run(name: &str, case: conformance::Case) {
    conformance::run(conformance::test_name(module_path!(), name), "pipe", true, case);
}

/// A frame as the wire format puts it (see the crate's `wire` module):
/// magic, zero flags, the 64-bit length, then the bytes.
fn frame_with_length(len: u64, body: &[u8]) -> Vec<u8> {
    let mut f = b"TPF1".to_vec();
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&len.to_le_bytes());
    f.extend_from_slice(body);
    f
}

fn frame(body: &[u8]) -> Vec<u8> {
    frame_with_length(body.len() as u64, body)
}

/// Writes `bytes` on the raw descriptor, as a peer that does not use this
/// crate would; `Err(written)` when the socket took nothing for `patience`.
fn write_raw(fd: RawFd, bytes: &[u8], patience: Duration) -> Result<(), usize> {
    let mut done = 0;
    while done < bytes.len() {
        let rest = &bytes[done..];
        // SAFETY: sends from a live slice; MSG_NOSIGNAL: a closed peer is an
        // error, not a signal.
        let n = unsafe {
            libc::send(
                fd,
                rest.as_ptr().cast(),
                rest.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        if n > 0 {
            done += n as usize;
            continue;
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::WouldBlock,
            "raw write failed: {err}"
        );
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&raw mut pfd, 1, left.as_millis() as libc::c_int) };
            if r > 0 {
                break;
            }
            if r == 0 || left.is_zero() {
                return Err(done);
            }
        }
    }
    Ok(())
}

/// This process's resident memory in bytes (`VmRSS` of /proc/self/status).
#[cfg(target_os = "linux")]
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    let kib: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

/// The most the flooding child writes; far more than the bound.
#[cfg(target_os = "linux")]
const FLOOD: usize = 256 << 20;

/// What the receive queue may gain, beyond `DRAIN_LIMIT` and what this end
/// wrote itself: the kernel's buffers and the process's own noise.
#[cfg(target_os = "linux")]
const SLACK: usize = 16 << 20;

/// The parent has a send pending (the child never reads, so it never
/// finishes) while the child floods the pipe and never reads: the parent's
/// blocked writer may read the flood into its receive queue only up to the
/// documented bound, so the child's writes stop, and the parent's memory
/// stays bounded.
#[cfg(target_os = "linux")]
fn flood_while_a_send_waits(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = transport_pipe::duplex::<Blob, Blob>().expect("a pipe");
            let mine = mine.into_raw();
            // The message that waits, touched before the baseline.
            let pending = vec![7u8; 8 << 20];
            let before = rss();
            let mut peer = h.child("flooder").endpoint("end", theirs.into_raw()).spawn();
            let (report, grown, send) = std::thread::scope(|s| {
                let sender = s.spawn(|| mine.send_bytes(&pending, Wait::timeout(LONG)));
                let report = peer.expect_report(LONG);
                let grown = rss().saturating_sub(before);
                // The child exits after its report; the pending send ends.
                peer.wait(PEER_TIMEOUT);
                (report, grown, sender.join().expect("the sending thread"))
            });
            let flooded: usize = report
                .strip_prefix("blocked after ")
                .unwrap_or_else(|| panic!("the flood never stopped: {report}"))
                .parse()
                .expect("a byte count");
            let bound = transport_pipe::DRAIN_LIMIT + pending.len() + SLACK;
            eprintln!("the peer's writes stopped after {flooded} bytes; memory grew by {grown} bytes");
            assert!(
                flooded <= bound,
                "the peer wrote {flooded} bytes into a pipe it never reads (bound {bound})"
            );
            assert!(
                grown <= bound,
                "memory grew by {grown} bytes while the peer flooded (bound {bound})"
            );
            assert!(
                matches!(send, Err(RawSendError::Disconnected | RawSendError::Io(_))),
                "the pending send ends when the peer exits: {send:?}"
            );
        }
        Role::Child(_) => {
            let end: PipeEnd = h.endpoint("end");
            let chunk = frame(&vec![0x5Au8; 1 << 20]);
            let mut flooded = 0;
            while flooded < FLOOD {
                match write_raw(end.as_raw_fd(), &chunk, Duration::from_secs(2)) {
                    Ok(()) => flooded += chunk.len(),
                    Err(part) => {
                        h.report(format!("blocked after {}", flooded + part));
                        return;
                    }
                }
            }
            h.report(format!("never blocked: {flooded} bytes written"));
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_peer_that_never_reads_cannot_grow_the_receive_queue() {
    run(
        "a_peer_that_never_reads_cannot_grow_the_receive_queue",
        flood_while_a_send_waits,
    );
}

/// The child sends a frame, then a header announcing 2^63 bytes (no
/// message can be that long), then another frame. The parent receives the
/// first, then `Malformed` for good, not `TooLarge` and a stream that
/// swallows everything after it; the child's next send is refused.
fn impossible_length(h: &Harness) {
    match h.role() {
        Role::Parent => {
            let (mine, theirs) = transport_pipe::duplex::<Blob, Blob>().expect("a pipe");
            let mine = mine.into_raw();
            let (go_tx, go_rx) = transport_pipe::simplex::<u8>().expect("a pipe");
            let peer = h
                .child("liar")
                .endpoint("end", theirs.into_raw())
                .endpoint("go", go_rx)
                .spawn();
            let first = mine.recv_frame(Wait::timeout(LONG)).expect("the honest frame");
            assert_eq!(first.bytes(), b"before");
            for _ in 0..2 {
                match mine.recv_frame(Wait::timeout(LONG)) {
                    Err(RawRecvError::Malformed(m)) => {
                        assert!(m.reason().contains("more than any message"), "{m}");
                    }
                    Ok(f) => panic!("expected Malformed, got a frame of {} bytes", f.bytes().len()),
                    Err(e) => panic!("expected Malformed, got {e:?}"),
                }
            }
            go_tx.send(1).expect("telling the child");
            assert_eq!(peer.wait(PEER_TIMEOUT), ["its next send: disconnected"]);
        }
        Role::Child(_) => {
            let end: PipeEnd = h.endpoint("end");
            let go: transport_pipe::Receiver<u8> = h.endpoint("go");
            let mut bytes = frame(b"before");
            bytes.extend(frame_with_length(1 << 63, b""));
            bytes.extend(frame(b"after"));
            write_raw(end.as_raw_fd(), &bytes, LONG).expect("writing a few bytes");
            go.recv_timeout(LONG).expect("the parent's go");
            match end.send_bytes(b"more", Wait::timeout(LONG)) {
                Err(RawSendError::Disconnected) => h.report("its next send: disconnected"),
                other => h.report(format!("its next send: {other:?}")),
            }
        }
    }
}

#[test]
fn a_length_no_message_can_have_closes_the_stream() {
    run(
        "a_length_no_message_can_have_closes_the_stream",
        impossible_length,
    );
}
