//! What the async tests of Python's framing send: a runtime, and messages
//! that show when one is cut short, shifted or mixed with another. Shared
//! by `tests/python_async.rs` (Unix, against CPython) and
//! `tests/python_pipe_async.rs` (Windows, Rust to Rust).

/// The runtime both sides' tasks run on: two workers, so a sending and a
/// receiving task wait on the reactor at once.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Message `id` of `len` bytes: the id (when it fits), then a pattern of
/// it, so a message cut short, shifted or mixed with another shows.
pub fn message(id: u64, len: usize) -> Vec<u8> {
    let mut m: Vec<u8> = (0..len)
        .map(|i| (id as u8).wrapping_mul(31).wrapping_add(i as u8))
        .collect();
    if len >= 8 {
        m[..8].copy_from_slice(&id.to_le_bytes());
    }
    m
}
