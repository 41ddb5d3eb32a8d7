//! `Collector`: where the chunks of one blocking `map` gather. The caller
//! puts them in order as they come, woken once [`WAKE_AFTER`] answers
//! wait for it (so a `map` of many small chunks does not wake it once per
//! chunk), and returns when the last is in or no one is left to answer.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::{
    answers::{Assembly, Reply},
    error::TaskError,
};

/// How many answers wait before the sleeping caller is woken to copy
/// them while the rest come: enough that a wake-up costs little beside
/// the copy.
const WAKE_AFTER: usize = 4096;

/// The chunks of one `map`, as the workers' readers hand them over.
pub(crate) struct Collector<R> {
    shared: Arc<Shared<R>>,
}

/// One sending side of a [`Collector`]: every chunk of the `map` holds
/// one (through its `ReplyTo`), and gives it up with its answers; when the
/// last goes, the caller is woken whatever has come.
pub(crate) struct CollectTx<R> {
    /// `None` once it has sent (and so let go).
    shared: Option<Arc<Shared<R>>>,
}

struct Shared<R> {
    state: Mutex<State<R>>,
    woken: Condvar,
}

struct State<R> {
    chunks: Vec<Reply<R>>,
    /// Tasks `chunks` answers.
    waiting: usize,
    /// Tasks answered so far.
    answered: usize,
    /// Tasks the caller waits for; unknown (the maximum) until it waits.
    expected: usize,
    /// Live [`CollectTx`] handles.
    senders: usize,
    /// Whether the caller sleeps, to be woken by the next chunk.
    sleeping: bool,
}

impl<R> Shared<R> {
    /// The state; a panic elsewhere while it was held leaves chunks that
    /// are still whole, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One sending side goes, with `reply` if it brings one: one lock for
    /// both, and the caller woken after it is released (woken under it,
    /// the caller would only wait again, for the lock).
    fn leave(&self, reply: Option<Reply<R>>) {
        let wake = {
            let mut state = self.lock();
            if let Some(reply) = reply {
                state.answered += reply.1.len();
                state.waiting += reply.1.len();
                state.chunks.push(reply);
            }
            state.senders -= 1;
            let wake = state.sleeping
                && (state.waiting >= WAKE_AFTER || state.answered >= state.expected || state.senders == 0);
            if wake {
                state.sleeping = false;
            }
            wake
        };
        if wake {
            self.woken.notify_one();
        }
    }
}

impl<R> Collector<R> {
    pub fn new() -> Self {
        Collector {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    chunks: Vec::new(),
                    waiting: 0,
                    answered: 0,
                    expected: usize::MAX,
                    senders: 0,
                    sleeping: false,
                }),
                woken: Condvar::new(),
            }),
        }
    }

    /// A sending side.
    pub fn sender(&self) -> CollectTx<R> {
        self.shared.lock().senders += 1;
        CollectTx {
            shared: Some(Arc::clone(&self.shared)),
        }
    }

    /// The answers of `n` tasks, in order: waits until every one is
    /// answered, or every sending side is gone (a task not answered then
    /// is `Terminated`).
    pub fn wait(self, n: usize) -> Vec<Result<R, TaskError>> {
        let mut assembly = Assembly::new(n);
        loop {
            let (chunks, last) = {
                let mut state = self.shared.lock();
                state.expected = n;
                while state.waiting < WAKE_AFTER && state.answered < n && state.senders > 0 {
                    state.sleeping = true;
                    state = self
                        .shared
                        .woken
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                state.sleeping = false;
                let last = state.answered >= n || state.senders == 0;
                state.waiting = 0;
                (std::mem::take(&mut state.chunks), last)
            };
            // Copied with the lock released, while other chunks come.
            for chunk in chunks {
                assembly.add(chunk);
            }
            if last {
                return assembly.finish();
            }
        }
    }
}

impl<R> CollectTx<R> {
    /// Hands over one chunk's answers, and lets go; wakes the caller if
    /// enough answers wait for it, or that was the last it waits for.
    pub fn send(mut self, reply: Reply<R>) {
        if let Some(shared) = self.shared.take() {
            shared.leave(Some(reply));
        }
    }
}

impl<R> Clone for CollectTx<R> {
    fn clone(&self) -> Self {
        if let Some(shared) = &self.shared {
            shared.lock().senders += 1;
        }
        CollectTx {
            shared: self.shared.clone(),
        }
    }
}

impl<R> Drop for CollectTx<R> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.leave(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{
        answers::Answers,
        error::{TaskError, TaskErrorKind},
    };

    /// The chunk of `len` tasks from `seq`, each answering its number.
    fn chunk(seq: u64, len: u64) -> Reply<u64> {
        (
            seq,
            Answers::Done {
                values: (seq..seq + len).collect(),
                failed: Vec::new(),
            },
        )
    }

    #[test]
    fn the_caller_gets_every_chunk_sent_from_other_threads() {
        let collector = Collector::new();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let tx = collector.sender();
                std::thread::spawn(move || {
                    for k in 0..10 {
                        tx.clone().send(chunk((k * 4 + t) * 3, 3));
                    }
                })
            })
            .collect();
        let results = collector.wait(120);
        let values: Vec<u64> = results.into_iter().map(|r| r.expect("answered")).collect();
        assert_eq!(values, (0..120).collect::<Vec<_>>());
        for thread in threads {
            thread.join().expect("a sender thread");
        }
    }

    #[test]
    fn the_caller_is_woken_when_every_sender_is_gone() {
        let collector = Collector::new();
        let tx = collector.sender();
        let thread = std::thread::spawn(move || {
            tx.send(chunk(0, 2));
            // Dropped with 8 of 10 tasks never answered.
        });
        let results = collector.wait(10);
        assert!(matches!(results[..2], [Ok(0), Ok(1)]));
        assert!(results[2..].iter().all(|r| matches!(
            r.as_ref().map_err(TaskError::kind),
            Err(TaskErrorKind::Terminated)
        )));
        thread.join().expect("the sender thread");
    }
}
