//! The conformance suite's cases through the async API (tokio in every
//! process), plus cancel safety: for the `local` backend (threads) and for
//! the backend this build's feature chooses (processes), one-way and
//! two-way.

mod bad_input;
mod blocking;
mod cancel;
mod close;
mod duplex;
mod many;
mod order;
#[path = "../support/chosen.rs"]
mod support;
mod util;

/// Every case of this driver under one path, for the case table.
mod cases {
    pub use super::{bad_input::*, blocking::*, cancel::*, close::*, duplex::*, many::*, order::*};
}

/// The one-way cases: those of the suite's case table that this driver runs
/// (so a case the table shares with the blocking driver cannot be left out
/// here: it would not compile).
macro_rules! channel_cases {
    ($backend:ty) => {
        transport_core::conformance_case_table!(@fifo async [crate::cases] $backend);
        transport_core::conformance_case_table!(@channel async [crate::cases] $backend);
    };
}

/// The two-way cases, from the same table.
macro_rules! duplex_cases {
    ($backend:ty) => {
        transport_core::conformance_case_table!(@duplex async [crate::cases] $backend);
    };
}

mod local {
    channel_cases!(transport_core::local::Local);
}

mod local_duplex {
    duplex_cases!(transport_core::local::Local);
}

#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
mod backend {
    channel_cases!(crate::support::Chosen);
}

/// The shared-memory backend's multi-consumer ring, which the features
/// never choose as the default.
#[cfg(feature = "shm")]
mod shm_mpmc {
    channel_cases!(transport_shm::ShmMpmc);
}

#[cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]
mod backend_duplex {
    duplex_cases!(crate::support::ChosenDuplex);
}
