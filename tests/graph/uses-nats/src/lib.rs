//! A library that names the NATS backend (running it needs a server,
//! which the nats crate's own tests start).

/// A typed sender of the NATS backend.
pub type Jobs = transport_adapters::nats::Sender<u64>;

/// The backend's name, as the library sees it.
pub fn backend() -> &'static str {
    <transport_adapters::nats::Backend as transport_core::Transport>::NAME
}
