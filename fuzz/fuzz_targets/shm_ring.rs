//! The shared-memory ring's reader, fed a ring whose control words and
//! records come from the fuzzer between real sends and receives (a heap
//! segment laid out as a shared one; see `transport_shm::fuzzing::ring`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| transport_shm::fuzzing::ring(data));
