//! The hub's writer to one member: a queue of messages and a thread that
//! sends them, so the hub never blocks on a member that is slow to read.

use std::{
    collections::VecDeque,
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread,
};

use ipc_channel::ipc::IpcSender;

use crate::wire::{Bytes, Down};

/// The most bytes of items one message carries (one ipc-channel fragment on
/// Linux is about 200 KiB; a larger message costs a socket pair).
pub(crate) const BATCH_BYTES: usize = 96 << 10;

struct Queue {
    msgs: VecDeque<Down>,
    closed: bool,
}

/// Messages on their way to one member, sent in order by its writer thread.
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    /// Starts the writer thread for `down`.
    pub(crate) fn start(down: IpcSender<Down>) -> std::io::Result<Arc<Outbox>> {
        let outbox = Arc::new(Outbox {
            queue: Mutex::new(Queue {
                msgs: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
        });
        let writer = Arc::clone(&outbox);
        thread::Builder::new()
            .name("transport-queue-writer".into())
            .spawn(move || writer.run(down))?;
        Ok(outbox)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `msg` for the member.
    pub(crate) fn push(&self, msg: Down) {
        let mut q = self.lock();
        if !q.closed {
            q.msgs.push_back(msg);
            drop(q);
            self.ready.notify_one();
        }
    }

    /// Stops the writer; whatever was not sent is dropped.
    pub(crate) fn close(&self) {
        let mut q = self.lock();
        q.closed = true;
        q.msgs.clear();
        drop(q);
        self.ready.notify_one();
    }

    fn run(&self, down: IpcSender<Down>) {
        loop {
            let mut q = self.lock();
            while q.msgs.is_empty() && !q.closed {
                q = self.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
            if q.closed {
                return;
            }
            let batch = coalesce(&mut q.msgs);
            drop(q);
            for msg in batch {
                if down.send(msg).is_err() {
                    // The member is gone; the hub learns it from the member's
                    // `up` channel closing, and closes this outbox.
                    self.close();
                    return;
                }
            }
        }
    }
}

/// Takes the queued messages, merging runs of item batches into messages of
/// up to [`BATCH_BYTES`], so a busy member gets few large messages.
fn coalesce(msgs: &mut VecDeque<Down>) -> Vec<Down> {
    let mut out: Vec<Down> = Vec::with_capacity(msgs.len());
    for msg in msgs.drain(..) {
        match (out.last_mut(), msg) {
            (Some(Down::Items(prev)), Down::Items(more))
                if bytes_of(prev) + bytes_of(&more) <= BATCH_BYTES =>
            {
                prev.extend(more);
            }
            (_, msg) => out.push(msg),
        }
    }
    out
}

fn bytes_of(frames: &[Bytes]) -> usize {
    frames.iter().map(|f| f.0.len() + 8).sum()
}
