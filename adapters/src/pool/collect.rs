//! `Collector`: where the chunks of one blocking `map` gather. The caller
//! sleeps until the last one is in (or no one is left to answer), so a
//! `map` of many chunks wakes it once, not once per chunk.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::answers::Reply;

/// The chunks of one `map`, as the pool's thread hands them over.
pub(crate) struct Collector<R> {
    shared: Arc<Shared<R>>,
}

/// One sending side of a [`Collector`]: every chunk of the `map` holds
/// one (through its `ReplyTo`); when the last goes, the caller is woken
/// whatever has come.
pub(crate) struct CollectTx<R> {
    shared: Arc<Shared<R>>,
}

struct Shared<R> {
    state: Mutex<State<R>>,
    woken: Condvar,
}

struct State<R> {
    chunks: Vec<Reply<R>>,
    /// Tasks answered so far.
    answered: usize,
    /// Tasks the caller waits for; unknown (the maximum) until it waits.
    expected: usize,
    /// Live [`CollectTx`] handles.
    senders: usize,
}

impl<R> Shared<R> {
    /// The state; a panic elsewhere while it was held leaves chunks that
    /// are still whole, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<R> Collector<R> {
    pub fn new() -> Self {
        Collector {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    chunks: Vec::new(),
                    answered: 0,
                    expected: usize::MAX,
                    senders: 0,
                }),
                woken: Condvar::new(),
            }),
        }
    }

    /// A sending side.
    pub fn sender(&self) -> CollectTx<R> {
        self.shared.lock().senders += 1;
        CollectTx {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Waits until `n` tasks are answered, or every sending side is gone
    /// (the chunks not answered then are the caller's to fill); the
    /// chunks, in the order they came.
    pub fn wait(self, n: usize) -> Vec<Reply<R>> {
        let mut state = self.shared.lock();
        state.expected = n;
        while state.answered < n && state.senders > 0 {
            state = self
                .shared
                .woken
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        std::mem::take(&mut state.chunks)
    }
}

impl<R> CollectTx<R> {
    /// Hands over one chunk's answers; wakes the caller if that was the
    /// last it waits for.
    pub fn send(&self, reply: Reply<R>) {
        let mut state = self.shared.lock();
        state.answered += reply.1.len();
        state.chunks.push(reply);
        if state.answered >= state.expected {
            self.shared.woken.notify_one();
        }
    }
}

impl<R> Clone for CollectTx<R> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        CollectTx {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<R> Drop for CollectTx<R> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        if state.senders == 0 {
            self.shared.woken.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{answers::Answers, error::TaskError};

    fn chunk(seq: u64, len: usize) -> Reply<u64> {
        (
            seq,
            Answers::Failed {
                len,
                error: TaskError::Terminated,
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
                        tx.send(chunk(t * 100 + k, 3));
                    }
                })
            })
            .collect();
        let chunks = collector.wait(120);
        assert_eq!(chunks.iter().map(|c| c.1.len()).sum::<usize>(), 120);
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
        let chunks = collector.wait(10);
        assert_eq!(chunks.len(), 1);
        thread.join().expect("the sender thread");
    }
}
