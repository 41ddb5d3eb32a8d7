//! Windows, feature `tokio`: readiness of a TCP connection for async tasks
//! (and a blocking `Select`), through `WSAEventSelect`.
//!
//! The socket's network events (data, room after a send that found none,
//! the peer's close) signal an event that the system thread pool waits on
//! (`registered_wait.rs`), whose callback wakes the waiting tasks. The
//! socket stays the crate's own, non-blocking, read and written by
//! `windows_tcp.rs` as before: nothing else issues reads of its own.
//!
//! Every wait selects the events of the sides that wait (data and close
//! for a receiving task, room and close for a sending one: a writable
//! socket would otherwise signal a receiving task again and again) before
//! it tries: `WSAEventSelect` records at once a condition that already
//! holds, and a receive or send that finds nothing re-enables its event,
//! so an arrival after the try signals the event. The waker is stored
//! before either, so a signal from then on wakes the task.

use std::{
    io,
    sync::Mutex,
    task::{Context, Poll},
};

use transport_core::sync::LockExt;
use windows_sys::Win32::Networking::WinSock::{
    FD_CLOSE, FD_READ, FD_WRITE, SOCKET, SOCKET_ERROR, WSAEventSelect, WSAGetLastError,
};

use crate::sys::registered_wait::RegisteredWait;
pub(crate) use crate::sys::registered_wait::Side;

/// The registered wait of one socket, made on its first wait, and which
/// sides wait now.
#[derive(Default)]
pub(crate) struct TcpWatch {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    wait: Option<RegisteredWait>,
    /// Whether a task of each side ([`Side`]) is waiting.
    waiting: [bool; 2],
}

impl std::fmt::Debug for TcpWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock_unpoisoned();
        f.debug_struct("TcpWatch")
            .field("armed", &state.wait.is_some())
            .field("waiting", &state.waiting)
            .finish()
    }
}

impl TcpWatch {
    /// Calls `attempt` (a try without waiting; `true` once `side` is
    /// ready) after arranging for `cx` to be woken by the next network
    /// event of `socket` for that side; `Pending` when it says not yet.
    pub(crate) fn poll(
        &self,
        socket: SOCKET,
        side: Side,
        cx: &mut Context<'_>,
        attempt: &mut dyn FnMut() -> bool,
    ) -> Poll<io::Result<()>> {
        let mut state = self.state.lock_unpoisoned();
        if state.wait.is_none() {
            match RegisteredWait::new() {
                Ok(w) => state.wait = Some(w),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        state.waiting[side as usize] = true;
        let mut mask = FD_CLOSE;
        if state.waiting[Side::Recv as usize] {
            mask |= FD_READ;
        }
        if state.waiting[Side::Send as usize] {
            mask |= FD_WRITE;
        }
        let Some(registered) = state.wait.as_ref() else {
            unreachable!("registered just above")
        };
        registered.set_waker(side, cx.waker());
        // SAFETY: `socket` is the caller's open socket and the event is
        // ours, alive until the watch drops (which the socket does before
        // it closes); the mask names the events that signal it.
        let selected = unsafe { WSAEventSelect(socket, registered.event() as isize, mask as i32) };
        if selected == SOCKET_ERROR {
            state.waiting[side as usize] = false;
            // SAFETY: WSAGetLastError has no preconditions.
            return Poll::Ready(Err(io::Error::from_raw_os_error(unsafe { WSAGetLastError() })));
        }
        drop(state);
        if attempt() {
            self.state.lock_unpoisoned().waiting[side as usize] = false;
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}
