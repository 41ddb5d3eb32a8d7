//! The operating-system layer: one connected, two-way byte stream between
//! two ends, and the hand-off of one end to a child process.
//!
//! Every platform provides a `Socket` with:
//! - `pair() -> io::Result<(Socket, Socket)>`: a connected pair that no
//!   other process can join;
//! - `send(&self, bufs, wait, on_readable) -> io::Result<usize>`: writes
//!   at least one byte of `bufs` (maybe all) unless `wait` runs out
//!   (`WouldBlock`); while it waits for room it calls `on_readable()`
//!   whenever incoming bytes are waiting, so the caller can drain them (a
//!   blocked writer must keep reading, or two ends that both write at once
//!   would wait for each other forever). `on_readable` returns whether to
//!   keep watching for incoming bytes. A departed peer is
//!   `ErrorKind::BrokenPipe` on every platform, and never a `SIGPIPE`;
//! - `recv(&self, buf, wait) -> io::Result<usize>`: reads at least one byte
//!   unless `wait` runs out (`WouldBlock`); `Ok(0)` is the end of the
//!   stream, the same on every platform (Windows' broken pipe included);
//! - `shutdown_read(&self)`: stops reading the peer for good (after a
//!   stream that lost its framing), so that its sends fail where the system
//!   allows it (Unix); elsewhere incoming bytes are read and dropped;
//! - `settle(&self, wait) -> io::Result<()>`: waits, as `wait` allows, until
//!   no write the socket reported done is still running in this process
//!   (Windows keeps an unfinished overlapped write; Unix has none), so the
//!   socket can move to another process;
//! - `handoff(self, cmd) -> io::Result<String>` and
//!   `open(payload) -> Result<Socket, OpenError>`: moving the socket to the
//!   child process `cmd` spawns, once: a second child spawned from the same
//!   `Command` does not get it, and the parent's copy does not outlive the
//!   child's start where the system lets the parent know it;
//! - the native handle traits (`AsFd`/`AsRawFd`, `AsHandle`/`AsRawHandle`)
//!   for async runtimes;
//! - with the `tokio` feature, `poll_read(&self, cx, attempt)`: calls
//!   `attempt` (a non-blocking read into the receive queue, true once a
//!   receive would return) whenever the socket may be readable, and
//!   registers `cx` to be woken when it may have become readable again
//!   (`async_fd.rs` on Unix, `zero_read.rs` on Windows);
//! - with the `tokio` feature, `watch_writes(&mut self)` (before any wait)
//!   and `poll_write(&self, cx)`: ready once the socket has room to write
//!   or the peer is gone, for an end in Python's framing, which writes from
//!   the sending task (Unix, through `async_fd.rs`; on Windows over TCP,
//!   through `named/windows_tcp_watch.rs`; on a Windows message-mode
//!   pipe, once the write before has ended, through `one_shot_wait.rs`,
//!   see `named/windows_message_socket.rs`).

#[cfg(unix)]
mod parent_copy;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::{CROSS_PROCESS, READINESS, Socket};

#[cfg(windows)]
mod claim;
#[cfg(windows)]
mod handoff_watch;
// Plain text, so its tests (and the fuzz target) run on every system.
#[cfg(any(unix, test, feature = "fuzzing"))]
mod fd_payload;
#[cfg(any(windows, test, feature = "fuzzing"))]
mod payload;
/// The hand-off payloads' parsers, for the fuzz target.
#[cfg(feature = "fuzzing")]
pub(crate) use {fd_payload::FdPayload, payload::Payload};
#[cfg(windows)]
mod windows;
#[cfg(windows)]
mod write_issuer;
/// What a hand-off does once told its child (`transport_core::spawned`),
/// given its payload (without the end's own fields): on Windows, where the
/// parent keeps the end's handle until the child takes it, close it if the
/// child exits first (`handoff_watch.rs`); on Unix, where the child
/// inherits the end and has claimed it by the time its spawn returns, close
/// the parent's copy at once rather than from the waiting thread
/// (`parent_copy.rs`).
#[cfg(windows)]
pub(crate) const WATCH_CHILD: Option<fn(&str, &std::process::Child) -> std::io::Result<()>> =
    Some(handoff_watch::watch_child);
#[cfg(unix)]
pub(crate) const WATCH_CHILD: Option<fn(&str, &std::process::Child) -> std::io::Result<()>> =
    Some(parent_copy::ParentCopy::child_spawned);
#[cfg(not(any(unix, windows)))]
pub(crate) const WATCH_CHILD: Option<fn(&str, &std::process::Child) -> std::io::Result<()>> = None;
#[cfg(windows)]
pub(crate) use windows::{CROSS_PROCESS, READINESS, Socket};

#[cfg(all(unix, feature = "tokio"))]
mod async_fd;
#[cfg(all(windows, feature = "tokio"))]
mod one_shot_wait;
#[cfg(all(windows, feature = "tokio"))]
mod registered_wait;
#[cfg(all(windows, feature = "tokio"))]
mod zero_read;

mod handles;
pub(crate) mod named;
pub(crate) use named::{StreamSocket, WRITE_BEHIND};

#[cfg(not(any(unix, windows)))]
mod unsupported;
#[cfg(not(any(unix, windows)))]
pub(crate) use unsupported::{CROSS_PROCESS, READINESS, Socket};

use std::time::Duration;

use transport_core::backend::Wait;

/// A wait in whole milliseconds for the operating system: rounded up, so a
/// wait never ends before its deadline; `None` is forever.
#[cfg_attr(not(any(unix, windows)), allow(dead_code))]
pub(crate) fn millis(wait: Wait) -> Option<u64> {
    wait.remaining().map(|left| {
        let ms = left.as_millis();
        let rounded = if Duration::from_millis(ms as u64) < left {
            ms + 1
        } else {
            ms
        };
        rounded.min(u128::from(u32::MAX / 2)) as u64
    })
}
