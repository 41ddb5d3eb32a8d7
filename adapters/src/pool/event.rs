//! `Event`: what the pool's dispatcher thread is told, by the pool's
//! handle and by the threads that read the workers' results.

use super::task::Task;

/// One thing for the dispatcher to act on.
pub(crate) enum Event<A, R> {
    /// New chunks of tasks, in order, from a caller that found the pool's
    /// state locked (by its thread): a caller never waits for that lock.
    Submit(Vec<Task<A, R>>),
    /// Worker `slot` (its generation `generation`) ended its initializer
    /// (returned or panicked: its reader wrote which in its book).
    Initialized { slot: usize, generation: u64 },
    /// Worker `slot` answered a chunk, which its reader took off its book
    /// and gave to the caller; told only when the dispatcher has something
    /// to do about it (see `book.rs`).
    Answered { slot: usize, generation: u64 },
    /// Worker `slot` sent something that is not an answer.
    Malformed {
        slot: usize,
        generation: u64,
        reason: String,
    },
    /// Worker `slot`'s result channel is disconnected: the worker is gone,
    /// and every answer it sent came before this.
    Gone { slot: usize, generation: u64 },
    /// A caller offered chunks to the workers itself (`Dispatcher::submit`)
    /// and the pool has a task timeout: the pool's thread reckons its next
    /// wake-up again.
    Offered,
    /// Finish the tasks given, then stop the workers.
    Close,
    /// Kill the workers now.
    Terminate,
}
