//! An application whose graph enables every backend feature at once: each
//! library still gets the backend it named, and the default is the queue.

use transport_core::Transport;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    assert_eq!(uses_pipe::double(21)?, 42);
    assert_eq!(uses_shm::sum(&[1, 2, 3, 4])?, 10);
    assert_eq!(uses_pipe::backend(), "pipe");
    assert_eq!(uses_shm::backend(), "shm-mpsc");
    assert_eq!(uses_nats::backend(), "nats-at-least-once");
    assert_eq!(<transport_adapters::Backend as Transport>::NAME, "queue");

    let (tx, rx) = transport_adapters::bounded::<u64>(1)?;
    tx.send(7)?;
    assert_eq!(rx.recv()?.to_native(), 7);
    println!(
        "graph: pipe, shm and nats libraries and the default queue in one build: ok ({} backends)",
        4
    );
    Ok(())
}

// Shapes a backend cannot offer, one per feature (see Cargo.toml): each is
// a compile error that says which end cannot be shared and where to go.

/// A pipe has exactly two ends: its sender has no `try_clone`.
#[cfg(feature = "clone-pipe-sender")]
pub fn clone_pipe_sender() -> Result<(), Box<dyn std::error::Error>> {
    let (tx, _rx) = transport_adapters::pipe::bounded::<u64>(1)?;
    let _more = tx.try_clone();
    Ok(())
}

/// Nor has its receiver.
#[cfg(feature = "clone-pipe-receiver")]
pub fn clone_pipe_receiver() -> Result<(), Box<dyn std::error::Error>> {
    let (_tx, rx) = transport_adapters::pipe::bounded::<u64>(1)?;
    let _more = rx.try_clone();
    Ok(())
}

/// A single-producer shared-memory channel has one sender.
#[cfg(feature = "clone-shm-sender")]
pub fn clone_shm_sender() -> Result<(), Box<dyn std::error::Error>> {
    let config = transport_core::ChannelConfig::bounded(1);
    let (tx, _rx) = transport_adapters::channel_on::<transport_shm::Shm, u64>(&config)?;
    let _more = tx.try_clone();
    Ok(())
}
