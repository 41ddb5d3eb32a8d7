//! The child's side of a trial: this program again, started with its role
//! in the environment. It opens its end, says `ready` on its standard
//! output, and sends or receives until it is killed, counting in the
//! counter file what it did, so the count survives the kill.

use std::{
    env,
    fs::File,
    io::{self, Write as _},
    os::unix::fs::FileExt as _,
    path::Path,
    process,
};

use transport_core::{Receiver, Sender, Transport, from_env};

use crate::message::Msg;

/// The environment variable naming the child's role.
pub const ROLE: &str = "TRANSPORT_CHAOS_ROLE";
/// The environment variable naming the backend.
pub const BACKEND: &str = "TRANSPORT_CHAOS_BACKEND";
/// The environment variable naming the counter file.
pub const COUNTER: &str = "TRANSPORT_CHAOS_COUNTER";
/// The environment variable that marks every process of one trial, so
/// that any left running can be found.
pub const RUN: &str = "TRANSPORT_CHAOS_RUN";
/// The name the end travels under.
pub const ENDPOINT: &str = "chaos";

/// Offsets of the counter file's words (little-endian `u64`s).
pub mod word {
    /// Messages sent with `Ok` (producer) or received intact and in order
    /// (consumer).
    pub const COUNT: u64 = 0;
    /// What went wrong in the consumer: [`super::FAULT_NONE`], …
    pub const FAULT: u64 = 8;
    /// The number of the message that went wrong.
    pub const FAULT_SEQ: u64 = 16;
    /// The number that was expected instead.
    pub const FAULT_EXPECTED: u64 = 24;
    /// The file's length.
    pub const LEN: u64 = 32;
}

/// No fault.
pub const FAULT_NONE: u64 = 0;
/// A message arrived out of order, twice, or after a gap.
pub const FAULT_ORDER: u64 = 1;
/// A message arrived corrupt.
pub const FAULT_CORRUPT: u64 = 2;

/// Runs the child's role if this process is a child; `None` otherwise.
pub fn run_if_child() -> Option<process::ExitCode> {
    let role = env::var(ROLE).ok()?;
    let backend = env::var(BACKEND).unwrap_or_default();
    let counter = env::var_os(COUNTER).unwrap_or_default();
    let result = match backend.as_str() {
        "queue" => role_of::<transport_queue::QueueTransport>(&role, Path::new(&counter)),
        "pipe" => role_of::<transport_pipe::Pipe>(&role, Path::new(&counter)),
        "shm" => role_of::<transport_shm::Shm>(&role, Path::new(&counter)),
        "shm-mpmc" => role_of::<transport_shm::ShmMpmc>(&role, Path::new(&counter)),
        other => Err(format!("unknown backend `{other}`")),
    };
    Some(match result {
        Ok(()) => process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaos child ({role}, {backend}): {e}");
            process::ExitCode::from(3)
        }
    })
}

fn role_of<T: Transport>(role: &str, counter: &Path) -> Result<(), String> {
    let counter = File::options()
        .write(true)
        .open(counter)
        .map_err(|e| format!("opening the counter {}: {e}", counter.display()))?;
    match role {
        "producer" => produce::<T>(&counter),
        "consumer" => consume::<T>(&counter),
        other => Err(format!("unknown role `{other}`")),
    }
}

fn ready() -> Result<(), String> {
    let mut out = io::stdout().lock();
    writeln!(out, "ready")
        .and_then(|()| out.flush())
        .map_err(|e| format!("saying ready: {e}"))
}

fn put(counter: &File, at: u64, value: u64) -> Result<(), String> {
    counter
        .write_all_at(&value.to_le_bytes(), at)
        .map_err(|e| format!("writing the counter: {e}"))
}

/// Sends message after message until killed.
fn produce<T: Transport>(counter: &File) -> Result<(), String> {
    let tx: Sender<Msg, T::Sender> = from_env(ENDPOINT).map_err(|e| format!("opening the sender: {e}"))?;
    ready()?;
    for seq in 0.. {
        tx.send(Msg::new(seq))
            .map_err(|e| format!("sending message {seq} to a live parent: {e}"))?;
        put(counter, word::COUNT, seq + 1)?;
    }
    Ok(())
}

/// Receives until killed, checking that every message is intact and next.
fn consume<T: Transport>(counter: &File) -> Result<(), String> {
    let rx: Receiver<Msg, T::Receiver> =
        from_env(ENDPOINT).map_err(|e| format!("opening the receiver: {e}"))?;
    ready()?;
    let mut expected = 0u64;
    loop {
        let msg = rx
            .recv()
            .map_err(|e| format!("receiving message {expected} from a live parent: {e}"))?;
        let (fault, seq) = match msg.intact_seq() {
            Some(seq) if seq == expected => (FAULT_NONE, seq),
            Some(seq) => (FAULT_ORDER, seq),
            None => (FAULT_CORRUPT, msg.seq.to_native()),
        };
        if fault != FAULT_NONE {
            put(counter, word::FAULT_SEQ, seq)?;
            put(counter, word::FAULT_EXPECTED, expected)?;
            put(counter, word::FAULT, fault)?;
            return Err(format!(
                "message {seq} arrived where {expected} was expected (fault {fault})"
            ));
        }
        expected += 1;
        put(counter, word::COUNT, expected)?;
    }
}
