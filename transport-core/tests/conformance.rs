//! The conformance suite on the in-process `local` backend, with threads as
//! peers.

transport_core::conformance_tests!(transport_core::local::Local, duplex);

mod select {
    transport_core::conformance_tests!(@select duplex transport_core::local::Local);
}
