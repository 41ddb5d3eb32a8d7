//! `Dispatcher`: the pool's state and its thread. It owns the workers and
//! the queue of tasks, gives each worker tasks up to its prefetch (the
//! workers' readers hand the answers back), and replaces a worker that
//! died, retired or ran past a timeout. A caller that gives the pool tasks
//! locks it, if its thread does not hold it, and offers them to the
//! workers from its own thread ([`Dispatcher::submit`]), so the pool's
//! thread is not woken for them; else they go to the thread as an event.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use transport_core::{Message, sync::LockExt};

use super::{
    book::Wanted,
    config::Config,
    error::{TaskError, TaskErrorKind},
    event::Event,
    task::Task,
    worker::{Ended, Offer, Worker},
};
use crate::process::{EXIT_CHECK, EXIT_GRACE, SpawnError};

/// How many workers in a row may fail their initializer (panic in it,
/// end before it returned, or run it past the task timeout) before the
/// pool gives up: it starts no more workers, and every task fails with
/// the last failure ([`TaskErrorKind::InitPanicked`], [`TaskErrorKind::InitDied`]
/// or [`TaskErrorKind::InitTimeout`]). A worker whose initializer returns
/// starts the count again.
pub const INIT_FAILURES: u32 = 3;

/// The pool's state, shared by its thread and the callers that give it
/// tasks (the thread alone reads its events).
pub(crate) struct Dispatcher<A: Message, R: Message> {
    config: Config,
    /// Cloned into each worker's reader thread.
    outbox: mpsc::Sender<Event<A, R>>,
    slots: Vec<Option<Worker<A, R>>>,
    queue: VecDeque<Task<A, R>>,
    next_generation: u64,
    closing: bool,
    last_check: Instant,
    /// Workers in a row whose initializer failed.
    init_failures: u32,
    /// Why the pool runs no more tasks: its initializer kept failing.
    broken: Option<TaskError>,
    /// A terminate request taken from the inbox between two offers, for
    /// the main loop.
    terminating: bool,
    /// Whether the readers tell every answer (see `book.rs`).
    wanted: Wanted,
    /// The pool's thread has returned: a task given now is not run.
    stopped: bool,
}

impl<A: Message + Send + 'static, R: Message + Send + 'static> Dispatcher<A, R> {
    /// Starts the workers.
    pub fn new(config: Config, outbox: mpsc::Sender<Event<A, R>>) -> Result<Self, SpawnError> {
        let mut slots = Vec::with_capacity(config.workers);
        let mut first_error = None;
        let wanted = Wanted::default();
        for slot in 0..config.workers {
            match Worker::start(&config, slot, slot as u64, outbox.clone(), &wanted) {
                Ok(worker) => slots.push(Some(worker)),
                // Left empty, and tried again like the slot of a worker
                // that died (`fill_empty_slots`): one failed start (the
                // system short of a resource for a moment) does not fail
                // the pool.
                Err(e) => {
                    slots.push(None);
                    first_error.get_or_insert(e);
                }
            }
        }
        if slots.iter().all(Option::is_none) {
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        Ok(Dispatcher {
            next_generation: config.workers as u64,
            config,
            outbox,
            slots,
            queue: VecDeque::new(),
            closing: false,
            last_check: Instant::now(),
            init_failures: 0,
            broken: None,
            terminating: false,
            wanted,
            stopped: false,
        })
    }

    /// The pool's thread: runs until the pool is closed and done, or
    /// terminated, acting on the events of `inbox`. The state is locked
    /// except while the thread waits for an event.
    pub fn run(shared: &Mutex<Self>, inbox: &mpsc::Receiver<Event<A, R>>) {
        loop {
            let wait = {
                let mut this = shared.lock_unpoisoned();
                this.dispatch(Some(inbox));
                if this.terminating {
                    return this.terminate(inbox);
                }
                if this.closing {
                    this.retire_idle();
                    if this.queue.is_empty() && this.slots.iter().all(Option::is_none) {
                        this.stopped = true;
                        return;
                    }
                }
                this.next_wakeup()
            };
            let event = inbox.recv_timeout(wait);
            let mut this = shared.lock_unpoisoned();
            match event {
                Ok(Event::Terminate) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return this.terminate(inbox);
                }
                Ok(event) => this.handle(event),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            this.check_timeouts();
            if this.last_check.elapsed() >= EXIT_CHECK {
                this.last_check = Instant::now();
                this.check_exits();
                this.fill_empty_slots();
                // A channel found full is tried again at least this often,
                // not only after its worker's next answer (which may
                // never come when the worker holds nothing).
                for worker in this.slots.iter_mut().flatten() {
                    worker.unblock();
                }
            }
        }
    }

    /// New chunks from a caller's thread, offered at once to the workers
    /// with room (the rest wait in the queue for the pool's thread). Whether
    /// the pool's thread has to look again now: a task timeout runs from
    /// when its chunk starts, and its next wake-up was reckoned before.
    pub fn submit(&mut self, tasks: Vec<Task<A, R>>) -> bool {
        if self.stopped {
            for task in tasks {
                task.fail(TaskErrorKind::Terminated.into());
            }
            return false;
        }
        self.enqueue(tasks);
        self.dispatch(None);
        self.config.task_timeout.is_some()
    }

    /// New chunks join the queue, or fail at once when the pool takes no
    /// more.
    fn enqueue(&mut self, tasks: Vec<Task<A, R>>) {
        for mut task in tasks {
            if let Some(error) = &self.broken {
                task.fail(error.clone());
            } else if self.closing {
                task.fail(TaskErrorKind::Closed.into());
            } else {
                task.retries = self.config.retries;
                self.queue.push_back(task);
            }
        }
    }

    fn handle(&mut self, event: Event<A, R>) {
        match event {
            Event::Submit(tasks) => self.enqueue(tasks),
            Event::Initialized { slot, generation } => {
                if self.worker(slot, generation).is_some_and(|w| w.is_ready()) {
                    self.init_failures = 0;
                }
            }
            Event::Answered { slot, generation } => {
                let max_tasks = self.config.max_tasks_per_child;
                if let Some(worker) = self.worker(slot, generation) {
                    worker.answered(max_tasks);
                }
            }
            Event::Malformed {
                slot,
                generation,
                reason,
            } => {
                if let Some(worker) = self.worker(slot, generation) {
                    worker.kill_for_protocol(reason);
                }
            }
            Event::Gone { slot, generation } => {
                if self.worker(slot, generation).is_some() {
                    self.replace(slot, true);
                }
            }
            Event::Close => self.closing = true,
            // Only for the pool's thread to reckon its next wake-up again.
            Event::Offered => {}
            Event::Terminate => self.terminating = true,
        }
    }

    /// Worker `slot`, if it is still generation `generation`.
    fn worker(&mut self, slot: usize, generation: u64) -> Option<&mut Worker<A, R>> {
        self.slots
            .get_mut(slot)?
            .as_mut()
            .filter(|w| w.generation() == generation)
    }

    /// Gives queued tasks to the workers that can take them, each to the
    /// one holding fewest (so a task does not wait behind a long one while
    /// another worker is idle).
    ///
    /// `inbox`: the pool's thread's events, taken between two offers (see
    /// [`take_events`](Self::take_events)); `None` from a caller's thread.
    fn dispatch(&mut self, inbox: Option<&mpsc::Receiver<Event<A, R>>>) {
        // Before the workers' room is looked at: a reader that makes room
        // after the look tells.
        self.wanted.set(!self.queue.is_empty() || self.closing);
        while !self.queue.is_empty() && !self.terminating {
            let config = &self.config;
            let Some((_, worker)) = self
                .slots
                .iter_mut()
                .flatten()
                .filter_map(|w| Some((w.room(config)?, w)))
                .min_by_key(|(held, _)| *held)
            else {
                return;
            };
            let Some(task) = self.queue.pop_front() else {
                return;
            };
            match worker.offer(task) {
                Offer::Taken => {
                    if let Some(inbox) = inbox {
                        self.take_events(inbox);
                    }
                }
                Offer::Busy(task) => self.queue.push_front(task),
                Offer::Refused(task, reason) => task.fail(
                    TaskErrorKind::Protocol {
                        pid: worker.pid(),
                        reason: format!("the task could not be sent: {reason}"),
                    }
                    .into(),
                ),
            }
        }
        self.wanted.set(!self.queue.is_empty() || self.closing);
    }

    /// Handles the events that came while a task was being offered, so
    /// that a worker's end, a retirement or a terminate request is acted on
    /// while the other tasks of a large submission are still being sent (a
    /// chunk takes a while to write), not after the last; a terminate
    /// request stops the offers.
    fn take_events(&mut self, inbox: &mpsc::Receiver<Event<A, R>>) {
        while !self.terminating {
            match inbox.try_recv() {
                Ok(Event::Terminate) | Err(mpsc::TryRecvError::Disconnected) => self.terminating = true,
                Ok(event) => self.handle(event),
                Err(mpsc::TryRecvError::Empty) => return,
            }
        }
    }

    /// When the closing pool has nothing left for a worker, it retires.
    fn retire_idle(&mut self) {
        if self.queue.is_empty() {
            for worker in self.slots.iter_mut().flatten() {
                if worker.is_idle() {
                    worker.retire();
                }
            }
        }
    }

    /// How long the thread may wait for an event: until the next check of
    /// the workers' processes, or the next task timeout.
    fn next_wakeup(&self) -> Duration {
        let mut wait = EXIT_CHECK;
        if let Some(timeout) = self.config.task_timeout {
            let now = Instant::now();
            for worker in self.slots.iter().flatten() {
                let since = worker.running_since().map(|(since, _)| since);
                if let Some(since) = since.or_else(|| worker.initializing_since()) {
                    wait = wait.min((since + timeout).saturating_duration_since(now));
                }
            }
        }
        wait
    }

    fn check_timeouts(&mut self) {
        let Some(timeout) = self.config.task_timeout else {
            return;
        };
        for worker in self.slots.iter_mut().flatten() {
            if let Some((since, id)) = worker.running_since()
                && since.elapsed() >= timeout
            {
                worker.kill_for_timeout(id);
            } else if worker
                .initializing_since()
                .is_some_and(|since| since.elapsed() >= timeout)
            {
                worker.kill_for_init_timeout();
            }
        }
    }

    /// A worker whose process exited and whose channel, against every
    /// backend's promise, stayed connected past the grace is ended anyway.
    fn check_exits(&mut self) {
        for slot in 0..self.slots.len() {
            let overdue = self.slots[slot]
                .as_mut()
                .and_then(Worker::exited_since)
                .is_some_and(|at| at.elapsed() >= EXIT_GRACE);
            if overdue {
                self.replace(slot, false);
            }
        }
    }

    /// Ends worker `slot`, settles the tasks it held, and starts another
    /// in its place if there is work for it.
    fn replace(&mut self, slot: usize, reader_done: bool) {
        let Some(worker) = self.slots[slot].take() else {
            return;
        };
        let Ended {
            pid,
            status,
            mut held,
            timed_out,
            protocol,
            ready,
            init_panic,
            init_timed_out,
        } = worker.end(reader_done);
        if !ready {
            // It ran none of its tasks: they go back first, in order.
            while let Some(task) = held.pop_back() {
                self.queue.push_front(task);
            }
            let initializer = self.config.init.as_ref().map_or("", |init| init.name());
            let error = match (init_panic, protocol) {
                (Some(message), _) => TaskErrorKind::InitPanicked {
                    initializer,
                    pid,
                    message,
                },
                (None, Some(reason)) => TaskErrorKind::Protocol { pid, reason },
                (None, None) if init_timed_out => TaskErrorKind::InitTimeout {
                    initializer,
                    pid,
                    after: self.config.task_timeout.unwrap_or_default(),
                },
                (None, None) => TaskErrorKind::InitDied {
                    initializer,
                    pid,
                    status,
                },
            };
            self.init_failures += 1;
            if self.init_failures >= INIT_FAILURES {
                self.give_up(&error.into());
            } else if !self.closing || !self.queue.is_empty() {
                self.start(slot);
            }
            return;
        }
        if let Some(mut head) = held.pop_front() {
            let error = if timed_out == Some(head.id()) {
                Some(TaskErrorKind::Timeout {
                    pid,
                    after: self.config.task_timeout.unwrap_or_default(),
                })
            } else if timed_out.is_some() {
                // Killed for a task it had already answered: this one is
                // not to blame.
                None
            } else if let Some(reason) = protocol {
                Some(TaskErrorKind::Protocol { pid, reason })
            } else if head.retries > 0 {
                head.retries -= 1;
                None
            } else {
                Some(TaskErrorKind::WorkerDied { pid, status })
            };
            match error {
                Some(error) => head.fail(error.into()),
                None => held.push_front(head),
            }
        }
        // What it held and had not started goes first, in order.
        while let Some(task) = held.pop_back() {
            self.queue.push_front(task);
        }
        if !self.closing || !self.queue.is_empty() {
            self.start(slot);
        }
    }

    /// The initializer kept failing: kills every worker, and fails every
    /// task held, queued or given later with `error`.
    fn give_up(&mut self, error: &TaskError) {
        self.broken = Some(error.clone());
        for slot in 0..self.slots.len() {
            if let Some(worker) = self.slots[slot].take() {
                // Killed now; its reader is not waited for (see
                // `terminate`).
                for task in worker.end(false).held {
                    task.fail(error.clone());
                }
            }
        }
        for task in self.queue.drain(..) {
            task.fail(error.clone());
        }
    }

    /// Starts a worker in empty `slot`; when none can be started and no
    /// worker is left, the queued tasks fail.
    fn start(&mut self, slot: usize) {
        if self.broken.is_some() {
            return;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        match Worker::start(&self.config, slot, generation, self.outbox.clone(), &self.wanted) {
            Ok(worker) => self.slots[slot] = Some(worker),
            Err(e) => {
                if self.slots.iter().all(Option::is_none) {
                    let e = Arc::new(e);
                    for task in self.queue.drain(..) {
                        task.fail(TaskErrorKind::Spawn(Arc::clone(&e)).into());
                    }
                }
            }
        }
    }

    /// Empty slots (a start that failed) are tried again while there is
    /// work.
    fn fill_empty_slots(&mut self) {
        if self.broken.is_some() || (self.closing && self.queue.is_empty()) {
            return;
        }
        for slot in 0..self.slots.len() {
            if self.slots[slot].is_none() {
                self.start(slot);
            }
        }
    }

    /// Kills every worker; every task not answered fails with
    /// [`TaskErrorKind::Terminated`].
    ///
    /// Each killed worker's reader is waited for until it reports `Gone`,
    /// for [`EXIT_GRACE`] at most: its end of the results channel goes with
    /// it (a shared-memory segment is removed with its last participant),
    /// so a dropped pool leaves nothing behind. A reader that does not
    /// report in time is left to end on its own, so that the pool's drop
    /// never hangs on a backend that fails to notice a killed worker: on
    /// Windows a worker killed before it opened its ends kept them open in
    /// the parent until the backends were told their child
    /// (`transport_core::spawned`), and its reader waited out this bound.
    fn terminate(&mut self, inbox: &mpsc::Receiver<Event<A, R>>) {
        self.closing = true;
        self.stopped = true;
        let mut killed = Vec::new();
        for slot in 0..self.slots.len() {
            if let Some(mut worker) = self.slots[slot].take() {
                worker.kill();
                killed.push((slot, worker));
            }
        }
        let deadline = Instant::now() + EXIT_GRACE;
        let mut gone = Vec::new();
        while gone.len() < killed.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match inbox.recv_timeout(left) {
                Ok(Event::Gone { slot, generation })
                    if killed
                        .iter()
                        .any(|(s, w)| *s == slot && w.generation() == generation) =>
                {
                    gone.push((slot, generation));
                }
                Ok(Event::Submit(tasks)) => {
                    for task in tasks {
                        task.fail(TaskErrorKind::Terminated.into());
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        for (slot, worker) in killed {
            let reader_done = gone.contains(&(slot, worker.generation()));
            for task in worker.end(reader_done).held {
                task.fail(TaskErrorKind::Terminated.into());
            }
        }
        for task in self.queue.drain(..) {
            task.fail(TaskErrorKind::Terminated.into());
        }
        while let Ok(event) = inbox.try_recv() {
            drop(event);
        }
    }
}
