//! `Book`: the chunks one worker holds, shared by the pool's state (which
//! gives the worker chunks, from the pool's thread or a caller's) and the
//! worker's reader thread (which takes each answer off the book and hands
//! it to its caller itself), and `Wanted`, whether the pool's thread has to
//! hear of answers at all.
//!
//! So an answer wakes one thread of the pool (the reader) on its way to
//! the caller, not two: the reader checks it against the book and answers
//! the caller, and the pool's thread is told (`Event::Answered`) only when
//! it has something to do about it: tasks wait for a worker with room, the
//! pool is closing, the worker's channel was full, or the worker is due to
//! retire.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use transport_core::sync::LockExt;

use super::task::Task;

/// What the pool knows of one worker's chunks.
pub(crate) struct Book<A, R> {
    /// The chunks it was sent and has not answered, oldest (the one it is
    /// running) first.
    pub held: VecDeque<Task<A, R>>,
    /// When the oldest held chunk became the one the worker runs.
    pub head_since: Instant,
    /// How many tasks it was sent (a chunk counts its tasks).
    pub sent: usize,
    /// Whether it may run tasks: its initializer returned, or it has none.
    pub ready: bool,
    /// The message of its initializer's panic.
    pub init_panic: Option<String>,
    /// Its task channel was found full: the pool's thread waits for its
    /// next answer to try again.
    pub full: bool,
}

/// A worker's book, as the pool's thread and the reader share it.
pub(crate) struct SharedBook<A, R>(Arc<Mutex<Book<A, R>>>);

impl<A, R> SharedBook<A, R> {
    pub fn new(ready: bool) -> Self {
        SharedBook(Arc::new(Mutex::new(Book {
            held: VecDeque::new(),
            head_since: Instant::now(),
            sent: 0,
            ready,
            init_panic: None,
            full: false,
        })))
    }

    /// The book; a panic elsewhere while it was held leaves it whole (every
    /// change is one step), so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, Book<A, R>> {
        self.0.lock_unpoisoned()
    }
}

impl<A, R> Clone for SharedBook<A, R> {
    fn clone(&self) -> Self {
        SharedBook(Arc::clone(&self.0))
    }
}

impl<A, R> Book<A, R> {
    /// Takes the chunk `id`, answered with `count` outcomes: the chunk the
    /// worker was running. `Err` (what was wrong) when the worker may not
    /// send that now; the book is then unchanged.
    pub fn take_answered(&mut self, id: u64, count: usize) -> Result<Task<A, R>, String> {
        if !self.ready {
            return Err(format!("an answer to chunk {id} before its initializer returned"));
        }
        match self.held.front() {
            Some(head) if head.id() == id && head.len() == count => {}
            Some(head) if head.id() == id => {
                return Err(format!("{count} answers to chunk {id} of {} tasks", head.len()));
            }
            Some(head) => {
                return Err(format!(
                    "an answer to chunk {id} while it ran chunk {}",
                    head.id()
                ));
            }
            None => return Err(format!("an answer to chunk {id}, which it was not given")),
        }
        let task = self.held.pop_front().ok_or("no task")?;
        self.head_since = Instant::now();
        Ok(task)
    }

    /// The worker's initializer ended: no values and no panics when it
    /// returned, one panic (its message) when not. `Err` when that is not
    /// what the worker may send now. Taken by the reader, before any answer
    /// that follows it.
    pub fn initialized(&mut self, values: usize, panics: Vec<(u64, String)>) -> Result<(), String> {
        if self.ready || self.init_panic.is_some() {
            return Err("a second answer from its initializer".into());
        }
        let mut panics = panics.into_iter();
        match (values, panics.next(), panics.next()) {
            (0, None, _) => {
                self.ready = true;
                // Its first task starts now.
                self.head_since = Instant::now();
                Ok(())
            }
            (0, Some((0, message)), None) => {
                self.init_panic = Some(message);
                Ok(())
            }
            _ => Err("an initializer's answer that is neither done nor a panic".into()),
        }
    }

    /// Whether the worker has answered everything and was sent its
    /// `max_tasks` (so it retires).
    pub fn retire_due(&self, max_tasks: Option<usize>) -> bool {
        self.held.is_empty() && max_tasks.is_some_and(|max| self.sent >= max)
    }
}

/// Whether the pool's thread wants to hear of every answer: it holds tasks
/// that no worker could take, or the pool is closing. Set before the pool's
/// thread looks at a worker's room (under the worker's book lock), read by
/// the reader after it took an answer off that book (under the same lock):
/// the lock orders the two, so an answer that makes room the pool's thread
/// found missing is always told.
#[derive(Clone, Default)]
pub(crate) struct Wanted(Arc<AtomicBool>);

impl Wanted {
    pub fn set(&self, wanted: bool) {
        self.0.store(wanted, Ordering::SeqCst);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::pool::task::ReplyTo;

    /// A book holding chunks `ids`, of `len` tasks each (their answers
    /// go nowhere).
    fn book(ready: bool, ids: &[u64], len: usize) -> Book<u64, u64> {
        let (tx, _) = mpsc::channel();
        Book {
            held: ids
                .iter()
                .map(|&id| Task::new(id, vec![0; len], id * len as u64, ReplyTo::Blocking(tx.clone())))
                .collect(),
            head_since: Instant::now(),
            sent: ids.len() * len,
            ready,
            init_panic: None,
            full: false,
        }
    }

    #[test]
    fn an_answer_takes_the_chunk_the_worker_runs() {
        let mut book = book(true, &[4, 5], 3);
        assert_eq!(book.take_answered(4, 3).map(|t| t.id()), Ok(4));
        assert_eq!(book.take_answered(5, 3).map(|t| t.id()), Ok(5));
        assert!(book.held.is_empty());
    }

    #[test]
    fn an_answer_the_worker_may_not_send_leaves_the_book_as_it_was() {
        let mut book = book(true, &[4, 5], 3);
        let wrong = [
            (5, 3, "an answer to chunk 5 while it ran chunk 4"),
            (4, 2, "2 answers to chunk 4 of 3 tasks"),
        ];
        for (id, count, why) in wrong {
            assert_eq!(book.take_answered(id, count).map(|t| t.id()), Err(why.to_owned()));
            assert_eq!(book.held.len(), 2);
        }
        let mut empty = self::book(true, &[], 1);
        assert_eq!(
            empty.take_answered(0, 1).map(|t| t.id()),
            Err("an answer to chunk 0, which it was not given".to_owned())
        );
        let mut starting = self::book(false, &[4], 3);
        assert_eq!(
            starting.take_answered(4, 3).map(|t| t.id()),
            Err("an answer to chunk 4 before its initializer returned".to_owned())
        );
        assert_eq!(starting.held.len(), 1);
    }

    #[test]
    fn the_initializer_answers_once() {
        let mut returned = book(false, &[], 1);
        assert_eq!(returned.initialized(0, Vec::new()), Ok(()));
        assert!(returned.ready);
        assert!(returned.initialized(0, Vec::new()).is_err());

        let mut panicked = book(false, &[], 1);
        assert_eq!(panicked.initialized(0, vec![(0, "no database".into())]), Ok(()));
        assert!(!panicked.ready);
        assert_eq!(panicked.init_panic.as_deref(), Some("no database"));
        assert!(panicked.initialized(0, Vec::new()).is_err());

        let mut odd = book(false, &[], 1);
        assert!(odd.initialized(1, Vec::new()).is_err());
        assert!(odd.initialized(0, vec![(1, "x".into())]).is_err());
        assert!(!odd.ready);
    }

    #[test]
    fn a_worker_retires_once_it_answered_its_last_task() {
        let mut book = book(true, &[0], 5);
        assert!(!book.retire_due(Some(5)));
        assert!(book.take_answered(0, 5).is_ok());
        assert!(book.retire_due(Some(5)));
        assert!(!book.retire_due(Some(6)));
        assert!(!book.retire_due(None));
    }
}
