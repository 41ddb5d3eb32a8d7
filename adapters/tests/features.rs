//! The backend features are additive: every enabled backend is reachable by
//! its own name in one build, and the top-level names follow the first
//! enabled one in the documented order. Run with any combination of
//! features (`cargo xtask` runs none, each alone and all).

use transport_core::{Transport, local::Local};

/// A message through a channel of `B`, in this process.
#[allow(dead_code)] // with no backend feature only `Local` uses it
fn round_trip<B: Transport>() {
    let (tx, rx) = transport_adapters::channel_on::<B, u64>(&transport_core::ChannelConfig::bounded(4))
        .expect("creating a channel");
    tx.send(41).expect("sending");
    assert_eq!(rx.recv().expect("receiving").to_native(), 41, "{}", B::NAME);
}

#[test]
fn any_backend_by_its_transport() {
    round_trip::<Local>();
    let (a, b) = transport_adapters::duplex_on::<Local, u32, u16>(&Default::default()).expect("a duplex");
    a.send(1).expect("sending");
    assert_eq!(b.recv().expect("receiving").to_native(), 1u32);
}

#[cfg(feature = "queue")]
#[test]
fn queue_by_name() {
    let (tx, rx) = transport_adapters::queue::bounded::<u64>(4).expect("a queue");
    tx.send(7).expect("sending");
    assert_eq!(rx.recv().expect("receiving").to_native(), 7);
    round_trip::<transport_adapters::queue::Backend>();
}

#[cfg(feature = "pipe")]
#[test]
fn pipe_by_name() {
    let (a, b) = transport_adapters::pipe::duplex::<u64, u32>().expect("a pipe");
    a.send(7).expect("sending");
    assert_eq!(b.recv().expect("receiving").to_native(), 7);
    round_trip::<transport_adapters::pipe::Backend>();
}

#[cfg(feature = "shm")]
#[test]
fn shm_by_name() {
    let (tx, rx) = transport_adapters::shm::bounded::<u64>(4).expect("a channel");
    tx.send(7).expect("sending");
    assert_eq!(rx.recv().expect("receiving").to_native(), 7);
    round_trip::<transport_adapters::shm::Backend>();
}

/// Without a server only the names are checked; the nats crate's own tests
/// run the backend.
#[cfg(feature = "nats")]
#[test]
fn nats_by_name() {
    assert_eq!(
        <transport_adapters::nats::Backend as Transport>::NAME,
        "nats-at-least-once"
    );
    let _typed: Option<transport_adapters::nats::Sender<u64>> = None;
}

#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
#[test]
fn the_default_backend_is_the_first_enabled() {
    let expected = if cfg!(feature = "queue") {
        "queue"
    } else if cfg!(feature = "pipe") {
        "pipe"
    } else if cfg!(feature = "shm") {
        "shm-mpsc"
    } else {
        "nats-at-least-once"
    };
    assert_eq!(<transport_adapters::Backend as Transport>::NAME, expected);
}
