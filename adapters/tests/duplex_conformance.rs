//! The conformance suite's two-way cases, through the blocking API, on the
//! chosen backend's two-way ends: the pipe's own, or `Paired` channels for
//! queue and shm (whose own suites have no two-way cases).
#![cfg(any(feature = "queue", feature = "pipe", feature = "shm", feature = "nats"))]

#[path = "support/chosen.rs"]
mod support;

transport_core::conformance_tests!(@duplex support::ChosenDuplex);
