//! The conformance suite on both delivery modes, across real processes,
//! each test with a `nats-server` of its own.

mod common;

mod at_most_once {
    transport_core::conformance_tests!(crate::common::OnTestServer<transport_nats::AtMostOnce>, duplex);
    transport_core::conformance_tests!(@select duplex crate::common::OnTestServer<transport_nats::AtMostOnce>);
}

/// Each at-least-once message is a publish the server stores and confirms
/// before the send returns: 10,000 in order is still 150 times the
/// receiver's prefetch, so order holds across many pull requests.
mod at_least_once {
    transport_core::conformance_tests!(
        crate::common::OnTestServer<transport_nats::AtLeastOnce>,
        duplex,
        fifo = 10_000
    );
    transport_core::conformance_tests!(@select duplex crate::common::OnTestServer<transport_nats::AtLeastOnce>);
}
