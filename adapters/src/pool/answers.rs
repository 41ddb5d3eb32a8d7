//! `Answers`: the answers of one chunk as they go from the worker's reader
//! to the caller, kept as the worker sent them (its values in one vector)
//! until the caller takes them; and `Assembly`, which puts a `map`'s
//! chunks in order as they come.

use std::collections::BTreeMap;

use super::error::{TaskError, TaskErrorKind};

/// The answers of a chunk as the pool gives them back: the caller's
/// sequence number of its first task, and the answers in order.
pub(crate) type Reply<R> = (u64, Answers<R>);

/// The answers of one chunk, in the order of its tasks: kept as the
/// worker sent them (one vector of values) until the caller takes them.
#[derive(Debug)]
pub(crate) enum Answers<R> {
    /// The values of the tasks that returned, in order, and the position
    /// in the chunk and the error of each task that did not, in order.
    Done {
        values: Vec<R>,
        failed: Vec<(usize, TaskError)>,
    },
    /// Every one of `len` tasks failed with `error`.
    Failed { len: usize, error: TaskError },
}

impl<R> Answers<R> {
    /// How many tasks they answer.
    pub fn len(&self) -> usize {
        match self {
            Answers::Done { values, failed } => values.len() + failed.len(),
            Answers::Failed { len, .. } => *len,
        }
    }

    /// The first task's answer; a chunk of none answers `Terminated`.
    pub fn first(self) -> Result<R, TaskError> {
        self.into_iter()
            .next()
            .unwrap_or_else(|| Err(TaskErrorKind::Terminated.into()))
    }
}

impl<R> IntoIterator for Answers<R> {
    type Item = Result<R, TaskError>;
    type IntoIter = AnswerIter<R>;

    fn into_iter(self) -> AnswerIter<R> {
        match self {
            Answers::Done { values, failed } => AnswerIter::Done {
                position: 0,
                values: values.into_iter(),
                failed: failed.into_iter().peekable(),
            },
            Answers::Failed { len, error } => AnswerIter::Failed { left: len, error },
        }
    }
}

/// The answers of a chunk one task at a time.
#[derive(Debug)]
pub(crate) enum AnswerIter<R> {
    Done {
        position: usize,
        values: std::vec::IntoIter<R>,
        failed: std::iter::Peekable<std::vec::IntoIter<(usize, TaskError)>>,
    },
    Failed {
        left: usize,
        error: TaskError,
    },
}

impl<R> Iterator for AnswerIter<R> {
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            AnswerIter::Done {
                position,
                values,
                failed,
            } => {
                let here = *position;
                *position += 1;
                match failed.next_if(|(at, _)| *at == here) {
                    Some((_, error)) => Some(Err(error)),
                    None => values.next().map(Ok),
                }
            }
            AnswerIter::Failed { left, error } => {
                *left = left.checked_sub(1)?;
                Some(Err(error.clone()))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            AnswerIter::Done { values, failed, .. } => values.len() + failed.len(),
            AnswerIter::Failed { left, .. } => *left,
        };
        (n, Some(n))
    }
}

impl<R> ExactSizeIterator for AnswerIter<R> {}

/// The answers of `n` tasks numbered from 0, put in order as their chunks
/// come, in any order: a chunk that continues the answers so far is
/// copied at once (so a `map`'s copying overlaps the chunks still being
/// worked on), one that comes early waits for those before it.
#[derive(Debug)]
pub(crate) struct Assembly<R> {
    n: usize,
    results: Vec<Result<R, TaskError>>,
    /// Chunks that came before the chunk they follow, by first task.
    early: BTreeMap<usize, Answers<R>>,
}

impl<R> Assembly<R> {
    pub fn new(n: usize) -> Self {
        Assembly {
            n,
            results: Vec::with_capacity(n),
            early: BTreeMap::new(),
        }
    }

    /// Takes one chunk's answers; a task answered twice keeps its first
    /// answer.
    pub fn add(&mut self, (seq, answers): Reply<R>) {
        let seq = usize::try_from(seq).unwrap_or(usize::MAX);
        if seq < self.results.len() || seq >= self.n {
            return;
        }
        if seq > self.results.len() {
            self.early.entry(seq).or_insert(answers);
            return;
        }
        self.append(answers);
        self.take_early(false);
    }

    /// The answers in order; a task no chunk answered (the pool stopped)
    /// is `Terminated`.
    pub fn finish(mut self) -> Vec<Result<R, TaskError>> {
        self.take_early(true);
        self.results
            .resize_with(self.n, || Err(TaskErrorKind::Terminated.into()));
        self.results
    }

    /// Appends the early chunks that now follow the answers so far, in
    /// order; with `to_the_end`, every one, the tasks no chunk answered
    /// before each taken as `Terminated`. An early chunk inside the
    /// answers so far is dropped (its tasks were answered first).
    fn take_early(&mut self, to_the_end: bool) {
        while let Some(entry) = self.early.first_entry() {
            let seq = *entry.key();
            if seq > self.results.len() {
                if !to_the_end {
                    return;
                }
                self.results
                    .resize_with(seq, || Err(TaskErrorKind::Terminated.into()));
            }
            let answers = entry.remove();
            if seq == self.results.len() {
                self.append(answers);
            }
        }
    }

    /// Appends a chunk's answers, cut at the `n`th task.
    fn append(&mut self, answers: Answers<R>) {
        let room = self.n - self.results.len();
        match answers {
            // The common case, one tight copy: no task of the chunk failed.
            Answers::Done { values, failed } if failed.is_empty() && values.len() <= room => {
                self.results.extend(values.into_iter().map(Ok));
            }
            answers => self.results.extend(answers.into_iter().take(room)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panicked(message: &str) -> TaskError {
        TaskErrorKind::Panicked {
            pid: 1,
            message: message.to_owned(),
        }
        .into()
    }

    fn assemble(n: usize, chunks: Vec<Reply<u64>>) -> Vec<Result<u64, TaskError>> {
        let mut assembly = Assembly::new(n);
        for chunk in chunks {
            assembly.add(chunk);
        }
        assembly.finish()
    }

    fn done(values: &[u64]) -> Answers<u64> {
        Answers::Done {
            values: values.to_vec(),
            failed: Vec::new(),
        }
    }

    fn shape(results: &[Result<u64, TaskError>]) -> Vec<Option<u64>> {
        results.iter().map(|r| r.as_ref().ok().copied()).collect()
    }

    #[test]
    fn failures_take_their_positions_among_the_values() {
        let answers = Answers::Done {
            values: vec![10, 20, 30],
            failed: vec![(0, panicked("a")), (2, panicked("b")), (5, panicked("c"))],
        };
        assert_eq!(answers.len(), 6);
        let iter = answers.into_iter();
        assert_eq!(iter.len(), 6);
        let got: Vec<_> = iter.collect();
        assert_eq!(shape(&got), [None, Some(10), None, Some(20), Some(30), None]);
        let failed = Answers::<u64>::Failed {
            len: 3,
            error: TaskErrorKind::Terminated.into(),
        };
        assert_eq!(failed.into_iter().filter(Result::is_err).count(), 3);
    }

    #[test]
    fn assemble_orders_chunks_and_fills_what_no_chunk_answered() {
        let chunks = vec![
            (
                4,
                Answers::Done {
                    values: vec![4, 5],
                    failed: Vec::new(),
                },
            ),
            (
                0,
                Answers::Done {
                    values: vec![0, 2],
                    failed: vec![(1, panicked("x"))],
                },
            ),
            // Answered twice: the first answer stands.
            (
                0,
                Answers::Failed {
                    len: 3,
                    error: TaskErrorKind::Terminated.into(),
                },
            ),
        ];
        // Task 3 was never answered; 7 is past the chunks.
        let got = assemble(7, chunks);
        assert_eq!(
            shape(&got),
            [Some(0), None, Some(2), None, Some(4), Some(5), None]
        );
        assert!(got[1].as_ref().is_err_and(TaskError::is_panicked));
        assert!(matches!(
            got[3].as_ref().map_err(TaskError::kind),
            Err(TaskErrorKind::Terminated)
        ));
        // A chunk longer than the call is cut at its end.
        let long = vec![(
            0,
            Answers::Done {
                values: vec![1, 2, 3],
                failed: Vec::new(),
            },
        )];
        assert_eq!(shape(&assemble(2, long)), [Some(1), Some(2)]);
    }

    #[test]
    fn early_chunks_wait_for_those_before_them() {
        let mut assembly = Assembly::new(6);
        assembly.add((4, done(&[4, 5])));
        assembly.add((2, done(&[2, 3])));
        assert!(assembly.results.is_empty(), "nothing is in order yet");
        assembly.add((0, done(&[0, 1])));
        assert_eq!(assembly.results.len(), 6, "the early chunks follow at once");
        assert!(assembly.early.is_empty());
        // Late and repeated answers change nothing.
        assembly.add((2, done(&[9, 9])));
        assembly.add((6, done(&[9])));
        assert_eq!(shape(&assembly.finish()), [0, 1, 2, 3, 4, 5].map(Some));
        // An early chunk inside one that came later in order is dropped.
        let got = assemble(
            5,
            vec![(3, done(&[30, 40])), (2, done(&[2, 3, 4])), (0, done(&[0, 1]))],
        );
        assert_eq!(shape(&got), [0, 1, 2, 3, 4].map(Some));
    }
}
