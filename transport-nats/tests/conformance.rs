//! The conformance suite on both delivery modes, across real processes,
//! each test with a `nats-server` of its own.

mod common;

mod at_most_once {
    transport_core::conformance_tests!(crate::common::OnTestServer<transport_nats::AtMostOnce>, duplex);
}

mod at_least_once {
    transport_core::conformance_tests!(crate::common::OnTestServer<transport_nats::AtLeastOnce>, duplex);
}
