//! [`Outbox`]: the hub's messages to one member, in order, on the
//! member's `down` channel (code of the creating process).
//!
//! A lone small message is sent at once by the thread that queued it, once
//! it has released the queue's lock ([`Outbox::flush`]): no thread hop on a
//! request/response path. Everything else goes to the member's writer
//! thread, which merges runs of queued items into few large messages:
//! bursts (a message queued less than [`BURST_GAP`] after the previous send
//! finished), large messages, and any message that could find the
//! channel's kernel buffer full, so no thread that holds a handle ever
//! waits on a member that is slow to read.
//!
//! The last point needs to know how much the member has not read. The
//! member reports how many messages it has read with every request it
//! sends; the outbox keeps what it sent since, and sends at once only while
//! that, with the new message, stays within [`UNREAD_BUDGET`]. The budget
//! is below what every platform buffers: a Linux socket's default 208 KiB
//! of send buffer (the cost below bounds the kernel's per-message
//! overhead), a Windows pipe's 68 KiB, 1,024 messages on a Mach port.

use std::{
    collections::VecDeque,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread,
    time::{Duration, Instant},
};

use transport_core::{
    Wait,
    sync::{LockExt, wait_as},
};

use crate::{
    sys::{DownSender, Outgoing},
    wire::{Down, Item, MAX_SEGMENTS_PER_MESSAGE},
};

/// A message to a member, as the outbox holds it: shared items with their
/// segments.
pub(crate) type Message = Down<Outgoing>;

/// The most bytes of items one message carries (one ipc-channel fragment on
/// Linux is about 200 KiB; a larger message costs a socket pair).
pub(crate) const BATCH_BYTES: usize = 96 << 10;

/// A message queued less than this after the previous send to the member
/// finished is part of a burst, and is left to the writer thread, which
/// merges bursts into few messages.
pub(crate) const BURST_GAP: Duration = Duration::from_micros(2);

/// The most the member may have left unread (in [`cost`] units) for a
/// message to be sent by the thread that queued it.
pub(crate) const UNREAD_BUDGET: usize = 96 << 10;

/// Messages queued for a member that does not read them, at most (a
/// member that reads never has more than its prefetch and one answer per
/// request it waits for).
pub(crate) const MAX_BACKLOG: usize = 1 << 16;

/// How many sent messages the outbox remembers the cost of, at most; past
/// that it counts later ones as never read (it only sends less at once).
const REMEMBERED: usize = 4096;

/// What a message may take in the kernel's buffer, at most: its bytes,
/// once more for allocation rounding, and 1 KiB of bookkeeping.
fn cost(msg: &Message) -> usize {
    let len = match msg {
        Down::Items(items) => bytes_of(items),
        _ => 64,
    };
    2 * len + 1024
}

/// How a send ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// Nothing is queued.
    All,
    /// More was queued meanwhile.
    More,
    /// The outbox is closed (the member is gone, or left).
    Closed,
}

struct Line {
    msgs: VecDeque<Message>,
    closed: bool,
    /// A thread is sending; nobody else may until it is done, so messages
    /// keep their order.
    sending: bool,
    /// When the last send finished.
    last_sent: Option<Instant>,
    /// Messages ever queued (merging makes fewer of them sent): what the
    /// member reads is never more.
    pushed: u64,
    /// Messages sent, and the sum of their costs.
    sent: u64,
    sent_cost: u64,
    /// The member's latest report of messages read, and the cost of the
    /// messages up to there (as far as the outbox remembers).
    read: u64,
    read_cost: u64,
    /// (message number, `sent_cost` after it) for sent messages past
    /// `read`, oldest first.
    unread: VecDeque<(u64, u64)>,
}

impl Line {
    fn unread_cost(&self) -> usize {
        usize::try_from(self.sent_cost - self.read_cost).unwrap_or(usize::MAX)
    }

    /// Records messages as sent.
    fn sent(&mut self, costs: impl IntoIterator<Item = usize>) {
        for c in costs {
            self.sent += 1;
            self.sent_cost += c as u64;
            if self.unread.len() < REMEMBERED {
                self.unread.push_back((self.sent, self.sent_cost));
            }
        }
        self.last_sent = Some(Instant::now());
    }
}

/// Messages on their way to one member.
pub(crate) struct Outbox {
    line: Mutex<Line>,
    /// Wakes the writer thread.
    ready: Condvar,
    /// The channel; whoever set `sending` uses it. Dropped once the outbox
    /// is closed, which the member sees as the hub gone.
    down: Mutex<Option<DownSender>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    /// Starts the writer thread for `down`.
    pub(crate) fn start(down: DownSender) -> std::io::Result<Arc<Outbox>> {
        let outbox = Arc::new(Outbox {
            line: Mutex::new(Line {
                msgs: VecDeque::new(),
                closed: false,
                sending: false,
                last_sent: None,
                pushed: 0,
                sent: 0,
                sent_cost: 0,
                read: 0,
                read_cost: 0,
                unread: VecDeque::new(),
            }),
            ready: Condvar::new(),
            down: Mutex::new(Some(down)),
        });
        let writer = Arc::clone(&outbox);
        thread::Builder::new()
            .name("transport-queue-writer".into())
            .spawn(move || writer.run())?;
        Ok(outbox)
    }

    fn lock(&self) -> MutexGuard<'_, Line> {
        self.line.lock_unpoisoned()
    }

    /// Queues `msg` for the member. It leaves when [`flush`](Self::flush)
    /// is called. False when the member
    /// has more than [`MAX_BACKLOG`] messages waiting, unsent because it
    /// does not read them: the hub drops such a member.
    pub(crate) fn push(&self, msg: Message) -> bool {
        let mut line = self.lock();
        if !line.closed {
            line.msgs.push_back(msg);
            line.pushed += 1;
        }
        line.msgs.len() <= MAX_BACKLOG
    }

    /// Sends what is queued from this thread if that cannot block and is
    /// not part of a burst; otherwise wakes the writer thread for it.
    pub(crate) fn flush(&self) {
        let mut line = self.lock();
        if line.sending || line.closed || line.msgs.is_empty() {
            // Whoever sends sees the queued messages when done.
            return;
        }
        let burst = line.last_sent.is_some_and(|t| t.elapsed() < BURST_GAP);
        let batch_cost: usize = line.msgs.iter().map(cost).sum();
        if burst || line.unread_cost().saturating_add(batch_cost) > UNREAD_BUDGET {
            drop(line);
            self.ready.notify_one();
            return;
        }
        let batch = coalesce(&mut line.msgs);
        line.sending = true;
        drop(line);
        if self.send(batch) == Sent::More {
            // What was queued meanwhile is the writer's.
            self.ready.notify_one();
        }
    }

    /// Turns the member away: sends `reason` as its only message, and
    /// closes.
    pub(crate) fn refuse(&self, reason: String) {
        let _ = self.push(Down::Refused {
            already_used: false,
            reason,
        });
        self.flush();
        self.close();
    }

    /// The member has read its first `read` messages. False if it says it
    /// read more than was sent to it (it would make the hub send at once
    /// what could fill its channel).
    pub(crate) fn read(&self, read: u64) -> bool {
        let mut line = self.lock();
        if read > line.pushed {
            return false;
        }
        if read <= line.read {
            return true;
        }
        line.read = read;
        while line.unread.front().is_some_and(|&(n, _)| n <= read) {
            if let Some((_, c)) = line.unread.pop_front() {
                line.read_cost = c;
            }
        }
        true
    }

    /// Stops sending; whatever was not sent is dropped, and the channel
    /// closes as soon as no send is under way.
    pub(crate) fn close(&self) {
        let mut line = self.lock();
        line.closed = true;
        line.msgs.clear();
        let idle = !line.sending;
        drop(line);
        if idle {
            self.down.lock_unpoisoned().take();
        }
        self.ready.notify_one();
    }

    /// Sends `batch` in order, for the thread that set `sending`, and ends
    /// the send.
    fn send(&self, batch: Vec<Message>) -> Sent {
        let costs: Vec<usize> = batch.iter().map(cost).collect();
        let mut down = self.down.lock_unpoisoned();
        // A failed send means the member is gone; the hub learns it from the
        // member's `up` channel closing, and removes it.
        let ok = down
            .as_ref()
            .is_some_and(|d| batch.into_iter().all(|msg| d.send(msg).is_ok()));
        let mut line = self.lock();
        line.sending = false;
        line.sent(costs);
        if !ok {
            line.closed = true;
            line.msgs.clear();
        }
        if line.closed {
            // Nobody sends any more: the channel closes now.
            down.take();
            return Sent::Closed;
        }
        if line.msgs.is_empty() {
            Sent::All
        } else {
            Sent::More
        }
    }

    /// The writer thread.
    fn run(&self) {
        loop {
            let mut line = self.lock();
            while (line.msgs.is_empty() || line.sending) && !line.closed {
                line = wait_as(&self.ready, line, Wait::Forever).0;
            }
            if line.closed {
                // `close` or the last send dropped the channel.
                return;
            }
            let batch = coalesce(&mut line.msgs);
            line.sending = true;
            drop(line);
            if self.send(batch) == Sent::Closed {
                return;
            }
        }
    }
}

/// Takes the queued messages, merging runs of item batches into messages of
/// up to [`BATCH_BYTES`], so a busy member gets few large messages.
fn coalesce(msgs: &mut VecDeque<Message>) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(msgs.len());
    // The bytes and shared items of `out`'s last message, when it is
    // `Items`.
    let (mut last_bytes, mut last_segments) = (0, 0);
    for msg in msgs.drain(..) {
        let (bytes, shared) = match &msg {
            Down::Items(items) => (bytes_of(items), segments(items)),
            _ => (0, 0),
        };
        match (out.last_mut(), msg) {
            (Some(Down::Items(prev)), Down::Items(more))
                if last_bytes + bytes <= BATCH_BYTES
                    && last_segments + shared <= MAX_SEGMENTS_PER_MESSAGE =>
            {
                last_bytes += bytes;
                last_segments += shared;
                prev.extend(more);
            }
            (_, msg) => {
                (last_bytes, last_segments) = (bytes, shared);
                out.push(msg);
            }
        }
    }
    out
}

/// What a batch of items weighs in a message: the inline items' bytes, a
/// little for each shared item (its descriptor).
pub(crate) fn bytes_of(items: &[Item<Outgoing>]) -> usize {
    items.iter().map(weight).sum()
}

/// What one item weighs in a message.
pub(crate) fn weight<S>(item: &Item<S>) -> usize {
    match item {
        Item::Inline(b) => b.0.len() + 8,
        Item::Shared(_) => 64,
    }
}

/// How many shared items a batch has.
pub(crate) fn segments<S>(items: &[Item<S>]) -> usize {
    items.iter().filter(|i| matches!(i, Item::Shared(_))).count()
}
