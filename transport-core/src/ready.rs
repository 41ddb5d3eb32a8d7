//! Readiness for async runtimes, with no runtime in this crate.
//!
//! An async adapter drives a backend with the non-blocking calls
//! (`recv_frame(Wait::Never)`, `send_frame(Wait::Never, ..)`) and, when one
//! reports `NotReady`, waits for the end to become ready through these
//! traits before trying again.

use std::{
    io,
    task::{Context, Poll},
};

use crate::raw::{RawReceiver, RawSender};

/// A receiving end that can tell an async task when to try again.
///
/// # Contract (both traits)
/// - `poll_*_ready` returns `Ready(Ok(()))` when the matching non-blocking
///   call may now make progress: for receiving, a frame is available or the
///   channel is disconnected or broken; for sending, there is room or the
///   channel is disconnected or broken.
/// - Otherwise it arranges for `cx.waker()` to be woken when that may have
///   changed, and returns `Pending`. The waker of the latest call on an end
///   is the one woken (as with tokio's `AsyncFd`); several tasks waiting on
///   one end must each call again after a wake-up.
/// - Wake-ups may be spurious; a lost wake-up is a bug (register, then check
///   again).
/// - No thread per channel or per message: a backend uses the runtime's
///   reactor (through an optional feature), its own existing threads, or at
///   most one bridge thread per process that waits for all its ends at once.
/// - `Ready(Err(_))` means readiness cannot be tracked (the reactor refused
///   the descriptor, say); the adapter reports it as an operating-system
///   error of the operation.
pub trait PollRecv: RawReceiver {
    /// See the contract on [`PollRecv`].
    fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// As [`poll_recv_ready`](Self::poll_recv_ready), for a caller that
    /// waits on several ends at once and spins over them itself
    /// ([`Select`](crate::Select), [`wait`](crate::wait)): an end that
    /// would spin on its own before it registers (shared memory) registers
    /// at once, so that looking at idle ends does not hold up the look at
    /// the one that is ready. The default is `poll_recv_ready`.
    fn register_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_recv_ready(cx)
    }

    /// Whether a receive would make progress now (as `poll_recv_ready`'s
    /// `Ready`), looked at without waiting, registering or a system call:
    /// what a caller spinning over several ends reads. `None` (the
    /// default) when the end cannot tell that cheaply.
    fn recv_ready_now(&self) -> Option<bool> {
        None
    }
}

/// A sending end that can tell an async task when to try again.
pub trait PollSend: RawSender {
    /// See the contract on [`PollRecv`].
    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}
