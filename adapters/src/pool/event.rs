//! `Event`: what the pool's dispatcher thread is told, by the pool's
//! handle and by the threads that read the workers' results.

use super::task::Task;

/// One thing for the dispatcher to act on.
pub(crate) enum Event<A, R> {
    /// A new task.
    Submit(Task<A, R>),
    /// Worker `slot` (its generation `generation`) answered task `id`.
    Answer {
        slot: usize,
        generation: u64,
        id: u64,
        outcome: Result<R, String>,
    },
    /// Worker `slot` sent something that is not an answer.
    Malformed {
        slot: usize,
        generation: u64,
        reason: String,
    },
    /// Worker `slot`'s result channel is disconnected: the worker is gone,
    /// and every answer it sent came before this.
    Gone { slot: usize, generation: u64 },
    /// Finish the tasks given, then stop the workers.
    Close,
    /// Kill the workers now.
    Terminate,
}
