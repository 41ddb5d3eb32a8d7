//! `Imap` and `ImapUnordered`: answers as iterators, with a bounded
//! number of tasks in the pool at any time.

use std::{collections::BTreeMap, iter::Fuse, sync::mpsc};

use transport_core::Message;

use super::{
    answers::{AnswerIter, Answers, Reply},
    error::{TaskError, TaskErrorKind},
    handle::Pool,
    task::ReplyTo,
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
    chunksize: usize,
}

impl<'p, A, R, I> Feed<'p, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A>,
{
    fn new(pool: &'p Pool<A, R>, input: I, chunksize: usize) -> Self {
        let (tx, rx) = mpsc::channel();
        let chunksize = chunksize.max(1);
        Feed {
            pool,
            input: input.fuse(),
            tx: Some(tx),
            rx,
            submitted: 0,
            yielded: 0,
            window: pool.window_for(chunksize) as u64,
            chunksize,
        }
    }

    /// Submits chunks from the input while fewer than `window` tasks are
    /// given and not yet handed to the caller.
    fn top_up(&mut self) {
        while self.submitted - self.yielded < self.window {
            let Some(tx) = &self.tx else { return };
            let chunk: Vec<A> = self.input.by_ref().take(self.chunksize).collect();
            if chunk.is_empty() {
                self.tx = None;
                return;
            }
            let len = chunk.len() as u64;
            self.pool
                .submit(chunk, self.submitted, ReplyTo::Blocking(tx.clone()));
            self.submitted += len;
        }
    }

    /// The next chunk's answers to arrive. Every task given answers, even
    /// when the pool stops (see `Task`'s `Drop`), so this waits only for
    /// the pool.
    fn next_answers(&mut self) -> Reply<R> {
        self.rx.recv().unwrap_or((
            self.yielded,
            Answers::Failed {
                len: 1,
                error: TaskErrorKind::Terminated.into(),
            },
        ))
    }
}

/// The answers of [`Pool::imap`], in the order of the input.
pub struct Imap<'p, A: Message + Send + 'static, R: Message + Send + 'static, I> {
    feed: Feed<'p, A, R, I>,
    /// Chunks that came before an earlier one, by their first position.
    parked: BTreeMap<u64, Answers<R>>,
    /// The answers left of the chunk being handed out.
    current: Option<AnswerIter<R>>,
}

impl<'p, A, R, I> Imap<'p, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A>,
{
    pub(crate) fn new(pool: &'p Pool<A, R>, input: I, chunksize: usize) -> Self {
        Imap {
            feed: Feed::new(pool, input, chunksize),
            parked: BTreeMap::new(),
            current: None,
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
            if let Some(result) = self.current.as_mut().and_then(Iterator::next) {
                self.feed.yielded += 1;
                self.feed.top_up();
                return Some(result);
            }
            self.current = None;
            if let Some(answers) = self.parked.remove(&self.feed.yielded) {
                self.current = Some(answers.into_iter());
                continue;
            }
            if self.feed.submitted == self.feed.yielded {
                return None;
            }
            let (seq, answers) = self.feed.next_answers();
            self.parked.insert(seq, answers);
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
    /// The chunk being handed out: the position of its next answer, and
    /// its answers left.
    current: Option<(u64, AnswerIter<R>)>,
}

impl<'p, A, R, I> ImapUnordered<'p, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A>,
{
    pub(crate) fn new(pool: &'p Pool<A, R>, input: I, chunksize: usize) -> Self {
        ImapUnordered {
            feed: Feed::new(pool, input, chunksize),
            current: None,
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
        let answer = loop {
            if let Some((seq, answers)) = &mut self.current
                && let Some(result) = answers.next()
            {
                let answer = (*seq, result);
                *seq += 1;
                break answer;
            }
            let (seq, answers) = self.feed.next_answers();
            self.current = Some((seq, answers.into_iter()));
        };
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
    /// [`window`](super::Builder::window) tasks in the pool (Python's `imap`),
    /// in chunks of the pool's [`chunksize`](super::Builder::chunksize).
    pub fn imap<I: IntoIterator<Item = A>>(&self, args: I) -> Imap<'_, A, R, I::IntoIter> {
        Imap::new(self, args.into_iter(), self.chunksize())
    }

    /// [`imap`](Self::imap) with `chunksize` tasks in a message for this
    /// call. The window is never less than a full prefetch of chunks for
    /// every worker.
    pub fn imap_chunked<I: IntoIterator<Item = A>>(
        &self,
        args: I,
        chunksize: usize,
    ) -> Imap<'_, A, R, I::IntoIter> {
        Imap::new(self, args.into_iter(), chunksize)
    }

    /// The results as they come, each with the position of its argument,
    /// keeping at most [`window`](super::Builder::window) tasks in the pool
    /// (Python's `imap_unordered`), in chunks of the pool's
    /// [`chunksize`](super::Builder::chunksize): the results of a chunk
    /// come together.
    pub fn imap_unordered<I: IntoIterator<Item = A>>(&self, args: I) -> ImapUnordered<'_, A, R, I::IntoIter> {
        ImapUnordered::new(self, args.into_iter(), self.chunksize())
    }

    /// [`imap_unordered`](Self::imap_unordered) with `chunksize` tasks in a
    /// message for this call.
    pub fn imap_unordered_chunked<I: IntoIterator<Item = A>>(
        &self,
        args: I,
        chunksize: usize,
    ) -> ImapUnordered<'_, A, R, I::IntoIter> {
        ImapUnordered::new(self, args.into_iter(), chunksize)
    }
}
