//! `Task`: one call the pool owes an answer to, and `TaskHandle`, the
//! answer of `apply_async`.

use std::{
    sync::mpsc,
    time::{Duration, Instant},
};

use super::error::TaskError;
use crate::process::TaskMsg;

/// An answer as the pool gives it back: the caller's sequence number and
/// the result.
pub(crate) type Reply<R> = (u64, Result<R, TaskError>);

/// Where a task's answer goes: the channel of a blocking caller, or of an
/// async one (whose end is a `Stream`).
pub(crate) enum ReplyTo<R> {
    Blocking(mpsc::Sender<Reply<R>>),
    Async(futures::channel::mpsc::UnboundedSender<Reply<R>>),
}

impl<R> ReplyTo<R> {
    /// Sends the answer; a caller that stopped listening (an `imap`
    /// dropped early) is no error.
    fn send(&self, reply: Reply<R>) {
        match self {
            ReplyTo::Blocking(tx) => {
                let _ = tx.send(reply);
            }
            ReplyTo::Async(tx) => {
                let _ = tx.unbounded_send(reply);
            }
        }
    }
}

impl<R> Clone for ReplyTo<R> {
    fn clone(&self) -> Self {
        match self {
            ReplyTo::Blocking(tx) => ReplyTo::Blocking(tx.clone()),
            ReplyTo::Async(tx) => ReplyTo::Async(tx.clone()),
        }
    }
}

/// A task inside the pool: what is sent to a worker (kept until the
/// answer comes, so a task a dead worker had not started goes to another),
/// and where the answer goes.
pub(crate) struct Task<A, R> {
    /// The pool-wide id, and the argument.
    pub msg: TaskMsg<A>,
    /// The caller's sequence number (its position in a `map`).
    pub seq: u64,
    /// Retries left when its worker dies.
    pub retries: u32,
    /// Where the answer goes; taken when it is given.
    reply: Option<ReplyTo<R>>,
}

impl<A, R> Task<A, R> {
    pub fn new(id: u64, arg: A, seq: u64, reply: ReplyTo<R>) -> Self {
        Task {
            msg: (id, Some(arg)),
            seq,
            retries: 0,
            reply: Some(reply),
        }
    }

    /// The pool-wide id.
    pub fn id(&self) -> u64 {
        self.msg.0
    }

    /// Gives the answer.
    pub fn answer(mut self, result: Result<R, TaskError>) {
        if let Some(reply) = self.reply.take() {
            reply.send((self.seq, result));
        }
    }
}

/// A task dropped unanswered (the pool stopping, in any way) answers
/// [`TaskError::Terminated`], so no caller waits for an answer that
/// cannot come.
impl<A, R> Drop for Task<A, R> {
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            reply.send((self.seq, Err(TaskError::Terminated)));
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
            Ok((_, result)) => result,
            Err(_) => Err(TaskError::Terminated),
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
            Ok((_, result)) => Some(result),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(Err(TaskError::Terminated)),
        }
    }
}
