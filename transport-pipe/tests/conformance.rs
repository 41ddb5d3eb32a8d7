//! The conformance suite of transport-core, across real processes.

transport_core::conformance_tests!(transport_pipe::Pipe, duplex);

/// Readiness is the `tokio` feature's (`PollRecv`); a blocking `Select`
/// works outside any runtime.
#[cfg(feature = "tokio")]
mod select {
    transport_core::conformance_tests!(@select duplex transport_pipe::Pipe);
}
