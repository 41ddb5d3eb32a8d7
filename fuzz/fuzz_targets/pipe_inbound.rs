//! The pipe's receive path over a real socket pair, fed the fuzzer's bytes.
//!
//! The input is `[limit, piece (2 bytes, little-endian), stream...]`: the
//! receiving end's message size limit (chosen from a few), the size of the
//! writes the stream is cut into, and the bytes a peer writes raw on the
//! other end of a real `socketpair`, bypassing the crate's framing. The
//! receiving end reads them with its real receive path, after each write
//! and to the end of the stream; what it gives out must be exactly what a
//! plain reading of the wire format says (frames, `TooLarge`, `Malformed`
//! for good, then `Disconnected`), each frame 16-aligned. A panic, a hang
//! (a receive that neither gives a result nor ends), a wrong result or
//! unbounded memory is a crash.

#![no_main]

use std::os::fd::AsRawFd;

use libfuzzer_sys::fuzz_target;
use transport_core::{ChannelConfig, Duplex, FRAME_ALIGN, Frame, RawReceiver, RawRecvError, Wait};
use transport_pipe::{Pipe, PipeEnd};

/// The limits the receiving end may have.
const LIMITS: [usize; 7] = [0, 1, 16, 100, 4096, 65536, 1 << 20];

/// What a receive gave.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Frame(Vec<u8>),
    TooLarge(usize),
    Malformed,
    Disconnected,
}

/// The wire format read plainly: 16-byte header (magic `TPF1`, flags 0,
/// length), then the body. A length above `isize::MAX`, a bad magic or
/// flags end the stream as `Malformed`; a length above `limit` is
/// `TooLarge` and its body is skipped; a frame or header cut by the end of
/// the stream is not delivered.
fn expected(stream: &[u8], limit: usize) -> Vec<Event> {
    let mut events = Vec::new();
    let mut pos = 0;
    while let Some(head) = stream.get(pos..pos + 16) {
        let flags = u32::from_le_bytes(head[4..8].try_into().unwrap());
        let len = u64::from_le_bytes(head[8..16].try_into().unwrap());
        if &head[..4] != b"TPF1" || flags != 0 || len > isize::MAX as u64 {
            events.push(Event::Malformed);
            return events;
        }
        let len = len as usize;
        pos += 16;
        if len > limit {
            events.push(Event::TooLarge(len));
        } else if let Some(body) = stream.get(pos..pos + len) {
            events.push(Event::Frame(body.to_vec()));
        }
        match pos.checked_add(len) {
            Some(end) if end <= stream.len() => pos = end,
            _ => break,
        }
    }
    events.push(Event::Disconnected);
    events
}

/// One receive, as an event; `None` when nothing is ready within `wait`.
fn receive(end: &PipeEnd, wait: Wait, limit: usize) -> Option<Event> {
    match end.recv_frame(wait) {
        Ok(frame) => {
            let bytes = frame.bytes();
            assert!(
                bytes.len() <= limit,
                "a frame of {} bytes past the limit {limit}",
                bytes.len()
            );
            assert!(
                bytes.is_empty() || (bytes.as_ptr() as usize).is_multiple_of(FRAME_ALIGN),
                "a frame not {FRAME_ALIGN}-aligned"
            );
            Some(Event::Frame(bytes.to_vec()))
        }
        Err(RawRecvError::TooLarge { len, limit: l }) => {
            assert_eq!(l, limit);
            assert!(len > limit);
            Some(Event::TooLarge(len))
        }
        Err(RawRecvError::Malformed(_)) => Some(Event::Malformed),
        Err(RawRecvError::Disconnected) => Some(Event::Disconnected),
        Err(RawRecvError::NotReady) => None,
        Err(e) => panic!("unexpected receive error: {e:?}"),
    }
}

/// Receives what is ready now, stopping at an end (`Malformed`,
/// `Disconnected`); whether the stream ended.
fn receive_ready(end: &PipeEnd, limit: usize, got: &mut Vec<Event>) -> bool {
    while let Some(event) = receive(end, Wait::Never, limit) {
        let last = matches!(event, Event::Malformed | Event::Disconnected);
        got.push(event);
        if last {
            return true;
        }
    }
    false
}

fuzz_target!(|data: &[u8]| {
    let [sel, lo, hi, stream @ ..] = data else {
        return;
    };
    let limit = LIMITS[*sel as usize % LIMITS.len()];
    let piece = 1 + usize::from(u16::from_le_bytes([*lo, *hi]));
    let config = ChannelConfig::default().max_message_size(limit);
    let (writer, reader) = Pipe::duplex(&config).expect("a socket pair");

    let mut got = Vec::new();
    let mut ended = false;
    'write: for chunk in stream.chunks(piece) {
        let mut done = 0;
        while done < chunk.len() {
            let rest = &chunk[done..];
            // SAFETY: sends from a live slice on the writer's descriptor;
            // MSG_NOSIGNAL: a reader that stopped reading is an error here,
            // not a signal.
            let n = unsafe {
                libc::send(
                    writer.as_raw_fd(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                done += n as usize;
            } else if std::io::Error::last_os_error().kind() == std::io::ErrorKind::BrokenPipe {
                // The reader found the stream malformed and stopped reading.
                break 'write;
            }
            if !ended {
                ended = receive_ready(&reader, limit, &mut got);
            }
        }
    }
    drop(writer);
    while !ended {
        let event = receive(&reader, Wait::timeout(std::time::Duration::from_secs(10)), limit)
            .expect("the receive path hung: no result 10 s after the writer closed");
        ended = matches!(event, Event::Malformed | Event::Disconnected);
        got.push(event);
    }
    if got.last() == Some(&Event::Malformed) {
        // Malformed is for good.
        assert_eq!(receive(&reader, Wait::Never, limit), Some(Event::Malformed));
    }
    assert_eq!(got, expected(stream, limit));
});
