//! `Imap` and `ImapUnordered`: answers as iterators, with a bounded
//! number of tasks in the pool at any time.

use std::{collections::BTreeMap, iter::Fuse, sync::mpsc};

use transport_core::Message;

use super::{
    error::TaskError,
    handle::Pool,
    task::{Reply, ReplyTo},
};

/// The part `imap` and `imap_unordered` share: feeding the pool from the
/// input, at most `window` tasks ahead of the caller.
struct Feed<'p, A: Message + Send + 'static, R: Message + Send + 'static, I> {
    pool: &'p Pool<A, R>,
    input: Fuse<I>,
    /// `None` once the input is exhausted.
    tx: Option<mpsc::Sender<Reply<R>>>,
    rx: mpsc::Receiver<Reply<R>>,
    submitted: u64,
    /// Answers handed to the caller.
    yielded: u64,
    window: u64,
}

impl<'p, A, R, I> Feed<'p, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A>,
{
    fn new(pool: &'p Pool<A, R>, input: I) -> Self {
        let (tx, rx) = mpsc::channel();
        Feed {
            pool,
            input: input.fuse(),
            tx: Some(tx),
            rx,
            submitted: 0,
            yielded: 0,
            window: pool.window() as u64,
        }
    }

    /// Submits from the input while fewer than `window` tasks are given
    /// and not yet handed to the caller.
    fn top_up(&mut self) {
        while self.submitted - self.yielded < self.window {
            let Some(tx) = &self.tx else { return };
            match self.input.next() {
                Some(arg) => {
                    self.pool
                        .submit(arg, self.submitted, ReplyTo::Blocking(tx.clone()));
                    self.submitted += 1;
                }
                None => self.tx = None,
            }
        }
    }

    /// The next answer to arrive. Every task given answers, even when the
    /// pool stops (see `Task`'s `Drop`), so this waits only for the pool.
    fn next_answer(&mut self) -> Reply<R> {
        self.rx
            .recv()
            .unwrap_or((self.submitted, Err(TaskError::Terminated)))
    }
}

/// The answers of [`Pool::imap`], in the order of the input.
pub struct Imap<'p, A: Message + Send + 'static, R: Message + Send + 'static, I> {
    feed: Feed<'p, A, R, I>,
    /// Answers that came before an earlier one.
    parked: BTreeMap<u64, Result<R, TaskError>>,
}

impl<'p, A, R, I> Imap<'p, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A>,
{
    pub(crate) fn new(pool: &'p Pool<A, R>, input: I) -> Self {
        Imap {
            feed: Feed::new(pool, input),
            parked: BTreeMap::new(),
        }
    }
}

impl<A, R, I> Iterator for Imap<'_, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A>,
{
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.feed.top_up();
        loop {
            if let Some(result) = self.parked.remove(&self.feed.yielded) {
                self.feed.yielded += 1;
                self.feed.top_up();
                return Some(result);
            }
            if self.feed.submitted == self.feed.yielded {
                return None;
            }
            let (seq, result) = self.feed.next_answer();
            self.parked.insert(seq, result);
        }
    }
}

impl<A, R, I> std::fmt::Debug for Imap<'_, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imap")
            .field("submitted", &self.feed.submitted)
            .field("yielded", &self.feed.yielded)
            .finish_non_exhaustive()
    }
}

/// The answers of [`Pool::imap_unordered`] as they come, each with the
/// position of its argument in the input.
pub struct ImapUnordered<'p, A: Message + Send + 'static, R: Message + Send + 'static, I> {
    feed: Feed<'p, A, R, I>,
}

impl<'p, A, R, I> ImapUnordered<'p, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A>,
{
    pub(crate) fn new(pool: &'p Pool<A, R>, input: I) -> Self {
        ImapUnordered {
            feed: Feed::new(pool, input),
        }
    }
}

impl<A, R, I> Iterator for ImapUnordered<'_, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A>,
{
    type Item = (u64, Result<R, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        self.feed.top_up();
        if self.feed.submitted == self.feed.yielded {
            return None;
        }
        let answer = self.feed.next_answer();
        self.feed.yielded += 1;
        self.feed.top_up();
        Some(answer)
    }
}

impl<A, R, I> std::fmt::Debug for ImapUnordered<'_, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapUnordered")
            .field("submitted", &self.feed.submitted)
            .field("yielded", &self.feed.yielded)
            .finish_non_exhaustive()
    }
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> Pool<A, R> {
    /// The results of the function on every argument, in the order of the
    /// arguments, as an iterator that keeps at most
    /// [`window`](super::Builder::window) tasks in the pool (Python's `imap`).
    pub fn imap<I: IntoIterator<Item = A>>(&self, args: I) -> Imap<'_, A, R, I::IntoIter> {
        Imap::new(self, args.into_iter())
    }

    /// The results as they come, each with the position of its argument,
    /// keeping at most [`window`](super::Builder::window) tasks in the pool
    /// (Python's `imap_unordered`).
    pub fn imap_unordered<I: IntoIterator<Item = A>>(&self, args: I) -> ImapUnordered<'_, A, R, I::IntoIter> {
        ImapUnordered::new(self, args.into_iter())
    }
}
