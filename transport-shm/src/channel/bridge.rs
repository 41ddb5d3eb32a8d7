//! Async readiness: one bridge thread per process, started on first use,
//! that sleeps on the wake-up words of every end an async task waits for,
//! all at once, and wakes the tasks.
//!
//! # How an end waits
//! `poll_*_ready` looks, spins for [`POLL_SPIN`](super::chan::POLL_SPIN),
//! then *arms* the end's [`Link`]: under the bridge's lock it reads the end's
//! wake-up word (the receiver's `data_seq`, or the sender's lane
//! `space_seq`), counts itself among the end's sleepers, stores the waker and
//! a [`Probe`] (a snapshot of the end's positions), and rings the bridge;
//! then it looks again (register, then re-check). Being counted as a sleeper
//! is what makes the peer's existing wake-up path (bump the word, wake its
//! sleepers) reach the bridge, exactly as it reaches a sleeping thread.
//!
//! The bridge *fires* an armed link (uncounts it, disarms it, wakes its
//! task) when
//! - its word no longer holds the value read when arming (data, room, or a
//!   departure: dropped ends bump every word),
//! - on a busy-poll channel, whose peers wake nobody, its probe says the end
//!   is ready,
//! - every [`LIVENESS_PERIOD`], when every peer of the end is dead (killed
//!   processes depart from nothing); the task's next poll then re-checks at
//!   once and sees the disconnection.
//!
//! # How the bridge sleeps
//! - On Linux 5.16+ and Windows, on all armed words and its own alarm at once
//!   (`futex_waitv`, 127 words; `WaitForMultipleObjects`, 63); ends past
//!   that limit are looked at every [`OVERFLOW_POLL`].
//! - Without a multi-word wait (macOS; older Linux kernels, found at run
//!   time), on the one armed word when there is one: to make it look at its
//!   table again, a registering thread bumps that word (a spurious wake-up
//!   at worst for its waiter, which is the bridge itself) and wakes it. With
//!   several armed ends it looks at them every [`OVERFLOW_POLL`].
//! - While any armed end belongs to a busy-poll channel, it spins instead of
//!   sleeping (busy-poll trades a core for latency; here one core per
//!   process, not per end).

use std::{
    fmt, hint, io,
    panic::{self, AssertUnwindSafe},
    sync::{
        Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError,
        atomic::{AtomicBool, Ordering, fence},
    },
    task::Waker,
    thread::{self, ThreadId},
    time::{Duration, Instant},
};
use transport_core::sync::LockExt;

use super::{
    chan::LIVENESS_PERIOD,
    link::{Link, Probe},
};
use crate::sys::{self, WaitWord};

/// How often the bridge looks at armed ends it cannot sleep on.
pub(crate) const OVERFLOW_POLL: Duration = Duration::from_millis(1);
/// How long dropping an armed end waits for the bridge to let go of its
/// mapping (so that the segment's name goes with the end, even if the
/// process exits right after).
const RELEASE_WAIT: Duration = Duration::from_secs(1);

/// An armed link as the bridge watches it: fired once its word changed, or
/// on a busy-poll channel (whose peers wake nobody) once its probe says it
/// is ready. A blocking-mode end relies on its word alone: the peer bumps it
/// for every change that counts, so a missing bump is a bug to find, not to
/// paper over by looking again later.
#[derive(Clone)]
struct Watch {
    link: Arc<Link>,
    expected: u32,
    probe: Probe,
}

/// An armed link: what to watch, and whom to wake.
struct Armed {
    watch: Watch,
    waker: Waker,
}

impl Watch {
    fn fired(&self) -> bool {
        self.link.word().load(Ordering::SeqCst) != self.expected
            || (self.link.chan.busy && self.link.ready(self.probe))
    }

    fn wait_word(&self) -> WaitWord<'_> {
        WaitWord {
            parker: self.link.chan.seg.parker(),
            word: self.link.word(),
            expected: self.expected,
        }
    }
}

#[derive(Default)]
struct Table {
    armed: Vec<Armed>,
    thread: Option<ThreadId>,
    /// One-word mode: the link whose word the bridge sleeps on now.
    sleeping_on: Option<Arc<Link>>,
    /// Threads waiting in `forget` for the bridge to drop its watches.
    forgetting: usize,
}

/// The bridge: its table of armed ends and its thread.
pub(crate) struct Bridge {
    alarm: sys::Alarm,
    table: Mutex<Table>,
    /// Signalled when the bridge dropped its watches.
    released: Condvar,
    /// No multi-word wait (none on this platform, or found missing, or
    /// forced in tests): sleep on one word at a time.
    one_word: AtomicBool,
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("one_word", &self.one_word)
            .finish_non_exhaustive()
    }
}

impl Bridge {
    fn new(one_word: bool) -> io::Result<Bridge> {
        Ok(Bridge {
            alarm: sys::Alarm::new()?,
            table: Mutex::new(Table::default()),
            released: Condvar::new(),
            one_word: AtomicBool::new(one_word || sys::MULTI_WAIT_MAX == 0),
        })
    }

    /// The process's bridge (its thread starts on the first arming).
    pub(super) fn global() -> io::Result<&'static Bridge> {
        static BRIDGE: OnceLock<Bridge> = OnceLock::new();
        if let Some(b) = BRIDGE.get() {
            return Ok(b);
        }
        let b = Bridge::new(false)?;
        Ok(BRIDGE.get_or_init(|| b))
    }

    /// A bridge of its own for a test, in one-word mode if asked.
    #[cfg(test)]
    pub(crate) fn leaked(one_word: bool) -> &'static Bridge {
        Box::leak(Box::new(Bridge::new(one_word).expect("a bridge")))
    }

    /// The name of the bridge thread (the tests look for it).
    const THREAD_NAME: &'static str = "shm-bridge";

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock_unpoisoned()
    }

    pub(super) fn arm(&'static self, link: &Arc<Link>, waker: &Waker, probe: Probe) -> io::Result<()> {
        let mut t = self.lock();
        if t.thread.is_none() {
            let handle = thread::Builder::new()
                .name(Self::THREAD_NAME.into())
                .spawn(move || self.run())?;
            transport_core::event!(DEBUG, "shared-memory bridge thread started");
            t.thread = Some(handle.thread().id());
        }
        // The word first, then the sleeping flag, then (the caller) the
        // condition: a peer that changes the condition after our look sees
        // the flag and bumps the word past `expected`. Every arming sets
        // the flag: a peer's wake-up clears it.
        let expected = link.word().load(Ordering::SeqCst);
        link.sleeping().store(1, Ordering::SeqCst);
        let changed = match t.armed.iter_mut().find(|a| Arc::ptr_eq(&a.watch.link, link)) {
            Some(a) => {
                if !a.waker.will_wake(waker) {
                    a.waker.clone_from(waker);
                }
                a.watch.probe = probe;
                std::mem::replace(&mut a.watch.expected, expected) != expected
            }
            None => {
                link.armed.store(true, Ordering::SeqCst);
                t.armed.push(Armed {
                    watch: Watch {
                        link: Arc::clone(link),
                        expected,
                        probe,
                    },
                    waker: waker.clone(),
                });
                true
            }
        };
        if changed {
            self.interrupt(&mut t);
        }
        drop(t);
        // Order the flag's store before the caller's look at the condition,
        // which may use weaker loads.
        fence(Ordering::SeqCst);
        Ok(())
    }

    /// Makes the bridge look at its table again. With the lock held, so
    /// that the bridge's check of the alarm under the lock cannot miss it.
    fn interrupt(&self, t: &mut Table) {
        if let Some(link) = t.sleeping_on.take() {
            // One-word mode: the bridge sleeps on this link's word. Bump it
            // and wake it; if nobody else bumped it since it was armed,
            // expect the bumped value, so its task is not woken for nothing.
            let word = link.word();
            let before = word.fetch_add(1, Ordering::SeqCst);
            if let Some(a) = t.armed.iter_mut().find(|a| Arc::ptr_eq(&a.watch.link, &link)) {
                if a.watch.expected == before {
                    a.watch.expected = before.wrapping_add(1);
                }
            }
            link.chan.seg.wake(word, true);
        }
        self.alarm.ring();
    }

    /// Takes `link` out of the table, if it is there, and uncounts it.
    fn remove(&self, t: &mut Table, link: &Link) -> Option<Armed> {
        let i = t.armed.iter().position(|a| std::ptr::eq(&*a.watch.link, link))?;
        let a = t.armed.swap_remove(i);
        a.watch.link.release();
        Some(a)
    }

    pub(super) fn disarm(&self, link: &Link) {
        let mut t = self.lock();
        let removed = self.remove(&mut t, link);
        if removed.is_some() {
            self.interrupt(&mut t);
        }
        drop(t);
        drop(removed);
    }

    pub(super) fn forget(&self, link: &Arc<Link>) {
        let mut t = self.lock();
        // The table's reference goes now; its waker after the lock.
        let removed = self.remove(&mut t, link).map(|a| a.waker);
        if removed.is_some() || Arc::strong_count(link) > 1 {
            self.interrupt(&mut t);
        }
        if t.thread == Some(thread::current().id()) {
            // A waker run by the bridge dropped an end: the bridge drops
            // its watches when this returns.
            return;
        }
        let deadline = Instant::now() + RELEASE_WAIT;
        // Our reference, and the bridge's watch if it has one.
        while Arc::strong_count(link) > 1 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            t.forgetting += 1;
            t = self
                .released
                .wait_timeout(t, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            t.forgetting -= 1;
        }
        drop(t);
        drop(removed);
    }

    /// The bridge thread.
    fn run(&'static self) {
        let mut watches: Vec<Watch> = Vec::new();
        let mut wakers: Vec<Waker> = Vec::new();
        let mut next_tick = Instant::now() + LIVENESS_PERIOD;
        loop {
            let seq = self.alarm.seq();
            watches.clear();
            let now = Instant::now();
            let tick = now >= next_tick;
            if tick {
                next_tick = now + LIVENESS_PERIOD;
            }
            {
                let mut t = self.lock();
                if t.forgetting > 0 {
                    self.released.notify_all();
                }
                let mut i = 0;
                while i < t.armed.len() {
                    if t.armed[i].watch.fired() {
                        let a = t.armed.swap_remove(i);
                        a.watch.link.release();
                        wakers.push(a.waker);
                    } else {
                        i += 1;
                    }
                }
                watches.extend(t.armed.iter().map(|a| a.watch.clone()));
            }
            wake_all(&mut wakers);
            if tick && self.fire_orphans(&watches) {
                continue;
            }
            if watches.is_empty() {
                let _ = self.alarm.wait(seq, &[], None);
            } else if watches.iter().any(|w| w.link.chan.busy) {
                self.spin(seq, &watches, next_tick);
            } else {
                self.sleep(seq, &watches, next_tick.saturating_duration_since(Instant::now()));
            }
        }
    }

    /// Fires the watched links whose peers are all dead; whether any.
    fn fire_orphans(&self, watches: &[Watch]) -> bool {
        let dead: Vec<&Watch> = watches.iter().filter(|w| !w.link.peer_alive()).collect();
        if dead.is_empty() {
            return false;
        }
        let mut wakers = Vec::new();
        let mut t = self.lock();
        for w in dead {
            // Told before the wake-up, so the task's poll sees it.
            w.link.peer_dead.store(true, Ordering::SeqCst);
            if let Some(a) = self.remove(&mut t, &w.link) {
                wakers.push(a.waker);
            }
        }
        drop(t);
        wake_all(&mut wakers);
        true
    }

    /// Spins until a ring after `seq`, a watch fires, or `until`.
    fn spin(&self, seq: u32, watches: &[Watch], until: Instant) {
        let mut round = 0u32;
        loop {
            for _ in 0..16 {
                hint::spin_loop();
            }
            if self.alarm.seq() != seq || watches.iter().any(Watch::fired) {
                return;
            }
            round = round.wrapping_add(1);
            if round % 64 == 0 {
                if Instant::now() >= until {
                    return;
                }
                thread::yield_now();
            }
        }
    }

    /// Sleeps until a ring after `seq`, a watched word changes, or
    /// `timeout`.
    fn sleep(&self, seq: u32, watches: &[Watch], timeout: Duration) {
        if !self.one_word.load(Ordering::Relaxed) {
            let n = watches.len().min(sys::MULTI_WAIT_MAX);
            let words: Vec<WaitWord<'_>> = watches[..n].iter().map(Watch::wait_word).collect();
            let timeout = if watches.len() > n {
                timeout.min(OVERFLOW_POLL)
            } else {
                timeout
            };
            match self.alarm.wait(seq, &words, Some(timeout)) {
                Ok(()) => return,
                // No multi-word wait after all (an old Linux kernel).
                Err(_) => self.one_word.store(true, Ordering::Relaxed),
            }
        }
        if let [w] = watches {
            {
                let mut t = self.lock();
                if self.alarm.seq() != seq {
                    return;
                }
                t.sleeping_on = Some(Arc::clone(&w.link));
            }
            w.link.chan.seg.wait(w.link.word(), w.expected, Some(timeout));
            self.lock().sleeping_on = None;
        } else {
            let _ = self.alarm.wait(seq, &[], Some(timeout.min(OVERFLOW_POLL)));
        }
    }
}

/// Wakes the tasks of fired links. A waker that panics is reported by the
/// panic hook and does not take the bridge down with it.
fn wake_all(wakers: &mut Vec<Waker>) {
    for w in wakers.drain(..) {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| w.wake()));
    }
}

// The bridge sleeps in `futex_waitv` and on threads Miri does not run.
#[cfg(all(test, not(miri)))]
mod tests {
    use std::{
        sync::{Arc, Mutex, atomic::Ordering},
        task::{Context, Poll, Wake, Waker},
        thread::{self, Thread},
        time::{Duration, Instant},
    };

    use transport_core::backend::{Frame, PollRecv, PollSend, RawReceiver, RawSender, Wait};

    use super::Bridge;
    use crate::{ShmConfig, ShmReceiver, channel::raw_channel};

    /// Wakers that record their index and unpark the test thread.
    struct Tag(Arc<(Thread, Mutex<Vec<usize>>)>, usize);

    impl Wake for Tag {
        fn wake(self: Arc<Self>) {
            self.0.1.lock().unwrap().push(self.1);
            self.0.0.unpark();
        }
    }

    struct Wakers {
        shared: Arc<(Thread, Mutex<Vec<usize>>)>,
        wakers: Vec<Waker>,
    }

    impl Wakers {
        fn new(n: usize) -> Wakers {
            let shared = Arc::new((thread::current(), Mutex::new(Vec::new())));
            let wakers = (0..n)
                .map(|i| Waker::from(Arc::new(Tag(Arc::clone(&shared), i))))
                .collect();
            Wakers { shared, wakers }
        }

        fn cx(&self, i: usize) -> Context<'_> {
            Context::from_waker(&self.wakers[i])
        }

        /// Waits (bounded) until task `i` was woken.
        fn expect(&self, i: usize) {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if self.shared.1.lock().unwrap().contains(&i) {
                    return;
                }
                let now = Instant::now();
                assert!(now < deadline, "task {i} was never woken");
                thread::park_timeout(deadline - now);
            }
        }
    }

    fn small() -> ShmConfig {
        ShmConfig::bounded(1).max_message_size(64).buffer_bytes(4096)
    }

    fn sleeping(rx: &ShmReceiver) -> u32 {
        rx.chan().header().rx_sleeping.load(Ordering::SeqCst)
    }

    #[test]
    fn one_word_mode_sleeps_on_one_word_and_polls_several() {
        let bridge = Bridge::leaked(true);
        let ends: Vec<_> = (0..3).map(|_| raw_channel(&small()).unwrap()).collect();
        for (_, rx) in &ends {
            rx.use_bridge(bridge);
        }
        let w = Wakers::new(3);
        // One armed end: the bridge sleeps on its word.
        assert!(ends[0].1.poll_recv_ready(&mut w.cx(0)).is_pending());
        let (tx0, rx0) = &ends[0];
        tx0.send_bytes(b"0", Wait::Never).unwrap();
        w.expect(0);
        assert!(rx0.poll_recv_ready(&mut w.cx(0)).is_ready());
        // Two armed ends: a registration interrupts the one-word sleep.
        assert!(ends[1].1.poll_recv_ready(&mut w.cx(1)).is_pending());
        assert!(ends[2].1.poll_recv_ready(&mut w.cx(2)).is_pending());
        ends[2].0.send_bytes(b"2", Wait::Never).unwrap();
        w.expect(2);
        ends[1].0.send_bytes(b"1", Wait::Never).unwrap();
        w.expect(1);
        for (_, rx) in &ends[1..] {
            assert!(rx.poll_recv_ready(&mut w.cx(0)).is_ready());
            assert_eq!(sleeping(rx), 0, "the sender's wake-up cleared the flag");
        }
    }

    #[test]
    fn ends_past_one_multi_word_wait_are_still_woken() {
        let bridge = Bridge::leaked(false);
        let n = crate::sys::MULTI_WAIT_MAX + 3;
        let ends: Vec<_> = (0..n).map(|_| raw_channel(&small()).unwrap()).collect();
        let w = Wakers::new(n);
        for (i, (_, rx)) in ends.iter().enumerate() {
            rx.use_bridge(bridge);
            assert!(rx.poll_recv_ready(&mut w.cx(i)).is_pending());
        }
        for i in [n - 1, 0] {
            ends[i].0.send_bytes(b"x", Wait::Never).unwrap();
            w.expect(i);
        }
    }

    #[test]
    fn a_full_ring_wakes_its_sender_in_one_word_mode() {
        let bridge = Bridge::leaked(true);
        let (tx, rx) = raw_channel(&small()).unwrap();
        tx.use_bridge(bridge);
        tx.send_bytes(b"fill", Wait::Never).unwrap();
        let w = Wakers::new(1);
        assert!(tx.poll_send_ready(&mut w.cx(0)).is_pending());
        drop(rx.recv_frame(Wait::Never).unwrap());
        w.expect(0);
        assert!(matches!(tx.poll_send_ready(&mut w.cx(0)), Poll::Ready(Ok(()))));
    }

    #[test]
    fn at_a_lap_start_a_sender_is_ready_for_what_it_sends_not_the_limit() {
        // A 64 KiB ring for messages up to 128 KiB: after a lap, room for a
        // full-size message only comes once the ring is drained.
        let config = ShmConfig::default()
            .max_message_size(128 << 10)
            .buffer_bytes(64 << 10);
        let bridge = Bridge::leaked(false);
        let (tx, rx) = raw_channel(&config).unwrap();
        tx.use_bridge(bridge);
        let small = [1u8; 1000];
        let mut queued = 0;
        while tx.send_bytes(&small, Wait::Never).is_ok() {
            queued += 1;
        }
        let w = Wakers::new(1);
        assert!(tx.poll_send_ready(&mut w.cx(0)).is_pending());
        // Ten records read: room for more like them, far from 128 KiB.
        let mut frames: Vec<_> = (0..10).map(|_| rx.recv_frame(Wait::Never).unwrap()).collect();
        frames.clear();
        w.expect(0);
        assert!(matches!(tx.poll_send_ready(&mut w.cx(0)), Poll::Ready(Ok(()))));
        tx.send_bytes(&small, Wait::Never).unwrap();
        // A larger message than the room: refused once, then waited for at
        // its own size.
        let big = vec![2u8; 20 << 10];
        assert!(tx.send_bytes(&big, Wait::Never).is_err());
        assert!(tx.poll_send_ready(&mut w.cx(0)).is_pending());
        for _ in 10..queued {
            drop(rx.recv_frame(Wait::Never).unwrap());
        }
        w.expect(0);
        assert!(matches!(tx.poll_send_ready(&mut w.cx(0)), Poll::Ready(Ok(()))));
        tx.send_bytes(&big, Wait::Never).unwrap();
        assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), &small[..]);
        assert_eq!(rx.recv_frame(Wait::Never).unwrap().bytes(), &big[..]);
    }

    #[test]
    fn every_arming_sets_the_flag_and_a_wake_up_clears_it() {
        let bridge = Bridge::leaked(false);
        let (tx, rx) = raw_channel(&small()).unwrap();
        rx.use_bridge(bridge);
        let w = Wakers::new(1);
        assert!(rx.poll_recv_ready(&mut w.cx(0)).is_pending());
        assert_eq!(sleeping(&rx), 1);
        tx.send_bytes(b"x", Wait::Never).unwrap();
        w.expect(0);
        assert_eq!(sleeping(&rx), 0, "the sender claimed the flag as it woke");
        drop(rx.recv_frame(Wait::Never).unwrap());
        assert!(rx.poll_recv_ready(&mut w.cx(0)).is_pending());
        assert_eq!(sleeping(&rx), 1);
        // A flag cleared while armed (by a wake-up that the task has not
        // acted on yet) is set again by the next arming, so a later message
        // still wakes the task.
        rx.chan().header().rx_sleeping.store(0, Ordering::SeqCst);
        assert!(rx.poll_recv_ready(&mut w.cx(0)).is_pending());
        assert_eq!(sleeping(&rx), 1);
        tx.send_bytes(b"y", Wait::Never).unwrap();
        w.expect(0);
    }

    #[test]
    fn dropping_a_waiting_end_leaves_no_segment() {
        let bridge = Bridge::leaked(false);
        let (tx, rx_first) = raw_channel(&small()).unwrap();
        rx_first.use_bridge(bridge);
        let name = rx_first.segment_name().to_owned();
        let w = Wakers::new(1);
        assert!(rx_first.poll_recv_ready(&mut w.cx(0)).is_pending());
        drop(tx);
        w.expect(0);
        assert!(rx_first.poll_recv_ready(&mut w.cx(0)).is_ready());
        // Armed, then dropped: the bridge lets go of the mapping before the
        // drop returns, so the name goes with the ends.
        let (tx, rx) = raw_channel(&small()).unwrap();
        rx.use_bridge(bridge);
        let name2 = rx.segment_name().to_owned();
        assert!(rx.poll_recv_ready(&mut w.cx(0)).is_pending());
        drop(tx);
        drop(rx);
        let listed = crate::list_segments().unwrap();
        assert!(!listed.contains(&name2), "{name2} outlived its ends");
        drop(rx_first);
        assert!(!crate::list_segments().unwrap().contains(&name));
    }
}
