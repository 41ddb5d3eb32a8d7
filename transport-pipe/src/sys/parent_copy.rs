//! Unix: the parent's copy of an end handed to a child, kept until the
//! child has claimed it (see the hand-off in `unix.rs`).
//!
//! The copy is closed by whichever comes first: a thread that waits for
//! the claim (or for the `Command` to go, unspawned), so a plain
//! `Command::spawn` needs nothing more; or the parent telling the
//! hand-off its child (`transport_core::spawned`, which
//! `CommandExt::start` calls). A spawn returns only after the child's
//! `exec`, and the child answers the claim before that, so the second way
//! closes the copy before `start` returns: nothing of the end stays in the
//! parent for a scheduler to delay.

use std::{
    collections::BTreeMap,
    io,
    os::fd::{AsRawFd, OwnedFd},
    sync::{Arc, Mutex, PoisonError},
    thread,
};

/// The parent's copy of one handed-off end.
#[derive(Debug)]
pub(crate) struct ParentCopy {
    /// The payload the child was given: unique while the copy is open, as
    /// it names the copy's descriptor.
    payload: String,
    /// `None` once closed.
    copy: Mutex<Option<OwnedFd>>,
    /// Readable once the child has answered the claim, or when the
    /// `Command` (which holds the claim's other side) is gone.
    watch: OwnedFd,
}

/// The copies not yet closed, by payload.
static WAITING: Mutex<BTreeMap<String, Arc<ParentCopy>>> = Mutex::new(BTreeMap::new());

impl ParentCopy {
    /// Keeps `copy` until the claim's other side answers on `watch`.
    ///
    /// # Errors
    /// When no thread can be started; `copy` is closed then, as no child
    /// can have it yet.
    pub(crate) fn keep(payload: String, copy: OwnedFd, watch: OwnedFd) -> io::Result<()> {
        let kept = Arc::new(ParentCopy {
            payload,
            copy: Mutex::new(Some(copy)),
            watch,
        });
        lock().insert(kept.payload.clone(), Arc::clone(&kept));
        let waiter = Arc::clone(&kept);
        let started = thread::Builder::new()
            .name("transport-pipe-handoff".into())
            .spawn(move || waiter.close_when_claimed());
        if let Err(e) = started {
            kept.close();
            return Err(e);
        }
        Ok(())
    }

    /// `transport_core::spawned` for the end handed with `payload`: closes
    /// the copy if the child has claimed it, which it has once its spawn
    /// returned.
    ///
    /// # Errors
    /// When the claim cannot be polled; the waiting thread still closes
    /// the copy then.
    pub(crate) fn child_spawned(payload: &str, _child: &std::process::Child) -> io::Result<()> {
        let kept = lock().get(payload).cloned();
        if let Some(kept) = kept
            && kept.answered(0)?
        {
            kept.close();
        }
        Ok(())
    }

    /// Waits, without a time limit, for the claim's answer, then closes.
    fn close_when_claimed(&self) {
        loop {
            match self.answered(-1) {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // Cannot wait: keep the copy open for good rather than
                    // close a descriptor a child may still be about to take
                    // (its number could be reused meanwhile).
                    self.forget();
                    return;
                }
            }
        }
        self.close();
    }

    /// Whether the claim's answer (or its end) is there, waiting at most
    /// `millis` (-1: no limit).
    fn answered(&self, millis: libc::c_int) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.watch.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, and its count.
        match unsafe { libc::poll(&raw mut pfd, 1, millis) } {
            -1 => Err(io::Error::last_os_error()),
            0 => Ok(false),
            _ => Ok(true),
        }
    }

    /// Closes the copy (once) and forgets it.
    fn close(&self) {
        let copy = self.take();
        drop(copy);
    }

    /// Leaves the copy open for good and forgets it.
    fn forget(&self) {
        if let Some(copy) = self.take() {
            std::mem::forget(copy);
        }
    }

    /// Takes the copy out of the registry and out of `self`.
    fn take(&self) -> Option<OwnedFd> {
        let mut waiting = lock();
        if waiting
            .get(&self.payload)
            .is_some_and(|w| std::ptr::eq(Arc::as_ptr(w), self))
        {
            waiting.remove(&self.payload);
        }
        drop(waiting);
        self.copy.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

fn lock() -> std::sync::MutexGuard<'static, BTreeMap<String, Arc<ParentCopy>>> {
    WAITING.lock().unwrap_or_else(PoisonError::into_inner)
}
