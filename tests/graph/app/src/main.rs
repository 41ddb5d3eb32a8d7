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
