//! The pool in async code: [`TaskFuture`] (`apply_future`), `map_async`,
//! and [`ResultStream`] (`imap_stream`), a `Stream` with the same bounded
//! window as `imap_unordered`. The pool's thread does the waiting; these
//! only take its answers, so they suit any executor.

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
    error::TaskError,
    handle::Pool,
    task::{Reply, ReplyTo},
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
            Poll::Ready(Some((_, result))) => Poll::Ready(result),
            Poll::Ready(None) => Poll::Ready(Err(TaskError::Terminated)),
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
        while self.submitted - self.yielded < self.pool.window() as u64 {
            let Some(tx) = &self.tx else { return };
            match self.input.next() {
                Some(arg) => {
                    self.pool.submit(arg, self.submitted, ReplyTo::Async(tx.clone()));
                    self.submitted += 1;
                }
                None => self.tx = None,
            }
        }
    }
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
        let answer = match this.rx.poll_next_unpin(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(answer)) => answer,
            // Every task given answers, even when the pool stops.
            Poll::Ready(None) => (this.yielded, Err(TaskError::Terminated)),
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
        self.submit(arg, 0, ReplyTo::Async(tx));
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
        let mut n = 0;
        for arg in args {
            self.submit(arg, n, ReplyTo::Async(tx.clone()));
            n += 1;
        }
        drop(tx);
        async move {
            let mut results: Vec<Option<Result<R, TaskError>>> = (0..n).map(|_| None).collect();
            // Every task answers once, even when the pool stops.
            while let Some((seq, result)) = rx.next().await {
                if let Some(place) = results.get_mut(seq as usize) {
                    *place = Some(result);
                }
            }
            results
                .into_iter()
                .map(|r| r.unwrap_or(Err(TaskError::Terminated)))
                .collect()
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
            submitted: 0,
            yielded: 0,
        }
    }
}
