//! The conformance suite of transport-core, across real processes.

transport_core::conformance_tests!(transport_pipe::Pipe, duplex);
