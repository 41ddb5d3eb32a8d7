//! The conformance suite across real processes, for every variant of the
//! shared-memory backend; two-way ends are two channels (`Paired`).

mod spsc {
    transport_core::conformance_tests!(transport_shm::Shm);
}

mod mpsc {
    transport_core::conformance_tests!(transport_shm::ShmMpsc);
}

mod busy_poll {
    transport_core::conformance_tests!(transport_shm::ShmBusyPoll);
}

mod untrusted {
    transport_core::conformance_tests!(transport_shm::ShmUntrusted);
}

mod paired {
    transport_core::conformance_tests!(@duplex transport_core::Paired<transport_shm::ShmMpsc>);
}
