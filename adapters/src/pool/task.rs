//! `Task`: one call the pool owes an answer to, and `TaskHandle`, the
//! answer of `apply_async`.

use std::{
    sync::mpsc,
    time::{Duration, Instant},
};

use super::{
    answers::{Answers, Reply},
    collect::CollectTx,
    error::{TaskError, TaskErrorKind},
};
use crate::process::TaskMsg;

/// Where a task's answer goes: the channel of a blocking caller, or of an
/// async one (whose end is a `Stream`).
pub(crate) enum ReplyTo<R> {
    Blocking(mpsc::Sender<Reply<R>>),
    Async(futures::channel::mpsc::UnboundedSender<Reply<R>>),
    /// A blocking `map`, which sleeps until its last chunk is in.
    Collect(CollectTx<R>),
}

impl<R> ReplyTo<R> {
    /// Sends the answer, and lets go; a caller that stopped listening (an
    /// `imap` dropped early) is no error.
    fn send(self, reply: Reply<R>) {
        match self {
            ReplyTo::Blocking(tx) => {
                let _ = tx.send(reply);
            }
            ReplyTo::Async(tx) => {
                let _ = tx.unbounded_send(reply);
            }
            ReplyTo::Collect(tx) => tx.send(reply),
        }
    }
}

impl<R> Clone for ReplyTo<R> {
    fn clone(&self) -> Self {
        match self {
            ReplyTo::Blocking(tx) => ReplyTo::Blocking(tx.clone()),
            ReplyTo::Async(tx) => ReplyTo::Async(tx.clone()),
            ReplyTo::Collect(tx) => ReplyTo::Collect(tx.clone()),
        }
    }
}

/// A chunk of tasks inside the pool, for one caller: what is sent to a
/// worker in one message (kept until the answer comes, so a chunk a dead
/// worker had not started goes to another), and where the answers go.
/// Its tasks have consecutive sequence numbers from `seq`, and are
/// answered together (one message back), or fail together.
pub(crate) struct Task<A, R> {
    /// The pool-wide id, and the arguments.
    pub msg: TaskMsg<A>,
    /// The caller's sequence number of the first task (its position in a
    /// `map`).
    pub seq: u64,
    /// How many tasks.
    len: usize,
    /// Retries left when its worker dies.
    pub retries: u32,
    /// Where the answers go; taken when they are given.
    reply: Option<ReplyTo<R>>,
}

impl<A, R> Task<A, R> {
    /// A chunk of the tasks `args` (at least one), numbered from `seq`.
    pub fn new(id: u64, args: Vec<A>, seq: u64, reply: ReplyTo<R>) -> Self {
        Task {
            len: args.len(),
            msg: (id, Some(args)),
            seq,
            retries: 0,
            reply: Some(reply),
        }
    }

    /// The pool-wide id.
    pub fn id(&self) -> u64 {
        self.msg.0
    }

    /// How many tasks the chunk holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Fails every task of the chunk with `error`.
    pub fn fail(mut self, error: TaskError) {
        if let Some(reply) = self.reply.take() {
            reply.send((self.seq, Answers::Failed { len: self.len, error }));
        }
    }

    /// Gives the chunk its answers, one per task (the caller checked).
    pub fn answer(mut self, answers: Answers<R>) {
        if let Some(reply) = self.reply.take() {
            reply.send((self.seq, answers));
        }
    }
}

/// A chunk dropped unanswered (the pool stopping, in any way) answers
/// [`TaskErrorKind::Terminated`] for each of its tasks, so no caller waits for
/// an answer that cannot come.
impl<A, R> Drop for Task<A, R> {
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            reply.send((
                self.seq,
                Answers::Failed {
                    len: self.len,
                    error: TaskErrorKind::Terminated.into(),
                },
            ));
        }
    }
}

/// The answer to one [`apply_async`](super::Pool::apply_async), to be
/// waited for.
#[derive(Debug)]
pub struct TaskHandle<R> {
    rx: mpsc::Receiver<Reply<R>>,
}

impl<R> TaskHandle<R> {
    pub(crate) fn new(rx: mpsc::Receiver<Reply<R>>) -> Self {
        TaskHandle { rx }
    }

    /// Waits for the task's result.
    ///
    /// # Errors
    /// The task's [`TaskError`].
    pub fn wait(self) -> Result<R, TaskError> {
        match self.rx.recv() {
            Ok((_, answers)) => answers.first(),
            Err(_) => Err(TaskErrorKind::Terminated.into()),
        }
    }

    /// Waits at most `timeout`: `None` if the task has not finished yet
    /// (the handle can be waited on again), else its result.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<R, TaskError>> {
        self.wait_deadline(Instant::now() + timeout)
    }

    /// Waits until `deadline`, as [`wait_timeout`](Self::wait_timeout).
    pub fn wait_deadline(&mut self, deadline: Instant) -> Option<Result<R, TaskError>> {
        match self
            .rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok((_, answers)) => Some(answers.first()),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(Err(TaskErrorKind::Terminated.into())),
        }
    }
}
