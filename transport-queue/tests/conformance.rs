//! The conformance suite on the `queue` backend, across real processes.

transport_core::conformance_tests!(transport_queue::QueueTransport);
