//! Opening shared-memory segments, shared arrays and values, and channel
//! ends from header bytes the fuzzer gives (see
//! `transport_shm::fuzzing::segment`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| transport_shm::fuzzing::segment(data));
