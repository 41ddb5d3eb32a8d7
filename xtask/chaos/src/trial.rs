//! One trial: a channel of one backend, one end in a child process, traffic,
//! and a `SIGKILL` for the child at a random moment; then what the parent
//! saw, what was lost, and what was left behind.

use std::{
    any::Any,
    fs::{self, File},
    io::{BufRead, BufReader, Read},
    os::unix::{fs::FileExt as _, process::ExitStatusExt as _},
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, OnceLock, PoisonError, mpsc},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use transport_core::{
    ChannelConfig, CommandExt as _, Handoff, PollRecv, PollSend, Receiver, RecvTimeoutError,
    SendTimeoutError, Sender, Transport,
};

use crate::{
    CAPACITY,
    child::{self, word},
    ends::{Api, Rx, Tx},
    leaks::Leaks,
    message::Msg,
    rules::{self, LossRule},
};

/// Which end the killed child holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The child sends; the parent receives.
    Producer,
    /// The child receives; the parent sends.
    Consumer,
}

impl Side {
    /// The name in the table and in the child's role.
    pub fn name(self) -> &'static str {
        match self {
            Side::Producer => "producer",
            Side::Consumer => "consumer",
        }
    }
}

/// What every trial shares.
#[derive(Debug)]
pub struct Settings {
    /// How long after the kill the parent's end may take to say
    /// `Disconnected` before the trial counts as a hang.
    pub hang_after: Duration,
    /// Where counter files go.
    pub work: PathBuf,
    /// Whether the parent keeps the `Command` it spawned the child from
    /// until the trial ends, as code that spawns from a `let mut cmd`
    /// does; if not, it is dropped as soon as the child has started.
    pub keep_command: bool,
    /// The objects left behind so far, so each leak is counted once.
    pub leaks: Mutex<Leaks>,
}

/// How long a child may take to open its end and say `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the trial as a whole may take past its kill delay and hang
/// bound (starting the child, dropping the ends) before it is abandoned as
/// hung.
const TRIAL_SLACK: Duration = Duration::from_secs(90);

/// What one trial found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// What hung, if something did.
    pub hang: Option<String>,
    /// Panics, in the parent's trial or in the child before the kill.
    pub panics: Vec<String>,
    /// Messages delivered twice or out of order.
    pub duplicates: u64,
    /// Messages whose send returned `Ok` and that were never received.
    pub lost: u64,
    /// Their frames' bytes (messages plus framing, where the rule counts
    /// bytes).
    pub lost_bytes: u64,
    /// Whether the loss is beyond the backend's documented rule.
    pub excess: Option<String>,
    /// Anything else that broke the contract: an error other than
    /// `Disconnected`, a corrupt message, a child that died on its own.
    pub errors: Vec<String>,
    /// From the kill to the parent's `Disconnected`.
    pub to_disconnected: Option<Duration>,
    /// Operating-system objects left behind.
    pub leaks: Vec<String>,
    /// Sends that returned `Ok`.
    pub sent: u64,
    /// Messages received.
    pub received: u64,
}

/// Runs one trial of `T` with the child on `side`, killed `delay` after it
/// is ready. The trial runs on its own thread: if it never ends (an end
/// whose drop blocks, say), it is abandoned and counted as a hang.
pub fn run<T: Transport>(side: Side, api: Api, id: &str, delay: Duration, settings: &Arc<Settings>) -> Outcome
where
    T::Sender: PollSend,
    T::Receiver: PollRecv,
{
    let (tx, rx) = mpsc::channel();
    let (id_owned, settings_owned) = (id.to_owned(), Arc::clone(settings));
    let _worker = thread::spawn(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(|| match side {
            Side::Producer => producer_killed::<T>(api, &id_owned, delay, &settings_owned),
            Side::Consumer => consumer_killed::<T>(api, &id_owned, delay, &settings_owned),
        }));
        let _ = tx.send(result);
    });
    let limit = delay + settings.hang_after + TRIAL_SLACK;
    let mut outcome = match rx.recv_timeout(limit) {
        Ok(Ok(Ok(outcome))) => outcome,
        Ok(Ok(Err(setup))) => Outcome {
            errors: vec![setup],
            ..Outcome::default()
        },
        Ok(Err(payload)) => Outcome {
            panics: vec![format!("the parent's trial panicked: {}", panic_text(&*payload))],
            ..Outcome::default()
        },
        Err(_) => Outcome {
            hang: Some(format!(
                "the trial did not end within {} s (a send, receive or drop never returned)",
                limit.as_secs()
            )),
            ..Outcome::default()
        },
    };
    let leaks = settings
        .leaks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .settle(id);
    outcome.leaks.extend(leaks);
    outcome
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// The child's counter file.
struct Counter(PathBuf);

impl Counter {
    fn create(settings: &Settings, id: &str) -> Result<Counter, String> {
        let path = settings.work.join(format!("{id}.count"));
        File::create(&path)
            .and_then(|f| f.set_len(word::LEN))
            .map_err(|e| format!("creating {}: {e}", path.display()))?;
        Ok(Counter(path))
    }

    fn read(&self, at: u64) -> u64 {
        let mut bytes = [0u8; 8];
        File::open(&self.0)
            .and_then(|f| f.read_exact_at(&mut bytes, at))
            .map_or(0, |()| u64::from_le_bytes(bytes))
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The command that starts the child for `side`, marked with the trial's
/// id so that a process left running can be found.
fn child_command(side: Side, backend: &str, id: &str, counter: &Path) -> Result<Command, String> {
    let exe = std::env::current_exe().map_err(|e| format!("finding this program: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.env(child::ROLE, side.name())
        .env(child::BACKEND, backend)
        .env(child::COUNTER, counter)
        .env(child::RUN, id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Ok(cmd)
}

/// A started child: its `ready` line, its standard error, and the thread
/// that kills it.
struct Watched {
    ready: mpsc::Receiver<()>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    child: Option<Child>,
}

impl Watched {
    fn start(mut child: Child) -> Result<Watched, String> {
        let stdout = child.stdout.take().ok_or("the child's stdout is not piped")?;
        let stderr_pipe = child.stderr.take().ok_or("the child's stderr is not piped")?;
        let (ready_tx, ready) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let out_reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(line) if line == "ready" => {
                        let _ = ready_tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        let keep = Arc::clone(&stderr);
        let err_reader = thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr_pipe).read_to_string(&mut text);
            *keep.lock().unwrap_or_else(PoisonError::into_inner) = text;
        });
        Ok(Watched {
            ready,
            stderr,
            readers: vec![out_reader, err_reader],
            child: Some(child),
        })
    }

    /// Waits for the child's `ready`.
    fn wait_ready(&mut self) -> Result<(), String> {
        match self.ready.recv_timeout(READY_TIMEOUT) {
            Ok(()) => Ok(()),
            Err(_) => {
                if let Some(child) = self.child.as_mut() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                self.join_readers();
                Err(format!(
                    "the child did not open its end: {}",
                    tail(&self.stderr.lock().unwrap_or_else(PoisonError::into_inner))
                ))
            }
        }
    }

    /// Kills the child `delay` from now, on a thread of its own.
    fn kill_after(&mut self, delay: Duration) -> Killer {
        let mut child = self.child.take().expect("the child is killed once");
        let at = Arc::new(OnceLock::new());
        let killed_at = Arc::clone(&at);
        let handle = thread::spawn(move || {
            thread::sleep(delay);
            let _ = killed_at.set(Instant::now());
            let _ = child.kill();
            child.wait()
        });
        Killer { at, handle }
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    /// What the child printed on its standard error, once it has ended.
    fn stderr(&mut self) -> String {
        self.join_readers();
        self.stderr.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The thread that kills the child.
struct Killer {
    at: Arc<OnceLock<Instant>>,
    handle: JoinHandle<std::io::Result<ExitStatus>>,
}

impl Killer {
    /// When the kill was sent, once it was.
    fn killed_at(&self) -> Option<Instant> {
        self.at.get().copied()
    }

    /// Whether the parent's end has waited longer than it may since the
    /// kill.
    fn overdue(&self, hang_after: Duration) -> bool {
        self.killed_at().is_some_and(|at| at.elapsed() > hang_after)
    }

    /// How long the parent's next receive or send may wait: until the hang
    /// bound after the kill, or the bound itself before it. One call waits
    /// that long, so the time to `Disconnected` is the backend's own, not a
    /// polling period's.
    fn next_wait(&self, hang_after: Duration) -> Duration {
        let left = self.killed_at().map_or(hang_after, |at| {
            (at + hang_after).saturating_duration_since(Instant::now())
        });
        left.max(Duration::from_millis(1))
    }

    fn finish(self) -> Result<ExitStatus, String> {
        match self.handle.join() {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => Err(format!("waiting for the child: {e}")),
            Err(_) => Err("the killing thread panicked".to_owned()),
        }
    }
}

/// The last lines of a child's standard error.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    if tail.is_empty() {
        "(nothing on its standard error)".to_owned()
    } else {
        tail
    }
}

/// Records how the child ended: it must have died of the kill.
fn check_child(outcome: &mut Outcome, status: Result<ExitStatus, String>, stderr: &str) {
    if stderr.contains("panicked at") {
        outcome
            .panics
            .push(format!("the child panicked: {}", tail(stderr)));
    }
    match status {
        Ok(status) if status.signal() == Some(9) => {}
        Ok(status) => outcome.errors.push(format!(
            "the child ended on its own before the kill ({status}): {}",
            tail(stderr)
        )),
        Err(e) => outcome.errors.push(e),
    }
}

/// The messages received by the parent, in order.
#[derive(Default)]
struct Track {
    /// The number expected next.
    next: u64,
    /// Runs of numbers skipped: `[from, to)`.
    gaps: Vec<(u64, u64)>,
    duplicates: u64,
    received: u64,
}

impl Track {
    fn push(&mut self, seq: u64) {
        self.received += 1;
        if seq == self.next {
            self.next += 1;
        } else if seq < self.next {
            self.duplicates += 1;
        } else {
            self.gaps.push((self.next, seq));
            self.next = seq + 1;
        }
    }

    /// The numbers that never arrived: every one skipped (its send had
    /// returned, since a later one was sent), and the tail below `sent`.
    fn lost(&self, sent: u64) -> Vec<u64> {
        let mut lost: Vec<u64> = self.gaps.iter().flat_map(|&(from, to)| from..to).collect();
        lost.extend(self.next..sent);
        lost
    }
}

/// The frame of the last message sent of `lost` (the send that filled the
/// backlog), with its `header`.
fn last_frame(lost: &[u64], header: u64) -> u64 {
    lost.iter()
        .max()
        .map_or(0, |&seq| Msg::archived_len(seq) + header)
}

/// Applies `rule` to the lost messages; `tail_only` says whether they are
/// the last ones sent.
fn judge(outcome: &mut Outcome, rule: LossRule, lost: &[u64], tail_only: bool) {
    outcome.lost = lost.len() as u64;
    outcome.excess = match rule {
        LossRule::Nothing if !lost.is_empty() => Some(format!("lost {} messages, none may be", lost.len())),
        LossRule::Messages(n) if outcome.lost > n => {
            Some(format!("lost {} messages, at most {n} may be", lost.len()))
        }
        LossRule::TailBytes {
            limit,
            header,
            kernel_buffers,
        } => {
            let limit = limit
                + if kernel_buffers {
                    crate::rules::socket_buffers()
                } else {
                    0
                };
            outcome.lost_bytes = lost.iter().map(|&seq| Msg::archived_len(seq) + header).sum();
            if !tail_only {
                Some(format!(
                    "lost {} messages, not only the last ones sent",
                    lost.len()
                ))
            } else if outcome.lost > 1 && outcome.lost_bytes > limit + last_frame(lost, header) {
                Some(format!(
                    "lost a tail of {} bytes, at most {limit} plus the last frame ({} bytes) may be",
                    outcome.lost_bytes,
                    last_frame(lost, header)
                ))
            } else {
                None
            }
        }
        _ => None,
    };
}

/// Starts a child of `side` with `end` handed to it, watches it (and its
/// leftovers) and waits until it is ready; the spawning `Command` comes back
/// when the trial keeps it.
fn start_child<E: Handoff>(
    side: Side,
    backend: &str,
    id: &str,
    counter: &Counter,
    end: E,
    what: &str,
    settings: &Settings,
) -> Result<(Watched, Option<Command>), String> {
    let mut cmd = child_command(side, backend, id, &counter.0)?;
    cmd.endpoint(child::ENDPOINT, end)
        .map_err(|e| format!("handing over the {what}: {e}"))?;
    let child = cmd.spawn().map_err(|e| format!("starting the child: {e}"))?;
    let cmd = settings.keep_command.then_some(cmd);
    settings
        .leaks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .watch_pid(child.id());
    let mut watched = Watched::start(child)?;
    watched.wait_ready()?;
    Ok((watched, cmd))
}

/// The child sends until it is killed; the parent receives until
/// `Disconnected`.
fn producer_killed<T: Transport>(
    api: Api,
    id: &str,
    delay: Duration,
    settings: &Settings,
) -> Result<Outcome, String>
where
    T::Receiver: PollRecv,
{
    let counter = Counter::create(settings, id)?;
    let (tx, rx) =
        T::channel(&ChannelConfig::bounded(CAPACITY as usize)).map_err(|e| format!("creating: {e}"))?;
    let mut rx = Rx::new(rx, api)?;
    let (mut watched, cmd) = start_child(
        Side::Producer,
        T::NAME,
        id,
        &counter,
        Sender::<Msg, T::Sender>::from_raw(tx),
        "sender",
        settings,
    )?;
    let killer = watched.kill_after(delay);

    let mut outcome = Outcome::default();
    let mut track = Track::default();
    loop {
        match rx.recv_timeout(killer.next_wait(settings.hang_after)) {
            Ok(got) if got.intact => track.push(got.seq),
            Ok(got) => outcome
                .errors
                .push(format!("message {} arrived corrupt", got.seq)),
            Err(RecvTimeoutError::Timeout) => {
                if killer.overdue(settings.hang_after) {
                    outcome.hang = Some(format!(
                        "recv_timeout still timed out {} s after the sender was killed",
                        settings.hang_after.as_secs()
                    ));
                    break;
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                match killer.killed_at() {
                    Some(at) => outcome.to_disconnected = Some(at.elapsed()),
                    None => outcome.errors.push("Disconnected before the kill".to_owned()),
                }
                break;
            }
            Err(e) => {
                outcome
                    .errors
                    .push(format!("after {} messages: {e}", track.received));
                if outcome.errors.len() > 8 || killer.overdue(settings.hang_after) {
                    break;
                }
            }
        }
    }
    let status = killer.finish();
    // In the order a function that declared them would drop them.
    drop(cmd);
    drop(rx);
    let stderr = watched.stderr();
    check_child(&mut outcome, status, &stderr);

    let sent = counter.read(word::COUNT);
    outcome.sent = sent;
    outcome.received = track.received;
    outcome.duplicates = track.duplicates;
    let lost = track.lost(sent);
    // Only the tail: nothing skipped before a message that arrived.
    judge(
        &mut outcome,
        rules::of(T::NAME).producer_killed,
        &lost,
        track.gaps.is_empty(),
    );
    Ok(outcome)
}

/// The parent sends until `Disconnected`; the child receives until it is
/// killed, counting what arrived intact and in order.
fn consumer_killed<T: Transport>(
    api: Api,
    id: &str,
    delay: Duration,
    settings: &Settings,
) -> Result<Outcome, String>
where
    T::Sender: PollSend,
{
    let counter = Counter::create(settings, id)?;
    let (tx, rx) =
        T::channel(&ChannelConfig::bounded(CAPACITY as usize)).map_err(|e| format!("creating: {e}"))?;
    let mut tx = Tx::new(tx, api)?;
    let (mut watched, cmd) = start_child(
        Side::Consumer,
        T::NAME,
        id,
        &counter,
        Receiver::<Msg, T::Receiver>::from_raw(rx),
        "receiver",
        settings,
    )?;
    let killer = watched.kill_after(delay);

    let mut outcome = Outcome::default();
    let mut seq = 0u64;
    loop {
        match tx.send_timeout(seq, killer.next_wait(settings.hang_after)) {
            Ok(()) => {
                seq += 1;
                if killer.overdue(settings.hang_after) {
                    outcome.hang = Some(format!(
                        "sends still returned Ok {} s after the receiver was killed",
                        settings.hang_after.as_secs()
                    ));
                    break;
                }
            }
            Err(SendTimeoutError::Timeout(_)) => {
                if killer.overdue(settings.hang_after) {
                    outcome.hang = Some(format!(
                        "send_timeout still timed out {} s after the receiver was killed",
                        settings.hang_after.as_secs()
                    ));
                    break;
                }
            }
            Err(SendTimeoutError::Disconnected(_)) => {
                match killer.killed_at() {
                    Some(at) => outcome.to_disconnected = Some(at.elapsed()),
                    None => outcome.errors.push("Disconnected before the kill".to_owned()),
                }
                break;
            }
            Err(e) => {
                outcome.errors.push(format!("sending message {seq}: {e}"));
                break;
            }
        }
    }
    let status = killer.finish();
    drop(cmd);
    drop(tx);
    let stderr = watched.stderr();
    check_child(&mut outcome, status, &stderr);

    outcome.sent = seq;
    let got = counter.read(word::COUNT);
    outcome.received = got;
    match counter.read(word::FAULT) {
        child::FAULT_NONE => {}
        child::FAULT_ORDER => {
            outcome.duplicates += 1;
            outcome.errors.push(format!(
                "the child received message {} where {} was next",
                counter.read(word::FAULT_SEQ),
                counter.read(word::FAULT_EXPECTED)
            ));
        }
        fault => outcome.errors.push(format!(
            "the child received message {} corrupt (fault {fault})",
            counter.read(word::FAULT_SEQ)
        )),
    }
    if got > seq {
        outcome.errors.push(format!(
            "the child received {got} messages, but only {seq} sends returned Ok"
        ));
    }
    let lost: Vec<u64> = (got..seq).collect();
    judge(&mut outcome, rules::of(T::NAME).consumer_killed, &lost, true);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_gaps_duplicates_and_the_tail() {
        let mut t = Track::default();
        for seq in [0, 1, 2, 2, 5, 6] {
            t.push(seq);
        }
        assert_eq!((t.received, t.duplicates, t.next), (6, 1, 7));
        assert_eq!(t.gaps, [(3, 5)]);
        assert_eq!(t.lost(9), [3, 4, 7, 8]);
        assert_eq!(t.lost(4), [3, 4]);
    }

    #[test]
    fn judges_by_the_rule() {
        let mut o = Outcome::default();
        judge(&mut o, LossRule::Nothing, &[], true);
        assert!(o.excess.is_none());
        judge(&mut o, LossRule::Nothing, &[3], true);
        assert!(o.excess.is_some());
        judge(&mut o, LossRule::Messages(2), &[3, 4], true);
        assert!(o.excess.is_none());
        let rule = LossRule::TailBytes {
            limit: 1 << 20,
            header: 16,
            kernel_buffers: false,
        };
        judge(&mut o, rule, &[7, 8], false);
        assert!(o.excess.as_deref().is_some_and(|e| e.contains("not only")));
        judge(&mut o, rule, &[7, 8], true);
        assert!(o.excess.is_none());
        assert!(o.lost_bytes > 32);
        judge(
            &mut o,
            LossRule::TailBytes {
                limit: 10,
                header: 16,
                kernel_buffers: false,
            },
            &[7, 8],
            true,
        );
        assert!(o.excess.is_some());
    }
}
