//! The conformance suite across real processes, for every variant of the
//! shared-memory backend; two-way ends are two channels (`Paired`).

mod spsc {
    transport_core::conformance_tests!(transport_shm::Shm);
    transport_core::conformance_tests!(@select transport_shm::Shm);
}

mod mpsc {
    transport_core::conformance_tests!(transport_shm::ShmMpsc);
    transport_core::conformance_tests!(@select transport_shm::ShmMpsc);
}

mod mpmc {
    transport_core::conformance_tests!(transport_shm::ShmMpmc);
    transport_core::conformance_tests!(@select transport_shm::ShmMpmc);
}

mod busy_poll {
    transport_core::conformance_tests!(transport_shm::ShmBusyPoll);
    transport_core::conformance_tests!(@select transport_shm::ShmBusyPoll);
}

mod untrusted {
    transport_core::conformance_tests!(transport_shm::ShmUntrusted);
    transport_core::conformance_tests!(@select transport_shm::ShmUntrusted);
}

mod paired {
    transport_core::conformance_tests!(@duplex transport_core::Paired<transport_shm::ShmMpsc>);
    transport_core::conformance_tests!(@cases transport_core::Paired<transport_shm::ShmMpsc>; duplex_poll);
}
