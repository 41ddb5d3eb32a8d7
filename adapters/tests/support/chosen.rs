//! The backend this build's features choose, as the tests run it: the
//! default backend; when `nats` is the only backend, the NATS backend on a
//! `nats-server` of the test's own (started by the test, stopped when it
//! ends: `transport_nats::testing`); the in-process backend when no backend
//! feature is on.
#![allow(dead_code, unused_imports)]

#[cfg(any(feature = "queue", feature = "pipe", feature = "shm"))]
mod chosen {
    pub type Chosen = transport_adapters::Backend;
    pub type ChosenDuplex = transport_adapters::DuplexBackend;
}

#[cfg(all(
    feature = "nats",
    not(any(feature = "queue", feature = "pipe", feature = "shm"))
))]
mod chosen {
    pub type Chosen = transport_nats::testing::OnThreadServer<transport_adapters::Backend>;
    pub type ChosenDuplex = transport_nats::testing::OnThreadServer<transport_adapters::DuplexBackend>;
}

#[cfg(not(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats")))]
mod chosen {
    pub type Chosen = transport_core::local::Local;
    pub type ChosenDuplex = transport_core::local::Local;
}

pub use chosen::{Chosen, ChosenDuplex};
