//! `Worker`: one worker process as the dispatcher sees it, and the thread
//! that reads its answers.

use std::{
    collections::VecDeque,
    process::ExitStatus,
    sync::mpsc,
    thread::{self, JoinHandle},
    time::Instant,
};

use transport_core::{Message, TrySendError};

use super::{
    book::{SharedBook, Wanted},
    config::Config,
    event::Event,
    reader::Reader,
    task::Task,
};
use crate::{
    Sender,
    process::{STOP_ID, SpawnError, Started, TaskMsg, start},
};

/// What offering a task to a worker did.
pub(crate) enum Offer<A, R> {
    /// The worker has it.
    Taken,
    /// The worker's channel is full, or going: the task stays queued.
    Busy(Task<A, R>),
    /// The task cannot be sent at all (too large for the backend, say).
    Refused(Task<A, R>, String),
}

/// How a worker ended, and the tasks it held.
pub(crate) struct Ended<A, R> {
    pub pid: u32,
    pub status: Option<ExitStatus>,
    /// The chunks it was sent and did not answer, oldest (the one it was
    /// running) first.
    pub held: VecDeque<Task<A, R>>,
    /// The id of the task whose timeout had it killed.
    pub timed_out: Option<u64>,
    /// What it sent that was not an answer, if that had it killed.
    pub protocol: Option<String>,
    /// Whether its initializer (if the pool has one) returned.
    pub ready: bool,
    /// The message of its initializer's panic.
    pub init_panic: Option<String>,
    /// Whether it was killed for running its initializer too long.
    pub init_timed_out: bool,
}

/// One worker process.
pub(crate) struct Worker<A: Message, R: Message> {
    pid: u32,
    generation: u64,
    process: std::process::Child,
    /// `None` once the worker is retiring (or its channel failed): it
    /// answers what it holds, takes the stop, and exits.
    tasks: Option<Sender<TaskMsg<A>>>,
    /// The task channel of a retiring worker, kept until it is reaped.
    stopped: Option<Sender<TaskMsg<A>>>,
    /// The chunks it holds, shared with its reader.
    book: SharedBook<A, R>,
    reader: Option<JoinHandle<()>>,
    exited_at: Option<Instant>,
    timed_out: Option<u64>,
    protocol: Option<String>,
    /// When it was started (its initializer started then).
    started: Instant,
    init_timed_out: bool,
    /// The initializer's argument channel, kept until it is reaped.
    init: Option<Box<dyn Send>>,
    reaped: Option<Option<ExitStatus>>,
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> Worker<A, R> {
    /// Starts worker `slot`, generation `generation`; its reader gives
    /// answers to their callers and tells `events` what the dispatcher has
    /// to hear (every answer while `wanted`).
    pub fn start(
        config: &Config,
        slot: usize,
        generation: u64,
        events: mpsc::Sender<Event<A, R>>,
        wanted: &Wanted,
    ) -> Result<Self, SpawnError> {
        let Started {
            child,
            tasks,
            results,
            init,
        } = start::<A, R>(
            config.entry,
            config.spawner.arg_list(),
            config.spawner.env_list(),
            // Room beyond the prefetch: a backend may count a message a
            // little after the worker took it (the queue's hub does).
            config.prefetch * 2 + 2,
            config.init.as_deref(),
        )?;
        let pid = child.id();
        let book = SharedBook::new(config.init.is_none());
        let mut worker = Worker {
            pid,
            generation,
            process: child,
            tasks: Some(tasks),
            stopped: None,
            book: book.clone(),
            reader: None,
            exited_at: None,
            timed_out: None,
            protocol: None,
            started: Instant::now(),
            init_timed_out: false,
            init,
            reaped: None,
        };
        let reader = Reader {
            slot,
            generation,
            pid,
            book,
            wanted: wanted.clone(),
            max_tasks: config.max_tasks_per_child,
            events,
        };
        let reader = thread::Builder::new()
            .name(format!("pool-worker-{pid}"))
            .spawn(move || reader.run(&results))
            .map_err(SpawnError::Spawn)?;
        worker.reader = Some(reader);
        Ok(worker)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether its initializer returned (or the pool has none).
    pub fn is_ready(&self) -> bool {
        self.book.lock().ready
    }

    pub fn is_idle(&self) -> bool {
        self.book.lock().held.is_empty()
    }

    /// When the task it runs started, if it runs one (its initializer
    /// has returned) and has not been killed for it already.
    pub fn running_since(&self) -> Option<(Instant, u64)> {
        let book = self.book.lock();
        match (book.held.front(), self.timed_out) {
            (Some(task), None) if book.ready => Some((book.head_since, task.id())),
            _ => None,
        }
    }

    /// When it started its initializer, if that still runs and the
    /// worker has not been killed.
    pub fn initializing_since(&self) -> Option<Instant> {
        let running = {
            let book = self.book.lock();
            !book.ready && book.init_panic.is_none()
        } && !self.init_timed_out
            && self.protocol.is_none()
            && self.timed_out.is_none();
        running.then_some(self.started)
    }

    /// Kills the worker for running its initializer too long.
    pub fn kill_for_init_timeout(&mut self) {
        self.init_timed_out = true;
        let _ = self.process.kill();
    }

    /// How many chunks it holds (sent and not answered), if it can be sent
    /// another: one look at its book.
    pub fn room(&self, config: &Config) -> Option<usize> {
        if self.tasks.is_none() || self.timed_out.is_some() || self.protocol.is_some() {
            return None;
        }
        let book = self.book.lock();
        let held = book.held.len();
        let open = !book.full
            && held < config.prefetch
            && config.max_tasks_per_child.is_none_or(|max| book.sent < max);
        open.then_some(held)
    }

    /// Sends `task` to the worker, if it can take it now.
    pub fn offer(&mut self, task: Task<A, R>) -> Offer<A, R> {
        let Some(tasks) = &self.tasks else {
            return Offer::Busy(task);
        };
        // The book stays locked while the task is sent, so that the reader
        // cannot see its answer before it is in the book.
        let mut book = self.book.lock();
        match tasks.try_send(&task.msg) {
            Ok(()) => {
                if book.held.is_empty() {
                    book.head_since = Instant::now();
                }
                book.sent += task.len();
                book.held.push_back(task);
                Offer::Taken
            }
            Err(TrySendError::Full(_)) => {
                book.full = true;
                Offer::Busy(task)
            }
            Err(e) if e.is_disconnected() || e.is_closed() => {
                // The worker is going; its `Gone` will come.
                self.tasks = None;
                Offer::Busy(task)
            }
            Err(e) => {
                let reason = e.to_string();
                Offer::Refused(task, reason)
            }
        }
    }

    /// The worker answered a chunk (its reader took it off the book):
    /// it retires if that was its last of `max_tasks`.
    pub fn answered(&mut self, max_tasks: Option<usize>) {
        if self.book.lock().retire_due(max_tasks) {
            self.retire();
        }
    }

    /// Lets the dispatcher try a worker whose channel was full again.
    pub fn unblock(&mut self) {
        self.book.lock().full = false;
    }

    /// Sends no more tasks: the worker answers what it holds and exits.
    pub fn retire(&mut self) {
        if let Some(tasks) = self.tasks.take() {
            // When the stop cannot be sent (the channel is full or gone),
            // the channel closing tells the worker instead.
            if tasks.try_send((STOP_ID, None)).is_ok() {
                self.stopped = Some(tasks);
            }
        }
    }

    /// Kills the worker for running task `id` too long.
    pub fn kill_for_timeout(&mut self, id: u64) {
        self.timed_out = Some(id);
        let _ = self.process.kill();
    }

    /// Kills the worker for sending something that is not an answer.
    pub fn kill_for_protocol(&mut self, reason: String) {
        self.protocol.get_or_insert(reason);
        let _ = self.process.kill();
    }

    /// Kills the process if it still runs (it is reaped by [`end`](Self::end)).
    pub fn kill(&mut self) {
        if self.reaped.is_none() {
            let _ = self.process.kill();
        }
    }

    /// Looks whether the process has exited; since when, if it has.
    pub fn exited_since(&mut self) -> Option<Instant> {
        if self.exited_at.is_none() && matches!(self.process.try_wait(), Ok(Some(_))) {
            self.exited_at = Some(Instant::now());
        }
        self.exited_at
    }

    /// Kills (if it still runs) and reaps the worker. `reader_done`: its
    /// reader thread has sent `Gone`, so joining it does not wait; else it
    /// is left to end on its own (its events are of an old generation).
    pub fn end(mut self, reader_done: bool) -> Ended<A, R> {
        let status = self.reap();
        if let Some(reader) = self.reader.take()
            && reader_done
        {
            let _ = reader.join();
        }
        let (held, ready, init_panic) = {
            let mut book = self.book.lock();
            (std::mem::take(&mut book.held), book.ready, book.init_panic.take())
        };
        Ended {
            pid: self.pid,
            status,
            held,
            timed_out: self.timed_out,
            protocol: self.protocol.take(),
            ready,
            init_panic,
            init_timed_out: self.init_timed_out,
        }
    }

    fn reap(&mut self) -> Option<ExitStatus> {
        if let Some(status) = self.reaped {
            return status;
        }
        let _ = self.process.kill();
        let status = self.process.wait().ok();
        // Only now, with the worker gone: the last live participant of a
        // shared-memory channel removes its segment, so leaving while the
        // worker still held it would leave the segment behind.
        self.tasks = None;
        self.stopped = None;
        self.init = None;
        self.reaped = Some(status);
        status
    }
}

impl<A: Message, R: Message> Drop for Worker<A, R> {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }
}
