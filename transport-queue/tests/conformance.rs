//! The conformance suite on the `queue` backend, across real processes;
//! its two-way ends are two queues (`Paired`).

transport_core::conformance_tests!(transport_queue::QueueTransport);

mod paired {
    transport_core::conformance_tests!(@duplex transport_core::Paired<transport_queue::QueueTransport>);
}

mod select {
    transport_core::conformance_tests!(@select transport_queue::QueueTransport);
    transport_core::conformance_tests!(@cases transport_core::Paired<transport_queue::QueueTransport>; duplex_poll);
}
