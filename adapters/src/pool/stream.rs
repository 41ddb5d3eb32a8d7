//! The pool in async code: [`TaskFuture`] (`apply_future`), `map_async`,
//! and [`ResultStream`] (`imap_stream`), a `Stream` with the same bounded
//! window as `imap_unordered`. The pool's threads do the waiting; these
//! only take the answers (and give tasks without waiting for room), so
//! they suit any executor.

use std::{
    future::Future,
    iter::Fuse,
    pin::Pin,
    task::{Context, Poll},
};

use futures::{
    Stream, StreamExt,
    channel::mpsc::{self, UnboundedReceiver, UnboundedSender},
};
use transport_core::Message;

use super::{
    answers::{AnswerIter, Assembly, Reply},
    error::{TaskError, TaskErrorKind},
    handle::Pool,
    task::ReplyTo,
};

/// The result of one [`Pool::apply_future`]: a future that never blocks
/// the executor.
#[derive(Debug)]
pub struct TaskFuture<R> {
    rx: UnboundedReceiver<Reply<R>>,
}

impl<R> Future for TaskFuture<R> {
    type Output = Result<R, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.rx.poll_next_unpin(cx) {
            Poll::Ready(Some((_, answers))) => Poll::Ready(answers.first()),
            Poll::Ready(None) => Poll::Ready(Err(TaskErrorKind::Terminated.into())),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The answers of [`Pool::imap_stream`] as they come, each with the
/// position of its argument, at most [`window`](super::Builder::window)
/// tasks in the pool.
pub struct ResultStream<'p, A: Message + Send + 'static, R: Message + Send + 'static, I> {
    pool: &'p Pool<A, R>,
    input: Fuse<I>,
    /// `None` once the input is exhausted.
    tx: Option<UnboundedSender<Reply<R>>>,
    rx: UnboundedReceiver<Reply<R>>,
    /// The chunk being handed out: the position of its next answer, and
    /// its answers left.
    current: Option<(u64, AnswerIter<R>)>,
    submitted: u64,
    yielded: u64,
}

impl<A, R, I> ResultStream<'_, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A>,
{
    fn top_up(&mut self) {
        let chunksize = self.pool.chunksize();
        while self.submitted - self.yielded < self.pool.window_for(chunksize) as u64 {
            let Some(tx) = &self.tx else { return };
            let chunk: Vec<A> = self.input.by_ref().take(chunksize).collect();
            if chunk.is_empty() {
                self.tx = None;
                return;
            }
            let len = chunk.len() as u64;
            self.pool
                .submit(chunk, self.submitted, ReplyTo::Async(tx.clone()));
            self.submitted += len;
        }
    }
}

/// Nothing of the stream is pinned in place (its answers are only moved
/// out), so it is `Unpin` whatever the result type.
impl<A, R, I> Unpin for ResultStream<'_, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Unpin,
{
}

impl<A, R, I> Stream for ResultStream<'_, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
    I: Iterator<Item = A> + Unpin,
{
    type Item = (u64, Result<R, TaskError>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.top_up();
        if this.submitted == this.yielded {
            return Poll::Ready(None);
        }
        let answer = loop {
            if let Some((seq, answers)) = &mut this.current {
                if let Some(result) = answers.next() {
                    let answer = (*seq, result);
                    *seq += 1;
                    break answer;
                }
                this.current = None;
            }
            match this.rx.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some((seq, answers))) => this.current = Some((seq, answers.into_iter())),
                // Every task given answers, even when the pool stops.
                Poll::Ready(None) => break (this.yielded, Err(TaskErrorKind::Terminated.into())),
            }
        };
        this.yielded += 1;
        this.top_up();
        Poll::Ready(Some(answer))
    }
}

impl<A, R, I> std::fmt::Debug for ResultStream<'_, A, R, I>
where
    A: Message + Send + 'static,
    R: Message + Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultStream")
            .field("submitted", &self.submitted)
            .field("yielded", &self.yielded)
            .finish_non_exhaustive()
    }
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> Pool<A, R> {
    /// Runs the function on `arg` in a worker; await the result (the async
    /// [`apply_async`](Self::apply_async)).
    pub fn apply_future(&self, arg: A) -> TaskFuture<R> {
        let (tx, rx) = mpsc::unbounded();
        self.submit(vec![arg], 0, ReplyTo::Async(tx));
        TaskFuture { rx }
    }

    /// The async [`map`](Self::map): every argument is given to the pool
    /// now, and the future gives the results in the order of the
    /// arguments.
    pub fn map_async<I: IntoIterator<Item = A>>(
        &self,
        args: I,
    ) -> impl Future<Output = Vec<Result<R, TaskError>>> + Send + 'static {
        let (tx, mut rx) = mpsc::unbounded();
        let n = if self.picks_chunksize() {
            let args: Vec<A> = args.into_iter().collect();
            let chunksize = self.auto_chunksize_for(args.len());
            self.submit_all(args, chunksize, &ReplyTo::Async(tx))
        } else {
            self.submit_all(args, self.chunksize(), &ReplyTo::Async(tx))
        };
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        async move {
            // Every task answers once, even when the pool stops.
            let mut assembly = Assembly::new(n);
            let mut answered = 0;
            while answered < n {
                let Some(chunk) = rx.next().await else { break };
                answered += chunk.1.len();
                assembly.add(chunk);
            }
            assembly.finish()
        }
    }

    /// The async [`imap_unordered`](Self::imap_unordered): a `Stream` of
    /// the results as they come, each with the position of its argument.
    pub fn imap_stream<I: IntoIterator<Item = A>>(&self, args: I) -> ResultStream<'_, A, R, I::IntoIter> {
        let (tx, rx) = mpsc::unbounded();
        ResultStream {
            pool: self,
            input: args.into_iter().fuse(),
            tx: Some(tx),
            rx,
            current: None,
            submitted: 0,
            yielded: 0,
        }
    }
}
