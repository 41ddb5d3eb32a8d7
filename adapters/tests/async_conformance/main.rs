//! The conformance suite's async driver (tokio in every process): the
//! cases the suite's case table shares, written once in
//! `transport_core::conformance` and run here through the async API
//! ([`driver::Async`]), plus the cases only this driver has (owned values,
//! back-pressure, cancel safety, both ways at once); for the `local`
//! backend (threads) and for the backend this build's feature chooses
//! (processes), one-way and two-way.

mod blocking;
mod cancel;
mod driver;
mod duplex;
mod order;
#[path = "../support/chosen.rs"]
mod support;
mod util;

/// The cases only this driver has, under one path, for the case table.
mod cases {
    pub use super::{blocking::*, cancel::*, duplex::*, order::*};
}

/// The one-way cases: those of the suite's case table that this driver runs
/// (every shared case, through [`driver::Async`], and this driver's own).
macro_rules! channel_cases {
    ($backend:ty) => {
        transport_core::conformance_case_table!(@fifo async [crate::cases] $backend, crate::driver::Async);
        transport_core::conformance_case_table!(@channel async [crate::cases] $backend, crate::driver::Async);
    };
}

/// The two-way cases, from the same table.
macro_rules! duplex_cases {
    ($backend:ty) => {
        transport_core::conformance_case_table!(@duplex async [crate::cases] $backend, crate::driver::Async);
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
