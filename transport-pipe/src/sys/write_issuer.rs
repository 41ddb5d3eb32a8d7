//! Windows: the thread that starts a pipe end's writes, so that a write
//! left running when a send returns does not depend on the thread that
//! sent.
//!
//! An overlapped operation on a handle that is not tied to a completion
//! port belongs to the thread that started it, and Windows cancels it when
//! that thread exits (Wine does the same). A send returns as soon as the
//! kernel has its bytes, with the write maybe still running until the peer
//! reads (see `windows.rs`): had the sending thread started it, a thread
//! that sends and then ends would cancel its last write part way, losing
//! the rest of a frame and breaking the stream. So every `WriteFile` of an
//! end is started by this thread, which lives as long as the end's socket
//! and ends only after the socket waited for (or cancelled) its last write.
//! The sender still waits for the write itself (`GetOverlappedResult` and
//! `CancelIoEx` work from any thread); only the start moves.

use std::{
    io,
    sync::{Mutex, mpsc},
    thread::{self, JoinHandle},
};
use transport_core::sync::LockExt;

use windows_sys::Win32::{
    Foundation::{GetLastError, HANDLE},
    Storage::FileSystem::WriteFile,
    System::IO::OVERLAPPED,
};

/// One write to start.
struct Request {
    pipe: HANDLE,
    data: *const u8,
    len: u32,
    ov: *mut OVERLAPPED,
}

// SAFETY: the handle is process-wide and usable from any thread; the
// buffer and the `OVERLAPPED` stay alive and untouched by the sender until
// the operation is over (see `Issuer::write`), and the sender waits for the
// reply before it goes on.
unsafe impl Send for Request {}

/// What `WriteFile` returned: whether it finished at once, and the error
/// code if not (`ERROR_IO_PENDING` when it runs on).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Started {
    pub(crate) ok: bool,
    pub(crate) code: u32,
}

/// The issuing thread, started on the first write.
pub(crate) struct Issuer {
    running: Mutex<Option<Running>>,
}

struct Running {
    requests: mpsc::Sender<Request>,
    /// How each start went, in order: one request is out at a time (the
    /// `running` lock is held from the request to its reply), so this
    /// channel serves every write without one made per write.
    replies: mpsc::Receiver<Started>,
    thread: JoinHandle<()>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let started = self.running.lock_unpoisoned().is_some();
        f.debug_struct("Issuer").field("started", &started).finish()
    }
}

impl Issuer {
    pub(crate) fn new() -> Issuer {
        Issuer {
            running: Mutex::new(None),
        }
    }

    /// Starts `WriteFile(pipe, data, len, ov)` on the issuing thread and
    /// returns what it returned.
    ///
    /// # Safety
    ///
    /// `data` must be readable for `len` bytes and `ov` a valid, unused
    /// `OVERLAPPED` of `pipe`, both staying alive and unmoved until the
    /// write is over (the caller waits for it, or cancels it and waits),
    /// and `pipe` must stay open that long.
    pub(crate) unsafe fn write(
        &self,
        pipe: HANDLE,
        data: *const u8,
        len: u32,
        ov: *mut OVERLAPPED,
    ) -> io::Result<Started> {
        let request = Request { pipe, data, len, ov };
        let stopped = || io::Error::other("the pipe's write thread stopped");
        let mut running = self.running.lock_unpoisoned();
        if running.is_none() {
            *running = Some(spawn()?);
        }
        let Some(thread) = running.as_ref() else {
            unreachable!("started just above")
        };
        thread.requests.send(request).map_err(|_| stopped())?;
        thread.replies.recv().map_err(|_| stopped())
    }
}

fn spawn() -> io::Result<Running> {
    let (requests, incoming) = mpsc::channel::<Request>();
    let (reply, replies) = mpsc::channel::<Started>();
    let thread = thread::Builder::new()
        .name("transport-pipe-write".into())
        .spawn(move || {
            for r in incoming {
                // SAFETY: `Issuer::write`'s contract: the buffer, the
                // OVERLAPPED and the handle outlive the operation.
                let ok = unsafe { WriteFile(r.pipe, r.data, r.len, std::ptr::null_mut(), r.ov) } != 0;
                // SAFETY: GetLastError has no preconditions.
                let code = if ok { 0 } else { unsafe { GetLastError() } };
                let _ = reply.send(Started { ok, code });
            }
        })?;
    Ok(Running {
        requests,
        replies,
        thread,
    })
}

impl Drop for Issuer {
    /// The socket drops this after its last write is over (see the field
    /// order of `Socket`): the thread ends with nothing left to cancel.
    fn drop(&mut self) {
        if let Some(Running { requests, thread, .. }) = self.running.lock_unpoisoned().take() {
            drop(requests);
            let _ = thread.join();
        }
    }
}
