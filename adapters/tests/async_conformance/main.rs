//! The conformance suite's async driver (tokio in every process): the
//! cases the suite's case table shares, written once in
//! `transport_core::conformance` and run here through the async API
//! ([`driver::Async`]); the cases the table names for both drivers, each
//! written in its driver's place (here the async forms: a sender shared by
//! tasks, deadlines and owned streams, a full channel's deadlines,
//! occupancy, serde values); and the cases only this driver has (owned
//! values, back-pressure, cancel safety, waiting on several receivers,
//! both ways at once). For the `local` backend (threads) and for the
//! backend this build's feature chooses (processes), one-way and two-way.

mod blocking;
mod cancel;
mod driver;
mod duplex;
mod order;
mod select;
mod serde_values;
mod shared;
#[path = "../support/chosen.rs"]
mod support;
mod util;
mod vocabulary;

/// This driver's own cases, under one path, for the case table.
mod cases {
    pub use super::{
        blocking::*, cancel::*, duplex::*, order::*, select::*, serde_values::*, shared::*, vocabulary::*,
    };
}

/// The one-way cases: those of the suite's case table that this driver runs
/// (every shared case, through [`driver::Async`], the async forms of the
/// cases each driver writes itself, and this driver's own).
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
