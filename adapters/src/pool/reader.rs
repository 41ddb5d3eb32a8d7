//! `Reader`: the thread that reads one worker's answers, checks each
//! against the worker's [`Book`](super::book::Book), and hands it to its
//! caller; the pool's thread hears of it only when it has to act.

use std::sync::mpsc;

use transport_core::Message;

use super::{
    answers::Answers,
    book::{SharedBook, Wanted},
    error::TaskErrorKind,
    event::Event,
};
use crate::{
    Receiver,
    process::{INIT_ID, ResultMsg},
};

/// One worker's reader.
pub(crate) struct Reader<A, R> {
    pub slot: usize,
    pub generation: u64,
    pub pid: u32,
    pub book: SharedBook<A, R>,
    pub wanted: Wanted,
    pub max_tasks: Option<usize>,
    pub events: mpsc::Sender<Event<A, R>>,
}

impl<A, R: Message> Reader<A, R> {
    /// Every answer of the worker, then `Gone`.
    pub fn run(&self, results: &Receiver<ResultMsg<R>>) {
        loop {
            let event = match results.recv() {
                Ok(msg) => match msg.deserialize() {
                    Ok((INIT_ID, values, panics)) => {
                        let ended = self.book.lock().initialized(values.len(), panics);
                        Some(match ended {
                            Ok(()) => Event::Initialized {
                                slot: self.slot,
                                generation: self.generation,
                            },
                            Err(reason) => self.malformed(reason),
                        })
                    }
                    Ok((id, values, panics)) => self
                        .answer(id, values, panics)
                        .unwrap_or_else(|reason| Some(self.malformed(reason))),
                    Err(e) => Some(self.malformed(e.to_string())),
                },
                Err(e) if e.is_disconnected() => {
                    let _ = self.events.send(Event::Gone {
                        slot: self.slot,
                        generation: self.generation,
                    });
                    return;
                }
                Err(e) => Some(self.malformed(e.to_string())),
            };
            if let Some(event) = event
                && self.events.send(event).is_err()
            {
                return;
            }
        }
    }

    /// The worker sent something that is not an answer it may send now:
    /// the pool's thread kills it.
    fn malformed(&self, reason: String) -> Event<A, R> {
        Event::Malformed {
            slot: self.slot,
            generation: self.generation,
            reason,
        }
    }

    /// Takes the answer to chunk `id` off the book and gives it to its
    /// caller; the event the pool's thread is to hear of it, if any. `Err`
    /// when the answer is not one the worker may send now (the worker is
    /// then killed).
    fn answer(
        &self,
        id: u64,
        values: Vec<R>,
        panics: Vec<(u64, String)>,
    ) -> Result<Option<Event<A, R>>, String> {
        let count = values.len() + panics.len();
        let failed =
            positions(panics, count).map_err(|reason| format!("in its answer to chunk {id}: {reason}"))?;
        let (task, tell) = {
            let mut book = self.book.lock();
            let task = book.take_answered(id, count)?;
            let full = std::mem::take(&mut book.full);
            (task, full || book.retire_due(self.max_tasks))
        };
        // Read after the book's lock: see `Wanted`.
        let tell = tell || self.wanted.get();
        let pid = self.pid;
        task.answer(Answers::Done {
            values,
            failed: failed
                .into_iter()
                .map(|(at, message)| (at, TaskErrorKind::Panicked { pid, message }.into()))
                .collect(),
        });
        Ok(tell.then_some(Event::Answered {
            slot: self.slot,
            generation: self.generation,
        }))
    }
}

/// The panics of an answer of `count` tasks as positions in the chunk;
/// `Err` unless they are in order, each once, and inside the chunk (the
/// worker's answer is not trusted).
fn positions(panics: Vec<(u64, String)>, count: usize) -> Result<Vec<(usize, String)>, String> {
    let mut next = 0;
    panics
        .into_iter()
        .map(|(at, message)| match usize::try_from(at) {
            Ok(at) if at >= next && at < count => {
                next = at + 1;
                Ok((at, message))
            }
            _ => Err(format!(
                "a panic at position {at}, out of order or outside its {count} tasks"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::positions;

    #[test]
    fn panics_must_be_in_order_once_and_inside_the_chunk() {
        let at = |list: &[u64]| list.iter().map(|&p| (p, String::new())).collect::<Vec<_>>();
        assert_eq!(
            positions(at(&[0, 2]), 3).map(|v| v.into_iter().map(|(p, _)| p).collect::<Vec<_>>()),
            Ok(vec![0, 2])
        );
        assert!(positions(at(&[2, 0]), 3).is_err());
        assert!(positions(at(&[1, 1]), 3).is_err());
        assert!(positions(at(&[3]), 3).is_err());
        assert!(positions(at(&[u64::MAX]), 3).is_err());
    }
}
